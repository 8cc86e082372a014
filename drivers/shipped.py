"""Where the shipped chirp configs and radar presets live.

They are package data inside `drivers` (drivers/firmware_configs/), found through
importlib.resources, so a home that names `config = "iwr6843aop_wall"` or
`preset = "hallway_wall"` works from an installed wheel exactly as from a clone.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The directory of shipped chirp configs (*.cfg) and radar presets (*.toml). `drivers` is a
#: regular package installed as files, so its resources are a real directory.
FIRMWARE_CONFIGS = Path(str(files("drivers") / "firmware_configs"))
