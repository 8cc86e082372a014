"""Stuck sensors: a motion or presence sensor that stays ON while life goes on elsewhere
raises `sensor_stuck` (a technical event, never an alarm): someone must look at it.

Why: a PIR that sticks ON (a failing sensor, a curtain in a heating draught, a lost OFF
message) never reports a new ON, so the room looks empty to every routine detector, and a
presence sensor stuck at "someone there" makes the home look occupied forever (no away
hold, so a holiday would end in an inactivity alarm). Real homes have them (WSU CASAS
logs show sensors stuck for hours); the carer's question is "which sensor, since when".

Rule: ON (motion active, presence present) for `motion_minutes` (motion) or
`presence_hours` (presence), and, at least `elsewhere_minutes` after it turned ON,
activity from a sensor in another room: a person sitting in front of a PIR for two hours
keeps it ON too, but then nothing else in the home moves (one resident). One event per
stuck episode; the sensor's next OFF ends the episode. Only sensors that have reported an
OFF at least once are watched: some drivers report motion starts only (each ON a pulse). Presence sensors with role `bed`
get `presence_hours` too (a night in bed is far shorter). The presence rule of
detectors/activity.py ignores presence older than its own limit, so a stuck presence
sensor does not keep the home "occupied" either.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from pydantic import Field

from detectors.base import Detection, DetectorSettings, TimedDetector
from sensordata.readings import Motion, Presence


class SensorStuckSettings(DetectorSettings):
    motion_minutes: float = Field(120.0, ge=10, le=24 * 60,
                                  title="A motion sensor ON this long (minutes) may be stuck")
    presence_hours: float = Field(20.0, ge=1, le=168,
                                  title="A presence sensor reporting someone this long (hours) may be stuck")
    elsewhere_minutes: float = Field(10.0, ge=1, le=240,
                                     title="Activity in another room this long after it turned ON confirms it")


class SensorStuckDetector(TimedDetector[SensorStuckSettings]):
    name = "sensor_stuck"
    Settings = SensorStuckSettings

    def setup(self) -> None:
        self.home = self.homes.view()
        self._on: dict[str, float] = {}           # sensor -> ON since
        self._confirmed: dict[str, float] = {}    # sensor -> first activity elsewhere, late enough
        self._raised: set[str] = set()
        self._limits: dict[str, float] = {}       # sensor -> its ON limit in seconds
        self._reports_off: set[str] = set()       # sensors seen to report OFF at all
        self._now = float("-inf")

    def _limit(self, r: Any) -> float:
        if isinstance(r, Motion):
            return self.settings.motion_minutes * 60.0
        return self.settings.presence_hours * 3600.0

    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        # a radar frame that saw nobody matters here only while a sensor is ON (then it is
        # handed on, and _advance checks at every time): otherwise it is stepped over
        for r, t, what in self.home.seen(readings, self._advance, out,
                                         empty_radar=self._any_on, due=self.next_due):
            if isinstance(r, (Motion, Presence)):
                on = r.active if isinstance(r, Motion) else r.present
                if not on:
                    self._reports_off.add(r.sensor)
                    self._end(r.sensor)
                elif r.sensor not in self._on and r.sensor in self._reports_off:
                    self._on[r.sensor] = t
                    self._limits[r.sensor] = self._limit(r)
            if what == "inside":
                room = self.home.room(getattr(r, "sensor", ""))
                late = self.settings.elsewhere_minutes * 60.0
                for sensor, since in self._on.items():
                    if sensor not in self._confirmed and room is not None \
                            and room != self.home.room(sensor) and t >= since + late:
                        self._confirmed[sensor] = t
            if self._on:   # nothing ON (nearly always): nothing to check
                self._check(t, out)
        return out

    def _end(self, sensor: str) -> None:
        self._on.pop(sensor, None)
        self._confirmed.pop(sensor, None)
        self._raised.discard(sensor)
        self._limits.pop(sensor, None)

    def _any_on(self) -> bool:
        return bool(self._on)

    def next_due(self) -> float:
        """With no sensor ON nothing can be due (`_advance` only moves the clock then)."""
        return -float("inf") if self._on else float("inf")

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        self._now = t
        if self._on:   # nothing ON (nearly always): nothing to check, as in feed
            self._check(t, out)

    def _check(self, t: float, out: list[Detection]) -> None:
        for sensor, since in self._on.items():
            seen = self._confirmed.get(sensor)
            if sensor in self._raised or seen is None:
                continue
            at = max(since + self._limits[sensor], seen)
            if t < at:
                continue
            self._raised.add(sensor)
            out.append(Detection("sensor_stuck", at, sensor=sensor, room=self.home.room(sensor),
                                 evidence={"minutes": round((at - since) / 60.0, 1),
                                           "on_since": since}))

    def state(self) -> dict[str, Any]:
        return {"version": 1, "on": dict(self._on), "raised": sorted(self._raised),
                "limits": dict(self._limits), "reports_off": sorted(self._reports_off)}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            return
        self._on = {str(k): float(v) for k, v in state.get("on", {}).items()}
        self._limits.update({str(k): float(v) for k, v in state.get("limits", {}).items()})
        self._raised = {str(s) for s in state.get("raised", [])} & set(self._on)
        self._reports_off = {str(s) for s in state.get("reports_off", [])}
