"""A radar's mounting (height above the floor, tilts) and how to measure it from a walk.

Why in sensordata: the TI driver puts point clouds in the room frame with the configured
mounting, `safehome doctor` checks that mounting, and the radar fall detector measures it
itself and re-projects heights; drivers and detectors may both import only this layer,
so the one copy of the geometry and of the estimator lives here.

How a walk gives the mounting: a person walking through the room is a known object: the
middle of an adult's body, where most of a walking person's radar points lie, is about
`PERSON_MIDDLE_M` above the floor wherever they are. In the radar's own frame (y along
the boresight, z up of the board) a radar tilted down by theta sees that middle at

    z_s = (PERSON_MIDDLE_M - height) / cos(theta) + y_s * tan(theta)

so the median point height of moving points per range bin is a straight line in range:
its slope gives the tilt and its intercept the height. Static clutter, the floor and
ghosts are left out by keeping moving points only (|radial velocity| >= MIN_SPEED_MPS);
a recording without Doppler may hand in a tracker's clustered person points instead
(`feed_person`).
An estimate exists only once at least `MIN_BINS` range bins hold `MIN_BINS_POINTS`
moving points each over at least `MIN_SPAN_M` of range: a walk, not someone fidgeting
in one place (which says nothing about the slope).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

PERSON_MIDDLE_M = 0.9     # median height of a walking adult's points (assumption)
MIN_SPEED_MPS = 0.1
BIN_M = 0.5
MIN_BIN_POINTS = 30
MIN_BINS = 4
MIN_SPAN_M = 2.0
MAX_PER_BIN = 5000        # memory bound: a few minutes of walking is plenty


@dataclass(frozen=True)
class Mounting:
    """Where the radar hangs: height of the antenna above the floor, tilts in degrees.

    Elevation tilt is positive downwards (90 = looking straight down from the ceiling);
    azimuth tilt is positive turning the boresight towards the room frame's +x.
    """

    height_m: float
    elevation_tilt_deg: float = 0.0
    azimuth_tilt_deg: float = 0.0
    kind: str | None = None  # "ceiling" or "wall"


def rotation(m: Mounting) -> np.ndarray:
    """3x3 matrix taking sensor-frame vectors to room-frame vectors (before the lift)."""
    th = math.radians(m.elevation_tilt_deg)
    ph = math.radians(m.azimuth_tilt_deg)
    # boresight (0,1,0) tilted down by th -> (0, cos th, -sin th); sensor up -> (0, sin, cos)
    r_el = np.array([[1.0, 0.0, 0.0],
                     [0.0, math.cos(th), math.sin(th)],
                     [0.0, -math.sin(th), math.cos(th)]])
    # then turn about z so the boresight heads towards +x for a positive azimuth tilt
    r_az = np.array([[math.cos(ph), math.sin(ph), 0.0],
                     [-math.sin(ph), math.cos(ph), 0.0],
                     [0.0, 0.0, 1.0]])
    rot: np.ndarray = r_az @ r_el
    return rot


def sensor_to_room(xyz: np.ndarray, m: Mounting) -> np.ndarray:
    """(N, 3) sensor-frame points -> room frame (z up from the floor), float32."""
    out = np.asarray(xyz, dtype=np.float64) @ rotation(m).T
    out[:, 2] += m.height_m
    room: np.ndarray = out.astype(np.float32)
    return room


def room_to_sensor(xyz: np.ndarray, m: Mounting) -> np.ndarray:
    """Undo `sensor_to_room` (for points a driver already put in the room frame)."""
    p = np.asarray(xyz, dtype=np.float64).copy()
    p[:, 2] -= m.height_m
    sensor: np.ndarray = p @ rotation(m)
    return sensor


def reprojection(configured: Mounting, measured: Mounting) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) with room_measured = room_configured @ A.T + b: points a driver put in the room
    frame with the configured mounting, moved to where the measured mounting puts them."""
    a = rotation(measured) @ rotation(configured).T
    b = np.array([0.0, 0.0, measured.height_m]) - a @ np.array([0.0, 0.0, configured.height_m])
    return a, b


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

    def to_json(self) -> dict[str, Any]:
        return {"height_m": self.height_m, "tilt_deg": self.elevation_tilt_deg,
                "points": self.points, "bins": self.bins, "range_m": list(self.range_m),
                "residual_m": self.residual_m}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "MountingEstimate":
        lo, hi = d["range_m"]
        return cls(float(d["height_m"]), float(d["tilt_deg"]), int(d["points"]), int(d["bins"]),
                   (float(lo), float(hi)), float(d["residual_m"]))


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
        if moving.any():
            self.feed_person(xyz[moving])

    def feed_person(self, xyz: np.ndarray) -> None:
        """Sensor-frame points (N, 3) already known to be a walking person's, for clouds
        without Doppler (recordings that kept only a tracker's clustered points): the
        caller vouches for what the velocity test would have selected."""
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        if not len(xyz):
            return
        y, z = xyz[:, 1], xyz[:, 2]
        keys = np.floor(y / BIN_M).astype(np.int64)
        for k in np.unique(keys):
            kk = int(k)
            if kk < 0 or self._n.get(kk, 0) >= MAX_PER_BIN:
                continue
            sel = z[keys == k]
            self._z.setdefault(kk, []).append(sel)
            self._n[kk] = self._n.get(kk, 0) + len(sel)
            self.points += len(sel)

    def ready(self) -> bool:
        """Cheap pre-check of `estimate()`'s criteria (enough bins, enough span)."""
        full = [k for k, n in self._n.items() if n >= MIN_BIN_POINTS]
        return len(full) >= MIN_BINS and (max(full) - min(full)) * BIN_M >= MIN_SPAN_M

    def estimate(self) -> MountingEstimate | None:
        ys, zs, ws = [], [], []
        for k, parts in sorted(self._z.items()):
            z = np.concatenate(parts)
            if len(parts) > 1:
                self._z[k] = [z]       # keep one array per bin: later calls stay cheap
            if len(z) >= MIN_BIN_POINTS:
                ys.append((k + 0.5) * BIN_M)
                zs.append(float(np.median(z)))
                ws.append(math.sqrt(len(z)))
        if len(ys) < MIN_BINS or ys[-1] - ys[0] < MIN_SPAN_M:
            return None
        y, z, w = np.array(ys), np.array(zs), np.array(ws)
        slope, icpt = np.polyfit(y, z, 1, w=w)
        theta = math.atan(float(slope))
        height = PERSON_MIDDLE_M - float(icpt) * math.cos(theta)
        resid = float(np.sqrt(np.mean((z - (slope * y + icpt)) ** 2)))
        return MountingEstimate(round(height, 2), round(math.degrees(theta), 1), self.points,
                                len(ys), (ys[0] - BIN_M / 2, ys[-1] + BIN_M / 2), round(resid, 3))
