"""The detector contract: readings in, detections out, time only from the readings.

Detectors are pure streaming code. They never import the gateway, never touch asyncio,
the wall clock, files or the network, so one detector object behaves identically live,
in replay and in the simulator, and runs as fast as the CPU allows.

A detector reads gateway readings by duck typing: every reading has `kind`, `sensor`
and `t` (sensor time, Unix seconds); blocks of samples (kind "accel") carry arrays
`t` and `xyz`. See `sensordata/readings.py` for the full vocabulary.

What a detector returns is a `Detection`: what happened, when (sensor time), how sure it
is and the evidence numbers behind it. The gateway turns detections into events (id,
seq, texts in three languages), so detectors never deal with identity or delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Detection:
    """Something a detector found.

    `type` is an event type from the contract (e.g. "fall_suspected", "sos",
    "inactivity", "fall_cancelled"). `occurred_at` is sensor time in Unix seconds.
    `evidence` holds a few numbers that explain the finding (never raw samples).
    `ref` ties related detections together (a cancel names the fall it cancels).
    """

    type: str
    occurred_at: float
    sensor: str | None = None
    room: str | None = None
    confidence: float = 1.0
    evidence: Mapping[str, float] = field(default_factory=dict)
    ref: str | None = None


@runtime_checkable
class Detector(Protocol):
    """What every detector offers. `feed` may be called with any batch of readings,
    including readings it does not care about (it ignores those)."""

    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        ...


class StatefulDetector(Protocol):
    """A detector whose learned state must survive restarts (kept in SQLite by the gateway)."""

    def state(self) -> dict[str, Any]:
        ...

    def restore(self, state: Mapping[str, Any]) -> None:
        ...


@dataclass(frozen=True, slots=True)
class SensorMeta:
    """What a detector may know about a configured sensor (from the home's config)."""

    id: str
    type: str                      # driver type, e.g. "polar_pmd", "zigbee2mqtt"
    room: str | None = None
    placement: str | None = None   # wearables: waist, wrist, chest, pendant
    role: str | None = None        # e.g. "outer_door" for a door contact, "bed" zone owner


def room_of(sensors: Mapping[str, SensorMeta], sensor: str) -> str | None:
    """The room a configured sensor is in (None for worn or unknown sensors)."""
    meta = sensors.get(sensor)
    return meta.room if meta else None
