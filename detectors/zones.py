"""Boxes in a radar's room coordinates: beds and sofas where lying down is normal, places
the radar cannot judge height in.

Why a module of its own: the radar fall detector and the daily summary (time in bed) both
name zones; the daily summary should not load the fall detector to say where a bed is.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

INF = float("inf")


class Zone(BaseModel):
    """An axis-aligned box in one radar's room coordinates (metres)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field("zone", title="What the zone is (bed, sofa, kitchen island)")
    sensor: str | None = Field(None, title="Radar whose coordinates these are; none = every radar")
    x: tuple[float, float] = Field(title="x range (min, max), metres")
    y: tuple[float, float] = Field(title="y range (min, max), metres")
    z: tuple[float, float] = Field((-INF, INF), title="z range (min, max), metres")

    def contains(self, sensor: str, x: float, y: float, z: float) -> bool:
        return ((self.sensor is None or self.sensor == sensor) and self.x[0] <= x <= self.x[1]
                and self.y[0] <= y <= self.y[1] and self.z[0] <= z <= self.z[1])
