"""Night door: the outer door opened at night and the resident did not come back in time.

Why: people living with dementia may leave home at night confused, and in a Nordic winter
an hour outside can kill. The rule is simple enough for a carer to predict: an outer-door
change inside the `night` window arms it; any activity inside the home strictly after the
last door change, or a radar that sees someone, disarms it ("back"); if neither happens
within `not_back_minutes` of the last door change, `door_night_not_back` is raised once.

Outer doors are contact sensors with SensorMeta.role "outer_door" (or listed in
`outer_doors`). A home with a PIR right by the door should expect the PIR to fire while
the resident walks out; that is before the door closes, so it does not count as "back".
`tick(now)` advances time without a reading: the alarm matters precisely when the home is
silent.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from pydantic import Field

from detectors.activity import OuterDoors
from detectors.base import Detection
from detectors.localtime import LocalTimeDetector, Window, ZonedSettings, parse_window


class NightDoorSettings(ZonedSettings):
    night: Window = Field("22:00-06:00", title="Local night window HH:MM-HH:MM")
    not_back_minutes: float = Field(15.0, gt=0, le=600, title="Minutes after the door before the alarm")
    outer_doors: OuterDoors


class NightDoorDetector(LocalTimeDetector[NightDoorSettings]):
    name = "night_door"
    Settings = NightDoorSettings

    def setup(self) -> None:
        settings = self.settings
        self.night = [parse_window(settings.night)]
        self.home = self.homes.view(settings.outer_doors)
        self._limit = settings.not_back_minutes * 60.0
        self._door: float | None = None    # last door change while armed
        self._opened: float | None = None  # the night door change that armed the rule
        self._sensor: str | None = None
        self._alarmed = False
        self._now = float("-inf")

    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        # a radar frame that saw nobody changes nothing here but the time
        for r, t, what in self.home.seen(readings, self._advance, out, empty_radar=False,
                                         due=self.next_due):
            if what == "door":
                if self._door is None:
                    if self.clock.in_windows(t, self.night):
                        self._door = self._opened = t
                        self._sensor, self._alarmed = r.sensor, False
                elif not self._alarmed:
                    self._door = max(self._door, t)   # the door swinging again: count from the last
            elif what in ("inside", "present") and self._door is not None and t > self._door:
                self._door = self._opened = None      # back home (or never left)
                self._alarmed = False
        return out

    def next_due(self) -> float:
        """Nothing is due but the armed rule's deadline (`_advance`'s own test)."""
        if self._door is None or self._alarmed:
            return float("inf")
        return self._door + self._limit

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        self._now = t
        if self._door is None or self._alarmed or t < self._door + self._limit:
            return
        self._alarmed = True
        at = self._door + self._limit
        out.append(Detection(
            "door_night_not_back", at, sensor=self._sensor, room=self.home.room(self._sensor or ""),
            evidence={"minutes": round((at - (self._opened or self._door)) / 60.0, 1),
                      "minutes_since_last_door": round(self._limit / 60.0, 1),
                      "door_opened_minute_of_day": round(self.clock.minute_of_day(
                          self._opened or self._door), 1)}))

    def state(self) -> dict[str, Any]:
        return {"version": 1, "door": self._door, "opened": self._opened, "sensor": self._sensor,
                "alarmed": self._alarmed, "home": self.home.state()}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            return
        self._door, self._opened = state.get("door"), state.get("opened")
        self._sensor, self._alarmed = state.get("sensor"), bool(state.get("alarmed", False))
        self.home.restore(state.get("home", {}))
