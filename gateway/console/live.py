"""What the console knows that the daemon does not keep: each sensor's latest reading and
rate, the radars' latest frames, and the walk test.

It is a reading tap (`ConsoleHost.reading_taps`, host.py): the daemon calls `tap(batch)` in its consume
loop, so the work per reading is a few dictionary updates and nothing waits or does I/O.
Rates use the monotonic clock; times shown to people use the wall clock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.console.walk import sees_someone

RATE_WINDOW_S = 10.0
MAX_POINTS = 300          # a frame's points sent to the page (enough to see a person)


@dataclass
class SensorLive:
    last_kind: str | None = None
    last_wall: float | None = None
    last_value: dict[str, Any] = field(default_factory=dict)
    recent: deque = field(default_factory=deque)   # (monotonic time, kind, count)
    lqi: int | None = None                          # Zigbee link quality (the health monitor keeps RSSI)

    def rate(self, now: float) -> tuple[float | None, str | None]:
        """Readings (samples for accelerometer blocks) per second of the busiest kind."""
        while self.recent and now - self.recent[0][0] > RATE_WINDOW_S:
            self.recent.popleft()
        if not self.recent:
            return None, None
        counts: dict[str, int] = {}
        for _, kind, n in self.recent:
            counts[kind] = counts.get(kind, 0) + n
        kind = max(counts, key=lambda k: counts[k])
        return counts[kind] / RATE_WINDOW_S, kind


@dataclass
class RadarFrame:
    wall: float
    targets: list[dict[str, float | None]] = field(default_factory=list)
    points: list[list[float]] = field(default_factory=list)
    points_wall: float | None = None


@dataclass
class WalkTest:
    started_wall: float | None = None
    stopped_wall: float | None = None
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)   # sensor -> first, last, count

    @property
    def running(self) -> bool:
        return self.started_wall is not None and self.stopped_wall is None


def summarise(r: Any) -> dict[str, Any]:
    """A reading in a few plain values for the page (never raw sample arrays)."""
    kind = r.kind
    if kind == "accel":
        return {"samples": len(r)}
    if kind == "heart_rate":
        return {"bpm": r.bpm, "contact": r.contact}
    if kind == "motion":
        return {"active": r.active}
    if kind == "contact":
        return {"open": r.open}
    if kind == "button":
        return {"action": r.action}
    if kind == "presence":
        return {"present": r.present, "moving": r.moving, "distance_m": r.distance_m}
    if kind == "radar_targets":
        return {"targets": len(r.targets)}
    if kind == "radar_points":
        return {"points": len(r.points)}
    if kind == "fall_flag":
        return {"fall": r.fall}
    if kind == "battery":
        return {"percent": r.percent, "low": r.low}
    if kind == "link":
        return {"rssi_dbm": r.rssi_dbm, "lqi": r.lqi}
    if kind == "availability":
        return {"online": r.online}
    return {}


@dataclass
class LiveState:
    mono: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sensors: dict[str, SensorLive] = field(default_factory=dict)
    radar: dict[str, RadarFrame] = field(default_factory=dict)
    walk: WalkTest = field(default_factory=WalkTest)
    version: int = 0          # bumps on every batch: the stream sends only when it moved

    def tap(self, batch: list[Any]) -> None:
        now, wall = self.mono(), self.wall()
        self.version += 1
        for r in batch:
            s = self.sensors.get(r.sensor)
            if s is None:
                s = self.sensors[r.sensor] = SensorLive()
            kind = r.kind
            s.last_kind, s.last_wall = kind, wall
            s.last_value = summarise(r)
            s.recent.append((now, kind, len(r) if kind == "accel" else 1))
            if kind == "link" and r.lqi is not None:
                s.lqi = int(r.lqi)
            elif kind == "radar_targets":
                frame = self.radar.setdefault(r.sensor, RadarFrame(wall))
                frame.wall = wall
                frame.targets = [{"tid": g.tid, "x": round(g.x, 3), "y": round(g.y, 3),
                                  "z": round(g.z, 3),
                                  "height": None if g.height is None else round(g.height, 3)}
                                 for g in r.targets]
            elif kind == "radar_points":
                frame = self.radar.setdefault(r.sensor, RadarFrame(wall))
                frame.points_wall = wall
                frame.points = [[round(float(v), 2) for v in p[:3]] for p in r.points[:MAX_POINTS]]
            if self.walk.running and sees_someone(r):
                seen = self.walk.seen.setdefault(r.sensor, {"first": wall, "count": 0})
                seen["last"] = wall
                seen["count"] += 1

    def start_walk(self) -> None:
        self.walk = WalkTest(started_wall=self.wall())

    def stop_walk(self) -> None:
        if self.walk.running:
            self.walk.stopped_wall = self.wall()
