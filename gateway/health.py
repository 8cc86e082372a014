"""Sensor health as the gateway sees it: last reading, silence, battery, radio link.

Silence is measured on the monotonic clock (a sensor's own clock may be wrong, and the
wall clock may jump when NTP syncs a Pi without an RTC). A sensor silent for longer than
its configured timeout is reported once (`sensor_silent`); its next reading reports
`sensor_restored`. A sensor the centre silenced keeps being watched but raises nothing
until the silence ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from gateway.events import iso


@dataclass
class SensorHealth:
    id: str
    timeout: float
    started: float
    last_mono: float | None = None
    last_wall: float | None = None
    silent: bool = False
    failed: str | None = None
    battery: float | None = None
    rssi: float | None = None
    readings: int = 0
    silenced_until: float | None = None  # wall time
    parent: str | None = None  # a bridge entry whose link this device's readings prove alive


@dataclass
class HealthMonitor:
    sensors: dict[str, SensorHealth] = field(default_factory=dict)
    mono: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time

    def add(self, sensor_id: str, timeout: float, parent: str | None = None) -> None:
        self.sensors[sensor_id] = SensorHealth(sensor_id, timeout, self.mono(), parent=parent)

    def seen(self, reading: Any) -> list[str]:
        """Record a reading; returns the sensors whose silence it ends (restores due)."""
        h = self.sensors.get(reading.sensor)
        if h is None:
            return []
        restored = self._alive(h)
        parent = self.sensors.get(h.parent) if h.parent else None
        if parent is not None:
            restored += self._alive(parent)
        kind = reading.kind
        if kind == "battery" and reading.percent is not None:
            h.battery = float(reading.percent)
        elif kind == "link" and reading.rssi_dbm is not None:
            h.rssi = float(reading.rssi_dbm)
        return restored

    def _alive(self, h: SensorHealth) -> list[str]:
        h.last_mono, h.last_wall = self.mono(), self.wall()
        h.readings += 1
        h.failed = None
        if h.silent:
            h.silent = False
            return [h.id]
        return []

    def newly_silent(self) -> list[tuple[SensorHealth, float]]:
        """Sensors whose silence just exceeded their timeout, with the seconds of silence."""
        now = self.mono()
        out = []
        for h in self.sensors.values():
            since = h.last_mono if h.last_mono is not None else h.started
            if not h.silent and now - since > h.timeout:
                h.silent = True
                out.append((h, now - since))
        return out

    def is_silenced(self, sensor_id: str) -> bool:
        h = self.sensors.get(sensor_id)
        return bool(h and h.silenced_until and self.wall() < h.silenced_until)

    def summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for h in self.sensors.values():
            state = ("silenced" if self.is_silenced(h.id) else "failed" if h.failed and h.silent
                     else "silent" if h.silent else "ok" if h.last_mono is not None else "waiting")
            out[h.id] = {"state": state,
                         "last_seen": iso(h.last_wall) if h.last_wall else None,
                         "battery": h.battery, "rssi": h.rssi}
        return out
