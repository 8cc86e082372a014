"""The detector contract: readings in, detections out, time only from the readings.

Detectors are pure streaming code. They never import the gateway, never touch asyncio,
the wall clock, files or the network, so one detector object behaves identically live,
in replay and in the simulator, and runs as fast as the CPU allows.

A detector reads the shared vocabulary (`sensordata.readings`): every reading has
`sensor` and `t` (sensor time, Unix seconds); a detector dispatches on the reading's
type (`isinstance(r, AccelBlock)`), and blocks of samples carry arrays `t` and `xyz`.
`Detector` below is the one contract the pipeline uses; `docs/writing-a-detector.md`
walks through writing one.

What a detector returns is a `Detection`: what happened, when (sensor time), how sure it
is and the evidence numbers behind it. The gateway turns detections into events (id,
seq, texts in three languages), so detectors never deal with identity or delivery.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Iterable, Iterator, Mapping, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from detectors.home_views import HomeTrackers
from sensordata.radar_mounting import Mounting
from sensordata.readings import AccelBlock, Reading, end_time


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


class DetectorSettings(BaseModel):
    """Base of every detector's `[detectors.NAME]` table: unknown keys are errors, every
    detector can be switched off with `enabled = false`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = Field(True, title="Run this detector")


SettingsT = TypeVar("SettingsT", bound=DetectorSettings)


class Detector(abc.ABC, Generic[SettingsT]):
    """What the pipeline knows of a detector, and all it relies on.

    A subclass names itself (`name`, the key of its `[detectors.NAME]` table), its
    `Settings` model and whether it runs when the home's config does not mention it
    (`default_on`). The pipeline builds it once with the validated settings, the home's
    sensors and the home's timezone (`setup` then builds its state), then calls `feed`
    with every batch of readings
    (readings it does not care about included: dispatch on their type and ignore the
    rest), `tick` when sensor time moves without readings, and `state`/`restore` around
    restarts. Everything but `feed` has a do-nothing default.

    `homes` is the home's shared `HomeTrackers` (detectors/activity.py): a detector that asks
    whether someone is active or home takes a view of it in `setup`, so the home's readings
    are tracked once per batch for all detectors, not once per detector. The pipeline passes
    its own; a detector built alone gets a pool of its own.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[DetectorSettings]] = DetectorSettings
    default_on: ClassVar[bool] = True

    def __init__(self, settings: SettingsT, sensors: Mapping[str, "SensorMeta"],
                 timezone: str | None = None, *, homes: HomeTrackers | None = None) -> None:
        self.settings = settings
        self.sensors = sensors
        self.timezone = timezone  # the home's IANA zone; None means the detector's default
        self.homes = homes if homes is not None else HomeTrackers(sensors)
        self.setup()

    def setup(self) -> None:
        """Build the working state from `self.settings` and `self.sensors` (called once,
        by `__init__`): a detector overrides this rather than the constructor."""

    @abc.abstractmethod
    def feed(self, readings: Iterable[Reading]) -> list[Detection]:
        """Readings in sensor-time order (per sensor) -> what they revealed."""

    def tick(self, now: float) -> list[Detection]:
        """Sensor time moved to `now` without a reading (the live daemon's second)."""
        return []

    def state(self) -> dict[str, Any]:
        """Learned state to keep across restarts (JSON-able); empty when there is none."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back what `state` returned before a restart."""

    def room(self, sensor: str) -> str | None:
        """The room a configured sensor is in (None for worn or unknown sensors)."""
        return room_of(self.sensors, sensor)


class TimedDetector(Detector[SettingsT]):
    """A detector whose findings fall due as sensor time passes (a deadline, the end of a
    window): `_advance(t, out)` moves its time to `t`, and `tick` is just that, so a quiet
    home's tick and a reading at the same instant decide the same."""

    def tick(self, now: float) -> list[Detection]:
        out: list[Detection] = []
        self._advance(now, out)
        return out

    @abc.abstractmethod
    def _advance(self, t: float, out: list[Detection]) -> None:
        """Move sensor time to `t`, appending whatever fell due on the way."""

    def next_due(self) -> float:
        """The earliest sensor time at which `_advance` may do more than move the
        detector's clock, as things stand now (early is allowed, late never).

        The promise: for every `t < next_due()`, `_advance(t, out)` only moves the clock
        (as `now = max(now, t)`): it appends nothing, and reads and changes nothing else,
        the home view's `away` included. So a run of such calls is one call with the latest
        of their times, and none at all when a call with a later time follows. The home
        view uses this to step over radar frames that saw nobody (`HomeView.seen` with
        `empty_radar=False` and `due=self.next_due`): two thirds of a home's readings,
        which otherwise cost every such detector one `_advance` call each.

        The answer must not move with the clock alone (it is asked once for a run of
        frames). The default, -inf, promises nothing: every call is made (a detector that does not
        declare it, a third party's included, is called as before). The answer is asked
        again after every reading the detector is handed, so it may change with them."""
        return -math.inf

    def timed(self, readings: Iterable[Reading], out: list[Detection]) -> Iterator[tuple[Reading, float]]:
        """Each reading with its sensor time, after time has advanced to it: a deadline
        that passed before the reading fires first. Empty sample blocks are skipped."""
        advance = self._advance
        for r in readings:
            # every reading but a sample block carries its time in `t` (replay feeds 1.9
            # million a day through each timed detector: no call where none is needed)
            t = end_time(r) if isinstance(r, AccelBlock) else r.t
            if t is not None:
                advance(t, out)
                yield r, t


@dataclass(frozen=True, slots=True)
class SensorMeta:
    """What a detector may know about a configured sensor (from the home's config)."""

    id: str
    type: str                      # driver type, e.g. "polar_pmd", "zigbee2mqtt"
    room: str | None = None
    placement: str | None = None   # wearables: waist, wrist, chest, pendant
    role: str | None = None        # e.g. "outer_door" for a door contact, "bed" zone owner
    #: radars whose driver puts points in the room frame: the mounting it used, so a
    #: detector that measures the real one can undo it (detectors/radar_fall.py)
    mounting: Mounting | None = None


def room_of(sensors: Mapping[str, SensorMeta], sensor: str) -> str | None:
    """The room a configured sensor is in (None for worn or unknown sensors)."""
    meta = sensors.get(sensor)
    return meta.room if meta else None
