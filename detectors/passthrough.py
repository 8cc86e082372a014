"""Readings that are findings already: an SOS press, a cancel press, a radar module's own
fall flag, a device saying its battery is low. No signal processing, just translation."""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import Field

from detectors.base import Detection, Detector, DetectorSettings, room_of
from sensordata.readings import Battery, Button, FallFlag

SOS_ACTIONS = frozenset({"sos", "emergency", "panic"})
CANCEL_ACTIONS = frozenset({"cancel", "ok", "i_am_ok"})
_KINDS = (Button, FallFlag, Battery)   # the readings this detector reads


class PassThroughSettings(DetectorSettings):
    battery_low_percent: float = Field(
        15.0, ge=0, le=100, title="Battery level (percent) at or below which battery_low is raised")


class PassThroughDetector(Detector[PassThroughSettings]):
    name = "passthrough"
    Settings = PassThroughSettings

    def setup(self) -> None:
        self._fall_flag: dict[str, bool] = {}
        self._battery_low: dict[str, bool] = {}

    def _room(self, sensor: str) -> str | None:
        return room_of(self.sensors, sensor)

    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        for r in readings:
            if not isinstance(r, _KINDS):
                continue   # radar frames, samples: most readings, one check each
            if isinstance(r, Button):
                if r.action in SOS_ACTIONS:
                    out.append(Detection("sos", r.t, r.sensor, self._room(r.sensor)))
                elif r.action in CANCEL_ACTIONS:
                    out.append(Detection("cancel", r.t, r.sensor, self._room(r.sensor)))
            elif isinstance(r, FallFlag):
                was = self._fall_flag.get(r.sensor, False)
                self._fall_flag[r.sensor] = r.fall
                if r.fall and not was:
                    out.append(Detection("fall_suspected", r.t, r.sensor, self._room(r.sensor),
                                         confidence=0.8, evidence={"radar_flag": 1}))
            elif isinstance(r, Battery):
                low = bool(r.low) or (r.percent is not None
                                      and r.percent <= self.settings.battery_low_percent)
                if low and not self._battery_low.get(r.sensor, False):
                    ev = {} if r.percent is None else {"battery_percent": float(r.percent)}
                    out.append(Detection("battery_low", r.t, r.sensor, self._room(r.sensor),
                                         evidence=ev))
                self._battery_low[r.sensor] = low
        return out
