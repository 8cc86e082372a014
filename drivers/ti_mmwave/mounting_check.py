"""Measure a radar's mounting (height above the floor, elevation tilt) from what it sees.

Why: a radar fall detector that uses absolute heights works only when it is told the
mounting it really has, and installers get height and tilt wrong (the public mmfall
captures claim 2 m and 10 degrees; their point heights say otherwise). A person walking
through the room is a known object: the middle of an adult's body, where most of a walking
person's radar points lie, is about `PERSON_MIDDLE_M` above the floor wherever they are.
In the radar's own frame (y along the boresight, z up of the board) a radar tilted down by
theta sees that middle at

    z_s = (PERSON_MIDDLE_M - height) / cos(theta) + y_s * tan(theta)

so the median point height of moving points per range bin is a straight line in range:
its slope gives the tilt and its intercept the height. Static clutter, the floor and
ghosts are left out by keeping moving points only (|radial velocity| >= MIN_SPEED_MPS).

Input: sensor-frame points (decode without a mounting, or undo the configured one with
`room_to_sensor`). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drivers.ti_mmwave.chirp import Mounting
from drivers.ti_mmwave.convert import rotation

PERSON_MIDDLE_M = 0.9     # median height of a walking adult's points (assumption)
MIN_SPEED_MPS = 0.1
BIN_M = 0.5
MIN_BIN_POINTS = 30
MIN_BINS = 4
MAX_PER_BIN = 5000        # memory bound: a few minutes of walking is plenty


@dataclass(frozen=True)
class MountingEstimate:
    height_m: float
    elevation_tilt_deg: float
    points: int             # moving points used
    bins: int               # range bins that had enough of them
    range_m: tuple[float, float]
    residual_m: float       # RMS distance of the bin medians from the fitted line

    def fix(self) -> str:
        return f"sensorPosition {self.height_m:.2f} 0 {self.elevation_tilt_deg:.0f}"

    def versus(self, configured: Mounting | None) -> str:
        got = (f"measured height {self.height_m:.2f} m, tilt {self.elevation_tilt_deg:.1f} deg "
               f"down (from {self.points} moving points in {self.bins} range bins, "
               f"{self.range_m[0]:.1f}-{self.range_m[1]:.1f} m)")
        if configured is None:
            return f"{got}; fix: {self.fix()}"
        off = (abs(configured.height_m - self.height_m) > 0.3
               or abs(configured.elevation_tilt_deg - self.elevation_tilt_deg) > 5)
        return (f"configured height {configured.height_m:.2f} m, tilt "
                f"{configured.elevation_tilt_deg:.0f} deg; {got}"
                + (f"; fix: {self.fix()}" if off else "; agrees"))


def room_to_sensor(xyz: np.ndarray, m: Mounting) -> np.ndarray:
    """Undo `convert.sensor_to_room` (for points a driver already put in the room frame)."""
    p = np.asarray(xyz, dtype=np.float64).copy()
    p[:, 2] -= m.height_m
    sensor: np.ndarray = p @ rotation(m)
    return sensor


class MountingEstimator:
    """Collects moving points frame by frame; `estimate()` whenever enough were seen."""

    def __init__(self) -> None:
        self._z: dict[int, list[np.ndarray]] = {}
        self._n: dict[int, int] = {}
        self.points = 0

    def feed(self, xyz: np.ndarray, velocity: np.ndarray | None) -> None:
        """One frame's sensor-frame points (N, 3) and radial velocities (N,)."""
        if velocity is None or not len(xyz):
            return
        xyz = np.asarray(xyz, dtype=np.float64)
        moving = np.abs(np.asarray(velocity, dtype=np.float64)) >= MIN_SPEED_MPS
        if not moving.any():
            return
        y, z = xyz[moving, 1], xyz[moving, 2]
        keys = np.floor(y / BIN_M).astype(np.int64)
        for k in np.unique(keys):
            kk = int(k)
            if kk < 0 or self._n.get(kk, 0) >= MAX_PER_BIN:
                continue
            sel = z[keys == k]
            self._z.setdefault(kk, []).append(sel)
            self._n[kk] = self._n.get(kk, 0) + len(sel)
            self.points += len(sel)

    def estimate(self) -> MountingEstimate | None:
        ys, zs, ws = [], [], []
        for k, parts in sorted(self._z.items()):
            z = np.concatenate(parts)
            if len(z) >= MIN_BIN_POINTS:
                ys.append((k + 0.5) * BIN_M)
                zs.append(float(np.median(z)))
                ws.append(math.sqrt(len(z)))
        if len(ys) < MIN_BINS or ys[-1] - ys[0] < 2.0:
            return None
        y, z, w = np.array(ys), np.array(zs), np.array(ws)
        slope, icpt = np.polyfit(y, z, 1, w=w)
        theta = math.atan(float(slope))
        height = PERSON_MIDDLE_M - float(icpt) * math.cos(theta)
        resid = float(np.sqrt(np.mean((z - (slope * y + icpt)) ** 2)))
        return MountingEstimate(round(height, 2), round(math.degrees(theta), 1), self.points,
                                len(ys), (ys[0] - BIN_M / 2, ys[-1] + BIN_M / 2), round(resid, 3))
