"""What a trace file holds besides readings: stream metadata, ground-truth labels, and
the note a damaged file leaves when reading stops early.

Kept apart from the codec and the reader/writer so that the simulator, the CLI and the
tests share one vocabulary without importing the MCAP machinery.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

#: Bumped when the on-disk layout changes incompatibly (docs/trace-format.md). Version 3:
#: high-rate streams batched per window as CDR columns; version 2 (one reading per
#: message) and version 1 (private batch encodings) are still read.
FORMAT_VERSION = 3
PROFILE = "safehome"
FILE_METADATA = "safehome.trace"
#: Metadata written by close(): readings per stream topic (accelerometer samples, radar
#: frames), so `trace info` counts a version 3 file from its summary without reading it.
COUNTS_METADATA = "safehome.counts"

#: Default units and axes per reading kind, used when a stream does not say otherwise.
DEFAULT_UNITS: dict[str, str] = {
    "accel": "g", "heart_rate": "1/min", "radar_targets": "m, m/s",
    "radar_points": "m, m/s, snr", "battery": "percent", "link": "dBm",
}
DEFAULT_AXES: dict[str, tuple[str, ...]] = {
    "accel": ("x", "y", "z"), "radar_points": ("x", "y", "z", "doppler", "snr"),
    "radar_targets": ("x", "y", "z", "vx", "vy", "vz", "height"),
}


def local_time(t: float, timezone: str | None) -> str:
    """Sensor time `t` as the home's local time with its UTC offset, the one convention
    every command prints (replay, trace plot, damage warnings): 2026-03-02 14:32:05+02:00."""
    try:
        tz = ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.fromtimestamp(t, tz).isoformat(sep=" ", timespec="seconds")


@dataclass(frozen=True)
class StreamInfo:
    """One stream: one sensor emitting one reading kind. Stored as MCAP channel metadata
    so that a trace explains itself (and `HomeConfig.for_replay` can rebuild the sensors)."""

    sensor: str
    kind: str
    driver: str = "unknown"
    model: str = ""
    room: str | None = None
    placement: str | None = None
    rate_hz: float | None = None
    units: str = ""
    axes: tuple[str, ...] = ()
    role: str | None = None

    @property
    def topic(self) -> str:
        return f"{self.sensor}/{self.kind}"

    def to_metadata(self) -> dict[str, str]:
        out = {"sensor": self.sensor, "kind": self.kind, "driver": self.driver,
               "model": self.model,
               "units": self.units or DEFAULT_UNITS.get(self.kind, ""),
               "axes": ",".join(self.axes or DEFAULT_AXES.get(self.kind, ()))}
        for key in ("room", "placement", "role"):
            if getattr(self, key) is not None:
                out[key] = str(getattr(self, key))
        if self.rate_hz is not None:
            out["rate_hz"] = repr(float(self.rate_hz))
        return out

    @classmethod
    def from_metadata(cls, md: Mapping[str, str]) -> "StreamInfo":
        rate = md.get("rate_hz")
        return cls(sensor=md["sensor"], kind=md["kind"], driver=md.get("driver", "unknown"),
                   model=md.get("model", ""), room=md.get("room"),
                   placement=md.get("placement"),
                   rate_hz=float(rate) if rate else None, units=md.get("units", ""),
                   axes=tuple(a for a in md.get("axes", "").split(",") if a),
                   role=md.get("role"))

    def sensor_dict(self) -> dict[str, Any]:
        """The sensor as `HomeConfig.for_replay` wants it."""
        d = {"id": self.sensor, "type": self.driver, "room": self.room,
             "placement": self.placement}
        if self.role:
            d["role"] = self.role
        return d


@dataclass(frozen=True)
class Label:
    """Ground truth: what really happened from `t` to `end` (sensor time, Unix seconds).

    `what` names it ("fall", "inactivity", "door_night_exit", "walk", ...); `expect` lists
    the event types a correct gateway raises for it (empty for ordinary activity), so an
    evaluation can match detections to truth without knowing the simulator.
    """

    t: float
    end: float
    what: str
    room: str | None = None
    sensor: str | None = None
    expect: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["expect"] = list(self.expect)
        d["detail"] = dict(self.detail)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Label":
        return cls(t=float(d["t"]), end=float(d["end"]), what=str(d["what"]),
                   room=d.get("room"), sensor=d.get("sensor"),
                   expect=tuple(d.get("expect", ())), detail=dict(d.get("detail", {})))


@dataclass(frozen=True)
class TraceDamage:
    """Where reading a trace stopped early, and why: the file is truncated or corrupt
    after `offset` bytes; everything before `last_time` (sensor time) was delivered."""

    path: str
    offset: int
    reason: str
    last_time: float | None
    timezone: str | None = None   # the home's, for printing `last_time`

    def __str__(self) -> str:
        when = "" if self.last_time is None else \
            f" (readings up to {local_time(self.last_time, self.timezone)})"
        return f"{self.path}: stopped at byte {self.offset}: {self.reason}{when}"
