"""LD2410 presets: `firmware_configs/ld2410_<name>.toml`, validated at config load.

A preset names the mounting it was tuned for (height, tilt, wall or ceiling) and the gate
limits and sensitivities that suit it, so installers pick "bedroom_wall" instead of typing
18 numbers. Unknown or misspelt keys are errors (extra="forbid"): a silently ignored
"moving_sensitivty" would leave a radar at factory defaults in someone's bedroom.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.shipped import FIRMWARE_CONFIGS


class Mounting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    height_m: float = Field(gt=0, le=4, title="Module height above the floor (m)")
    tilt_deg: float = Field(ge=-90, le=90, title="Tilt down from horizontal (deg)")
    orientation: str = Field(pattern="^(wall|ceiling|corner)$", title="wall, ceiling or corner")
    note: str = Field("", title="What the preset is for")


def _gate_list(v: list[int] | None) -> list[int] | None:
    if v is not None and (len(v) != 9 or any(not 0 <= x <= 100 for x in v)):
        raise ValueError("needs 9 values (gates 0..8), each 0-100")
    return v


class RadarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_moving_gate: int = Field(ge=1, le=8, title="Farthest gate for moving targets (0.75 m each)")
    max_still_gate: int = Field(ge=1, le=8, title="Farthest gate for still targets")
    no_one_duration_s: int = Field(ge=0, le=65535, title="Seconds before 'no one' is reported")
    moving_sensitivity: list[int] = Field(title="Moving threshold per gate 0..8 (0-100)")
    still_sensitivity: list[int] = Field(title="Still threshold per gate 0..8 (0-100)")

    _check = field_validator("moving_sensitivity", "still_sensitivity")(_gate_list)


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mounting: Mounting
    radar: RadarSettings


def preset_path(name: str) -> Path:
    return FIRMWARE_CONFIGS / f"ld2410_{name}.toml"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("ld2410_") for p in FIRMWARE_CONFIGS.glob("ld2410_*.toml"))


@lru_cache(maxsize=None)
def load_preset(name: str) -> Preset:
    """Load and validate a preset; ValueError naming the choices when it does not exist."""
    path = preset_path(name)
    if not path.is_file():
        raise ValueError(f"unknown LD2410 preset {name!r} (no {path}); "
                         f"available: {', '.join(available()) or 'none'}")
    with path.open("rb") as f:
        return Preset.model_validate(tomllib.load(f))
