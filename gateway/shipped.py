"""Where the shipped example files live: the repository's top-level `examples/`, installed
as a data package and found through importlib.resources, so `safehome demo` and
`safehome config example` work from an installed wheel exactly as from a clone.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: Example home configs, the systemd unit and the broker's ACL recipe. Installed as files
#: (not zipped), so its resources are a real directory.
EXAMPLES = Path(str(files("examples")))
