"""Not up by the usual time: learns when this home's first activity of the morning usually
comes and raises `not_up` when a morning passes the usual time plus a margin in silence.

Why learned and robust: people differ by hours (a night-shift retiree at 11:00, a farmer at
05:30), so a fixed "07:00" either misses or nags. Each local day contributes one number, the
first activity inside the `morning` window (minutes after midnight). The usual time is the
median of the last `history_days` such days and the margin is the larger of
`margin_minutes`, `mad_k` robust standard deviations (1.4826 x MAD) and the home's own
late mornings (its 90th-percentile morning plus 30 min, mornings beyond the cap left out:
weekend lie-ins are ordinary, a sick day is not a habit),
capped at `max_margin_minutes`: a regular sleeper gets a tight margin, an irregular one a wide one,
and a few odd days (a late night, a sick day) barely move either.

Up, not just awake: each morning's number is the start of the first bout of activity that
goes on (activity again `up_minutes` after its start, no silence of `gap_minutes`), so a
night toilet trip at 04:30 followed by more sleep is not "up". At the deadline a bout that
has begun but not yet lasted defers the alarm until it lapses (someone who got up at the
last minute is not alarmed; someone who got up and collapsed is, when the bout goes quiet).

What counts as activity: a PIR, a door, a button, a radar's moving target or
moving presence (detectors/activity.py), but not a wearable's movement (turning over in bed
shakes a wristband) and not activity in `ignore_rooms` (a bedroom PIR that sees the bed).

A late night is not a missed morning: each night's *bedtime* (the end of the last bout of
activity that went on, between 18:00 and the morning window) is learned too, and a night
later than the usual bedtime moves that morning's deadline later by as much (still never
past the morning window). Someone up until 02:30 who sleeps until 10:30 is not alarmed at
09:00; someone whose evening was ordinary is held to the usual deadline.

Before `min_days` (14) mornings are learned the detector stays SILENT: the fixed
inactivity timer protects the resident meanwhile. Days with no morning activity (away,
in hospital) are not learned. While the resident is away (outer door, then nothing
inside; detectors/activity.py) no alarm is raised, and a morning the home was away at the
deadline is not alarmed later when someone comes home.

The learned days are the persistent state (`state()` / `restore()`, a few hundred bytes,
kept in SQLite by the gateway), so a restart or a power cut does not restart the 14 days.
`tick(now)` advances time without a reading so the alarm comes on time in a silent home.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
from pydantic import Field, field_validator

from detectors.activity import OuterDoors
from detectors.base import Detection
from detectors.localtime import LocalTimeDetector, ZonedSettings, parse_window

RESUME_GAP_S = 900.0   # a restart after a longer outage did not watch the time between


class NotUpSettings(ZonedSettings):
    enabled: bool = Field(True, title="Run this detector (silent until min_days are learned)")
    morning: str = Field("04:00-13:00", title="Local window HH:MM-HH:MM in which the first activity of the day is looked for")
    min_days: int = Field(14, ge=3, le=365, title="Mornings to learn before the detector may raise")
    history_days: int = Field(42, ge=7, le=365, title="Learn from the mornings of this many most recent days")
    margin_minutes: float = Field(60.0, ge=5, title="Least margin after the usual time (minutes)")
    mad_k: float = Field(3.0, ge=0, title="Margin in robust standard deviations of the first-activity time")
    up_minutes: float = Field(15.0, ge=0, le=120, title="Activity must go on this long to count as up (minutes)")
    gap_minutes: float = Field(30.0, gt=0, le=240, title="Silence that ends a bout of activity (minutes)")
    tail_quantile: float = Field(0.9, ge=0.5, le=1.0, title="The deadline is never before this quantile of the learned mornings ...")
    tail_minutes: float = Field(30.0, ge=0, title="... plus this many minutes")
    max_margin_minutes: float = Field(180.0, ge=5, title="Largest margin after the usual time (minutes)")
    outer_doors: OuterDoors
    ignore_rooms: list[str] = Field(default_factory=list,
                                    title="Rooms whose activity is not 'up' (a bedroom whose PIR sees the bed)")

    @field_validator("morning")
    @classmethod
    def _morning(cls, v: str) -> str:
        a, b = parse_window(v)
        if b <= a:
            raise ValueError("the morning window must not run over midnight")
        return v


class NotUpDetector(LocalTimeDetector[NotUpSettings]):
    name = "not_up"
    Settings = NotUpSettings

    def setup(self) -> None:
        settings = self.settings
        self.m0, self.m1 = parse_window(settings.morning)
        # Wearable movement is not "up": turning over in bed shakes a wristband.
        self.home = self.homes.view(settings.outer_doors, accel_std_g=float("inf"))
        self.ignore = frozenset(settings.ignore_rooms)
        self.days: dict[int, float] = {}        # local day ordinal -> first activity minute
        self._day: int | None = None
        self._day_end = float("-inf")
        self._window = (0.0, 0.0)               # today's morning window in Unix seconds
        self._first_today: float | None = None
        self._bout_start: float | None = None   # start of this morning's activity bout
        self._bout_last: float | None = None
        self._fired_day: int | None = None
        self._now = float("-inf")
        self._deadline: float | None = None     # today's alarm time, None until learned
        self.nights: dict[int, float] = {}      # morning's day -> bedtime minute (evening < 0)
        self._eve: tuple[float, float] | None = None   # (start, last) of the current bout
        self._resumed_from: float | None = None  # sensor time saved before a restart

    # --- learning --------------------------------------------------------------------
    def usual(self) -> tuple[float, float] | None:
        """(usual minute of day, margin minutes), or None before min_days are learned."""
        if len(self.days) < self.settings.min_days:
            return None
        v = np.fromiter(self.days.values(), float)
        med = float(np.median(v))
        sd = 1.4826 * float(np.median(np.abs(v - med)))
        s = self.settings
        # The home's own late mornings (weekends, a lie-in once a week) are ordinary: the
        # deadline is never before its `tail_quantile` morning plus `tail_minutes`.
        # Mornings later than the cap allows are odd days (ill, away), not the habit.
        usual_ones = v[v - med <= s.max_margin_minutes]
        tail = float(np.quantile(usual_ones, s.tail_quantile)) - med + s.tail_minutes
        margin = min(max(s.margin_minutes, s.mad_k * sd, tail), s.max_margin_minutes)
        return med, margin

    def _start_day(self, t: float) -> None:
        if self._day is not None and self._first_today is not None:
            self.days[self._day] = round(self._first_today, 2)   # as persisted
        day = self.clock.day(t)
        self._day = day
        self._first_today = None
        self._bout_start = self._bout_last = None
        self._day_end = self.clock.at(day + 1, 0)
        self._window = (self.clock.at(day, self.m0), self.clock.at(day, self.m1))
        for old in [d for d in self.days if d <= day - self.settings.history_days]:
            del self.days[old]
        for old in [d for d in self.nights if d <= day - self.settings.history_days]:
            del self.nights[old]
        u = self.usual()
        self._deadline = None if u is None else self.clock.at(day, min(u[0] + u[1], self.m1))

    def late_night_minutes(self) -> float:
        """How much later than the usual bedtime last night's activity ended (0 if not)."""
        tonight = self.nights.get(self._day) if self._day is not None else None
        past = [m for d, m in self.nights.items() if d != self._day]
        if tonight is None or len(past) < self.settings.min_days:
            return 0.0
        return max(0.0, tonight - float(np.median(past)))

    def _bedtime(self, t: float) -> None:
        """Bouts of activity that go on (like "up") between 18:00 and the morning window:
        the last one's end is that night's bedtime, in minutes from the morning's
        midnight (negative in the evening)."""
        s = self.settings
        eve = self._eve
        if eve is None or t - eve[1] > s.gap_minutes * 60.0:
            eve = (t, t)
        eve = (eve[0], max(eve[1], t))
        self._eve = eve
        if t - eve[0] < s.up_minutes * 60.0:
            return
        minute = self.clock.minute_of_day(t)
        if minute >= 18 * 60:
            self.nights[self.clock.day(t) + 1] = round(minute - 1440.0, 2)
        elif minute < self.m0:
            self.nights[self.clock.day(t)] = round(minute, 2)

    # --- streaming -------------------------------------------------------------------
    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        # only activity counts here: a radar frame that saw nobody changes nothing but the time
        for r, t, what in self.home.seen(readings, self._advance, out, empty_radar=False,
                                         due=self.next_due):
            if what not in ("inside", "door") \
                    or (self.ignore and self.home.room(r.sensor) in self.ignore):
                continue
            self._bedtime(t)
            if self._first_today is None and self._window[0] <= t < self._window[1]:
                self._bout(t)
        return out

    def _bout(self, t: float) -> None:
        """Up = a bout of activity that goes on: activity again at least `up_minutes` after
        its start, never `gap_minutes` silent. A night toilet trip at 04:30 is not up."""
        s = self.settings
        if self._bout_start is None or self._bout_last is None or t - self._bout_last > s.gap_minutes * 60.0:
            self._bout_start = t
        self._bout_last = max(t, self._bout_last or t)
        if t - self._bout_start >= s.up_minutes * 60.0:
            self._first_today = self.clock.minute_of_day(self._bout_start)

    def next_due(self) -> float:
        """The day's end, or before it today's deadline while the morning is still open:
        `_maybe_fire` never fires before min(deadline, end of the morning window) (a late
        night only moves the deadline later, capped at that end)."""
        d = self._deadline
        if d is None or self._first_today is not None or self._fired_day == self._day:
            return self._day_end
        return min(self._day_end, d, self._window[1])

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        while t >= self._day_end:
            # Roll over every local day the clock passes. A day that ended with no reading
            # after its deadline is not alarmed afterwards: the gateway ticks at least once a
            # minute, and the inactivity timer covers a home silent for a whole day.
            self._start_day(t if self._day is None else self._day_end)
        self._now = t
        if self._resumed_from is not None:
            self._unwatched_morning(self._resumed_from, t)
        self._maybe_fire(t, out)

    def _unwatched_morning(self, off_from: float, t: float) -> None:
        """The first time after a restart: a morning the gateway did not watch from the
        start of its window to its deadline (off, or an imported log's logger down) is
        not judged: the first activity may have come while nobody watched."""
        self._resumed_from = None
        if t - off_from <= RESUME_GAP_S or self._deadline is None:
            return
        if off_from < max(self._deadline, self._window[1]) and t > self._window[0]:
            self._fired_day = self._day

    def _maybe_fire(self, t: float, out: list[Detection]) -> None:
        d = self._deadline
        if d is None or self._first_today is not None or self._fired_day == self._day:
            return
        late = self.late_night_minutes()
        if late > 0 and self._day is not None:
            d = min(d + late * 60.0, self.clock.at(self._day, self.m1))
        if t < d:
            return
        if self._bout_start is not None and self._bout_last is not None:
            # Someone started moving: wait until that bout lapses before calling it not up.
            d = max(d, self._bout_last + self.settings.gap_minutes * 60.0)
            if t < d:
                return
        if self.home.away:
            self._fired_day = self._day   # out this morning: not judged when back later
            return
        self._fired_day = self._day
        usual, margin = self.usual() or (0.0, 0.0)
        whole = int(round(usual))
        out.append(Detection("not_up", d, evidence={
            "usual_hour": float(whole // 60),
            "usual_minute": float(whole % 60),
            "usual_minutes_of_day": round(usual, 1),
            "margin_minutes": round(margin, 1),
            "days_learned": float(len(self.days)),
            "late_night_minutes": round(late, 1),
            "hours_inactive": round((d - self.home.last_activity) / 3600.0, 2)
            if self.home.last_activity is not None else -1.0,
        }))

    # --- persistence -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"version": 1, "days": sorted([d, round(m, 2)] for d, m in self.days.items()),
                "day": self._day, "first_today": self._first_today,
                "bout": [self._bout_start, self._bout_last],
                "fired_day": self._fired_day, "home": self.home.state(),
                "now": self._now if self._now > float("-inf") else None,
                "nights": sorted([d, m] for d, m in self.nights.items())}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            return
        self.days = {int(d): float(m) for d, m in state.get("days", [])}
        self.nights = {int(d): float(m) for d, m in state.get("nights", [])}
        self.home.restore(state.get("home", {}))
        self._fired_day = state.get("fired_day")
        now = state.get("now")
        self._resumed_from = float(now) if now is not None else None
        self._now = self._resumed_from if self._resumed_from is not None else float("-inf")
        day = state.get("day")
        if day is not None:
            self._start_day(self.clock.at(int(day), 0))
            self._first_today = state.get("first_today")
            self._bout_start, self._bout_last = state.get("bout", [None, None])
