"""Fixed-timer inactivity: no activity anywhere in the home for `hours`, counted only inside
the configured `windows`, raises `inactivity` (an alarm). Alarm units have done this for
decades and carers understand it; it needs no learning, so it is on by default.

Why the timer counts only in-window time: one rule then covers both shapes alarm centres
configure. "No movement for 3 h during the day" is hours=3, windows=["07:00-22:00"] (a night's
sleep does not use the timer up). The classic check window "some movement between 07 and 10"
is hours=3, windows=["07:00-10:00"]. Continuous 12 h is hours=12 with no windows.

After an alarm the timer stays quiet until activity resumes (Tunstall Vi+ behaviour), so
one incident gives one alarm. While the resident is away (outer door, then nothing inside
and no radar presence; see detectors/activity.py) the timer is suspended: the alarm waits
until someone is home again and is then judged from the last activity.

Restarts: `state()` / `restore()` carry the timer over a restart, so a reboot does not
reset it. After an outage longer than 15 min the quiet time is unknown (nobody watched),
and the timer counts again from the first reading instead of alarming on it.

Time: `feed` advances the timer to each reading's time before using the reading; `tick(now)`
advances it without a reading (the live gateway calls it with its clock, e.g. once a
minute) so the alarm does not wait for the next sensor message. The alarm's occurred_at is
the deadline itself, so batch boundaries and tick cadence never change what is reported.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from pydantic import Field

from detectors.activity import OuterDoors
from detectors.base import Detection
from detectors.localtime import LocalTimeDetector, Windows, ZonedSettings, parse_window

RESUME_GAP_S = 900.0   # a restart after a longer outage restarts the timer


class InactivitySettings(ZonedSettings):
    hours: float = Field(12.0, gt=0, le=72,
                         title="Hours without any activity (counted inside the windows) before the alarm")
    windows: Windows = Field(default_factory=list,
                               title="Local time windows HH:MM-HH:MM in which the timer runs; empty = always")
    outer_doors: OuterDoors
    suspend_when_away: bool = Field(True, title="Hold the alarm while the resident is out (door, then nobody inside)")
    accel_std_g: float = Field(0.03, gt=0, title="Wearable movement (std of |a| in a block, g) that counts as activity")


class InactivityDetector(LocalTimeDetector[InactivitySettings]):
    name = "inactivity"
    Settings = InactivitySettings

    def setup(self) -> None:
        settings = self.settings
        self.windows = [parse_window(w) for w in settings.windows]
        self.home = self.homes.view(settings.outer_doors, accel_std_g=settings.accel_std_g)
        self._span = settings.hours * 3600.0
        self._first: float | None = None          # first reading seen: the timer's origin
        self._now: float | None = None
        self._alarmed_for: float | None = None    # the `since` an alarm was raised for
        self._deadline_for: float | None = None
        self._deadline = float("inf")
        self._held_for: float | None = None       # the `since` whose alarm waited for an away
        self._resumed_at: float | None = None     # sensor time saved by state(), after restore

    # --- streaming -------------------------------------------------------------------
    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        home, span = self.home, self._span
        # A radar frame that saw nobody is left out of this loop (empty_radar=False): it
        # changes neither the last activity nor, but towards "away", the home, so the check
        # after it could find nothing the check `_advance` made at its time had not (a
        # hold is noted by the next check instead, with the same `since`). And before
        # next_due such frames are stepped over (detectors/base.py).
        for _r, t, _what in home.seen(readings, self._advance, out, empty_radar=False,
                                      due=self.next_due):
            # presence back after an away hold fires now; _check's own first test, inline
            # (nearly always the alarm cannot be due yet)
            now = t if self._now is None else self._now
            since = home.last_activity if home.last_activity is not None else self._first
            if since is None or since == self._alarmed_for or since + span > now:
                continue
            self._check(now, out)
        return out

    def next_due(self) -> float:
        """`_advance`'s own test: nothing can be due before the quiet stretch is `hours`
        long (nor ever, once alarmed for it); right away before the first reading and
        after a restore, which change state at any time."""
        if self._first is None or self._resumed_at is not None:
            return -float("inf")
        since = self.home.last_activity if self.home.last_activity is not None else self._first
        if since == self._alarmed_for:
            return float("inf")
        return since + self._span

    def _advance(self, t: float, out: list[Detection]) -> None:
        if self._first is None:
            self._first = t
        if self._now is not None and t <= self._now:
            return  # out-of-order or repeated time: nothing new can be due
        if self._resumed_at is not None:
            if t - self._resumed_at > RESUME_GAP_S:
                # The gateway was off: nobody watched, so the quiet time is unknown, not
                # inactivity. Count again from now rather than alarm on the first reading.
                self._first, self.home.last_activity = t, None
            self._resumed_at = None
        self._now = t
        since = self.home.last_activity if self.home.last_activity is not None else self._first
        if since is None or since == self._alarmed_for or since + self._span > t:
            return   # _check's own first test, inline: the alarm cannot be due yet
        self._check(t, out)

    def _check(self, t: float, out: list[Detection]) -> None:
        since = self.home.last_activity if self.home.last_activity is not None else self._first
        if since is None or since == self._alarmed_for or since + self._span > t:
            return  # already raised for this quiet stretch, or cannot be due yet
        if self._deadline_for != since:
            self._deadline = self.clock.window_seconds_to_deadline(since, self._span, self.windows)
            self._deadline_for = since
        if t < self._deadline:
            return
        if self.settings.suspend_when_away and self.home.away:
            self._held_for = since  # judged again on each reading; activity restarts the timer
            return
        self._alarmed_for = since
        at = t if self._held_for == since else self._deadline
        out.append(Detection(
            "inactivity", at, evidence={
                "hours_inactive": round((at - since) / 3600.0, 3),
                "timer_hours": self.settings.hours,
                "windowed": 1.0 if self.windows else 0.0,
                "last_activity": since,
            }))

    # --- persistence -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"version": 1, "home": self.home.state(), "first": self._first,
                "alarmed_for": self._alarmed_for, "now": self._now}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            return
        self.home.restore(state.get("home", {}))
        self._first = state.get("first")
        self._alarmed_for = state.get("alarmed_for")
        self._resumed_at = state.get("now")
