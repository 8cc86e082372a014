"""Where the shipped chirp configs and radar presets live.

They are the top-level `firmware_configs/` directory of the repository, installed as a
data-only namespace package and found through importlib.resources, so a home that names
`config = "iwr6843aop_wall"` or `preset = "hallway_wall"` works from an installed wheel
exactly as from a clone.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The directory of shipped chirp configs (*.cfg) and radar presets (*.toml). It is
#: installed as files (not zipped), so its resources are a real directory.
FIRMWARE_CONFIGS = Path(str(files("firmware_configs")))
