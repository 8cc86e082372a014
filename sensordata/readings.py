"""Reading types: what a driver (or the simulator, or a trace) hands to the detectors.

Readings are plain frozen dataclasses so that drivers, the simulator, trace files and
detectors agree on one vocabulary.  Time `t` is always *sensor time* in seconds since the
Unix epoch (UTC), as the sensor or its driver stamped it; durations inside the gateway
use the monotonic clock instead.

High-rate signals come as blocks (`AccelBlock`), never one object per sample: a Python
object per sample would cap a detector at about a million samples a second, and BLE,
serial radars and trace files all deliver samples in batches anyway.

Detectors do not import this module (they stay free of the gateway); they read these
objects by their `kind` and attribute names, which are therefore part of the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Union

import numpy as np


@dataclass(frozen=True, slots=True)
class AccelBlock:
    """Accelerometer samples in g: `t` shape (N,), `xyz` shape (N, 3)."""

    kind: ClassVar[str] = "accel"
    sensor: str
    t: np.ndarray
    xyz: np.ndarray

    def __post_init__(self) -> None:
        if self.t.ndim != 1 or self.xyz.shape != (self.t.shape[0], 3):
            raise ValueError(f"AccelBlock shapes disagree: t{self.t.shape} xyz{self.xyz.shape}")

    @property
    def start(self) -> float:
        return float(self.t[0]) if len(self.t) else float("nan")

    @property
    def end(self) -> float:
        return float(self.t[-1]) if len(self.t) else float("nan")

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True, slots=True)
class HeartRate:
    """One heart-rate measurement; `rr` intervals in seconds, `contact` None when unknown."""

    kind: ClassVar[str] = "heart_rate"
    sensor: str
    t: float
    bpm: int
    rr: tuple[float, ...] = ()
    contact: bool | None = None


@dataclass(frozen=True, slots=True)
class Motion:
    """A motion (PIR) sensor's state change: True when motion starts."""

    kind: ClassVar[str] = "motion"
    sensor: str
    t: float
    active: bool


@dataclass(frozen=True, slots=True)
class Contact:
    """A door or window contact: `open` True when the door opens."""

    kind: ClassVar[str] = "contact"
    sensor: str
    t: float
    open: bool


@dataclass(frozen=True, slots=True)
class Button:
    """A press: `action` is "sos" (help now), "cancel" (I am fine) or a device-specific word."""

    kind: ClassVar[str] = "button"
    sensor: str
    t: float
    action: str


@dataclass(frozen=True, slots=True)
class Presence:
    """Presence from a radar module: someone there, moving or still, at a distance."""

    kind: ClassVar[str] = "presence"
    sensor: str
    t: float
    present: bool
    moving: bool | None = None
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A tracked person from a radar's tracker; metres and metres per second, room frame."""

    tid: int
    x: float
    y: float
    z: float
    vx: float = 0.0
    vy: float = 0.0
    vz: float = 0.0
    height: float | None = None  # top of the person above the floor, when the radar reports it


@dataclass(frozen=True, slots=True)
class RadarTargets:
    """One radar frame's tracked targets (TI 1010/1012 or a simulated tracker)."""

    kind: ClassVar[str] = "radar_targets"
    sensor: str
    t: float
    frame: int
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True, slots=True)
class RadarPoints:
    """One radar frame's point cloud: `points` shape (N, 5) of x, y, z (m), doppler (m/s), snr."""

    kind: ClassVar[str] = "radar_points"
    sensor: str
    t: float
    frame: int
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), dtype=np.float32))


@dataclass(frozen=True, slots=True)
class FallFlag:
    """A radar module that decides falls itself (Seeed MR60FDA1/2) reports its flag."""

    kind: ClassVar[str] = "fall_flag"
    sensor: str
    t: float
    fall: bool


@dataclass(frozen=True, slots=True)
class Battery:
    """Battery level in percent (0-100); `low` when the device itself says so."""

    kind: ClassVar[str] = "battery"
    sensor: str
    t: float
    percent: float | None
    low: bool | None = None


@dataclass(frozen=True, slots=True)
class LinkQuality:
    """Radio link quality: RSSI in dBm (BLE) or a 0-255 LQI (Zigbee)."""

    kind: ClassVar[str] = "link"
    sensor: str
    t: float
    rssi_dbm: float | None = None
    lqi: int | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    """A device's own availability as reported by its bridge (Zigbee2MQTT), not our timeout."""

    kind: ClassVar[str] = "availability"
    sensor: str
    t: float
    online: bool


Reading = Union[
    AccelBlock, HeartRate, Motion, Contact, Button, Presence, RadarTargets, RadarPoints,
    FallFlag, Battery, LinkQuality, Availability,
]

READING_TYPES: dict[str, type] = {
    cls.kind: cls
    for cls in (AccelBlock, HeartRate, Motion, Contact, Button, Presence, RadarTargets,
                RadarPoints, FallFlag, Battery, LinkQuality, Availability)
}


def reading_time(r: Reading) -> float:
    """The sensor time a reading ends at: the last sample of a block, else `t`."""
    if isinstance(r, AccelBlock):
        return r.end
    return r.t


def shifted(r: Reading, offset: float) -> Reading:
    """The same reading with its sensor time(s) moved by `offset` seconds."""
    if isinstance(r, AccelBlock):
        return AccelBlock(r.sensor, r.t + offset, r.xyz)
    return replace(r, t=float(r.t + offset))


def end_time(r: Reading) -> float | None:
    """Like `reading_time`, but None for an empty block (no time to advance to)."""
    if isinstance(r, AccelBlock):
        return float(r.t[-1]) if len(r.t) else None
    return r.t
