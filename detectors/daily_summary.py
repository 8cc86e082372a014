"""Daily activity summary: one `daily_summary` event a day with the numbers a care provider
needs to see slow decline before it becomes an emergency.

Why these numbers: fewer active hours, more night-time toilet trips, longer time in bed and
fewer steps over weeks are the classic early signs of infection, heart failure or
depression in older people. Each is cheap to count from readings the home already has:
- active_hours: quarter-hours with any inside activity (detectors/activity.py), in hours;
- night_bathroom_trips: entries into a bathroom room inside the `night` window, at least
  5 min after the last bathroom activity (sensors at a doorway flap between two rooms);
- time_in_bed_hours: radar frames with a target inside a `bed_zones` box, plus time a
  presence sensor whose SensorMeta.role is "bed" reports someone;
- steps and movement_level_g from a wearable's acceleration where there is one (steps:
  rising crossings of |a| over 1.2 g with hysteresis at 1.05 g: an estimate, not a pedometer);
- motion_events, door_openings, heart_rate_mean, coverage_hours (how much of the day the
  gateway actually saw, so a half day after an install is not read as decline).

The summary covers the 24 h before each local `boundary` (default 12:00, so one night is
never split between two summaries) and is raised when sensor time passes the boundary
(from a reading or `tick(now)`), with occurred_at at the boundary.

Restarts: the open day's counts are kept across a restart (`state`), and a day whose
boundary passed while the gateway was off (or an imported log's logger was down) is still
summarised, with `coverage_hours` 0 and nothing counted: the care team then sees a day
nobody watched, never a day missing from the list, nor a quiet day that was not quiet.
`coverage_hours` leaves out the time the gateway was off. A day before the first
reading the gateway ever saw has no summary (there was no gateway yet).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
from pydantic import Field

from detectors.activity import OuterDoors
from detectors.base import Detection
from detectors.localtime import LocalTimeDetector, TimeOfDay, Window, ZonedSettings, parse_hhmm, parse_window
from detectors.magnitude import magnitude
from detectors.zones import Zone
from sensordata.readings import (
    AccelBlock,
    HeartRate,
    Motion,
    Presence,
    RadarTargets,
)

SLOT_S = 900.0
TRIP_GAP_S = 300.0   # bathroom activity closer than this to the last is the same trip
MAX_UNWATCHED_DAYS = 31   # a gateway off longer sends this many "not watched" days, not more


class DailySummarySettings(ZonedSettings):
    boundary: TimeOfDay = Field("12:00", title="Local time HH:MM at which each day's summary closes")
    night: Window = Field("22:00-06:00", title="Local night window for counting bathroom trips")
    bathroom_rooms: list[str] = Field(default_factory=lambda: ["bathroom", "toilet", "wc"],
                                      title="Room ids that count as bathrooms")
    bed_zones: list[Zone] = Field(default_factory=list, title="Radar boxes that are beds")
    outer_doors: OuterDoors


class DailySummaryDetector(LocalTimeDetector[DailySummarySettings]):
    name = "daily_summary"
    Settings = DailySummarySettings

    def setup(self) -> None:
        settings, sensors = self.settings, self.sensors
        self.s = settings
        self.boundary = parse_hhmm(settings.boundary)
        self.night = [parse_window(settings.night)]
        self.home = self.homes.view(settings.outer_doors)
        self.bathrooms = frozenset(settings.bathroom_rooms)
        self.bed_sensors = frozenset(k for k, m in sensors.items() if getattr(m, "role", None) == "bed")
        self._end = float("-inf")
        self._now = float("-inf")
        self._room: str | None = None
        self._radar_last: dict[str, tuple[float, bool]] = {}   # radar -> (t, target in bed)
        self._bed_since: dict[str, float] = {}                  # bed presence sensor -> since
        self._step_state: dict[str, int] = {}
        self._bath_last = float("-inf")                         # last bathroom activity
        self._off: tuple[float, float] | None = None            # the gateway was off (restore)
        self._resumed_at: float | None = None                   # saved sensor time, restored
        self._reset(None)

    def _reset(self, start: float | None) -> None:
        self._start = start
        self._slots: set[int] = set()
        self.c = {"night_bathroom_trips": 0.0, "bed_s": 0.0, "steps": 0.0, "move_sum": 0.0,
                  "move_n": 0.0, "motion_events": 0.0, "door_openings": 0.0, "hr_sum": 0.0,
                  "hr_n": 0.0}

    def _next_boundary(self, t: float) -> float:
        day = self.clock.day(t)
        b = self.clock.at(day, self.boundary)
        return b if b > t else self.clock.at(day + 1, self.boundary)

    # --- streaming -------------------------------------------------------------------
    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        beds = bool(self.s.bed_zones)
        # a radar frame that saw nobody matters only as the first of a day's readings
        # (`_start`) or with bed zones: then it is handed on; otherwise it is stepped over
        # until the day's summary is due
        for r, t, what in self.home.seen(readings, self._advance, out,
                                         empty_radar=self._wants_empty, due=self.next_due):
            if self._start is None:
                self._start = t
            elif what is None and not beds and isinstance(r, RadarTargets):
                continue   # a radar frame that saw nobody: _count would do nothing with it
            self._count(r, t, what)
        return out

    def _wants_empty(self) -> bool:
        return self._start is None or bool(self.s.bed_zones)

    def next_due(self) -> float:
        """The day's boundary, where its summary is made (`_advance`'s own test); right
        away while a radar frame that saw nobody would still be counted (`_wants_empty`)
        and before the first reading sets the boundary."""
        if self._start is None or self.s.bed_zones:
            return -float("inf")
        return self._end

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        self._now = t
        if self._resumed_at is not None:   # the first time after a restart: off till now
            self._off, self._resumed_at = (self._resumed_at, t), None
        if self._end == float("-inf"):
            self._end = self._next_boundary(t)
            return
        skipped = 0
        while t >= self._end:
            # A day that saw readings is summarised; the next one then counts from the
            # boundary (the gateway was watching). A day with none is summarised as not
            # watched when the gateway knows it was off (restored), else skipped.
            seen = self._start is not None
            if seen:
                out.append(self._summary(self._end))
            elif self._off is not None and self._end - 86400.0 < self._off[1] \
                    and skipped < MAX_UNWATCHED_DAYS:
                skipped += 1
                out.append(self._summary(self._end))
            self._reset(self._end if seen and t < self._next_boundary(self._end) else None)
            self._end = self._next_boundary(self._end)

    def _count(self, r: Any, t: float, what: str | None) -> None:
        c = self.c
        if what == "inside" and not self.home.away:   # a lone trigger in an empty home is no one
            self._slots.add(int(t // SLOT_S))
            room = self.home.room(r.sensor)
            if room is not None and room != self._room:
                if room in self.bathrooms and t - self._bath_last > TRIP_GAP_S \
                        and self.clock.in_windows(t, self.night):
                    c["night_bathroom_trips"] += 1
                self._room = room
            if room in self.bathrooms:
                self._bath_last = t
        elif what == "door":
            self._room = None
            if r.open:
                c["door_openings"] += 1
        if isinstance(r, RadarTargets):   # most readings: first, and only with bed zones
            if self.s.bed_zones:
                in_bed = any(z.contains(r.sensor, g.x, g.y, g.z) for g in r.targets for z in self.s.bed_zones)
                last = self._radar_last.get(r.sensor)
                if last is not None and last[1]:
                    c["bed_s"] += min(max(t - last[0], 0.0), 5.0)
                self._radar_last[r.sensor] = (t, in_bed)
        elif isinstance(r, Motion):
            if r.active:
                c["motion_events"] += 1
        elif isinstance(r, HeartRate):
            if r.contact is not False and r.bpm > 0:
                c["hr_sum"] += r.bpm
                c["hr_n"] += 1
        elif isinstance(r, AccelBlock):
            self._accel(r)
        elif isinstance(r, Presence) and r.sensor in self.bed_sensors:
            since = self._bed_since.pop(r.sensor, None)
            if since is not None:
                c["bed_s"] += max(t - max(since, self._start or since), 0.0)
            if r.present:
                self._bed_since[r.sensor] = t

    def _accel(self, r: Any) -> None:
        xyz = r.xyz
        if not len(xyz):
            return
        mag = magnitude(xyz)
        self.c["move_sum"] += float(np.abs(mag - 1.0).sum())
        self.c["move_n"] += len(mag)
        ev = np.where(mag > 1.2, 1, np.where(mag < 1.05, 0, -1))
        ev = ev[ev >= 0]
        if not len(ev):
            return
        prev = self._step_state.get(r.sensor, 0)
        seq = np.concatenate(([prev], ev))
        self.c["steps"] += int(np.count_nonzero((seq[1:] == 1) & (seq[:-1] == 0)))
        self._step_state[r.sensor] = int(ev[-1])

    def _summary(self, end: float) -> Detection:
        c = self.c
        for sensor, since in self._bed_since.items():   # still in bed at the boundary
            c["bed_s"] += max(end - max(since, self._start or since), 0.0)
            self._bed_since[sensor] = end
        start = self._start if self._start is not None else end
        watched = end - start
        if self._off is not None:   # the part of the day the gateway was off
            watched -= max(0.0, min(end, self._off[1]) - max(start, self._off[0]))
        ev = {
            "active_hours": round(len(self._slots) * SLOT_S / 3600.0, 2),
            "night_bathroom_trips": c["night_bathroom_trips"],
            "time_in_bed_hours": round(c["bed_s"] / 3600.0, 2),
            "motion_events": c["motion_events"],
            "door_openings": c["door_openings"],
            "coverage_hours": round(max(watched, 0.0) / 3600.0, 2),
        }
        if c["move_n"]:
            ev["movement_level_g"] = round(c["move_sum"] / c["move_n"], 4)
            ev["steps"] = c["steps"]
        if c["hr_n"]:
            ev["heart_rate_mean"] = round(c["hr_sum"] / c["hr_n"], 1)
        return Detection("daily_summary", end, evidence=ev)

    # --- persistence -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The open day (its counts so far) and the sensor time, so a restart neither
        loses the day nor leaves out the days it was off."""
        if self._end == float("-inf"):
            return {}
        return {"version": 1, "end": self._end, "now": self._now, "start": self._start,
                "slots": sorted(self._slots), "c": dict(self.c), "room": self._room,
                "bath_last": self._bath_last if self._bath_last > float("-inf") else None,
                "bed_since": dict(self._bed_since)}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            return
        self._end = float(state["end"])
        self._now = float(state["now"])
        self._resumed_at = self._now
        self._start = state.get("start")
        self._slots = {int(x) for x in state.get("slots", [])}
        self.c.update({k: float(v) for k, v in state.get("c", {}).items() if k in self.c})
        self._room = state.get("room")
        bath = state.get("bath_last")
        self._bath_last = float(bath) if bath is not None else float("-inf")
        self._bed_since = {str(k): float(v) for k, v in state.get("bed_since", {}).items()}
