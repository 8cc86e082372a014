"""Where the shipped example files live: package data inside `gateway` (gateway/examples/),
found through importlib.resources, so `safehome demo` and `safehome config example` work
from an installed wheel exactly as from a clone.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: Example home configs, the systemd unit and the broker's ACL recipe. `gateway` is a
#: regular package installed as files, so its resources are a real directory.
EXAMPLES = Path(str(files("gateway") / "examples"))
