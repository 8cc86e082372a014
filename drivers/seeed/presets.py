"""MR60FDA2 presets: `firmware_configs/mr60fda2_<name>.toml`, validated at config load.

Same idea as the LD2410 presets: the file says the mounting it assumes, then the three
values the module takes. Unknown keys are errors.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from drivers.ld2410.presets import Mounting
from drivers.shipped import FIRMWARE_CONFIGS


class FallRadarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    install_height_m: float = Field(ge=1.0, le=4.0, title="Module height above the floor (m)")
    fall_threshold_m: float = Field(ge=0.0, le=1.5, title="Below this height a person has fallen (m)")
    sensitivity: int = Field(ge=1, le=3, title="Fall sensitivity level 1-3")


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mounting: Mounting
    radar: FallRadarSettings


def available() -> list[str]:
    return sorted(p.stem.removeprefix("mr60fda2_")
                  for p in FIRMWARE_CONFIGS.glob("mr60fda2_*.toml"))


@lru_cache(maxsize=None)
def load_preset(name: str) -> Preset:
    path = FIRMWARE_CONFIGS / f"mr60fda2_{name}.toml"
    if not path.is_file():
        raise ValueError(f"unknown MR60FDA2 preset {name!r} (no {path}); "
                         f"available: {', '.join(available()) or 'none'}")
    with path.open("rb") as f:
        return Preset.model_validate(tomllib.load(f))
