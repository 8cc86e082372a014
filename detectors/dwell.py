"""Dwell: the resident has been in one room (the bathroom, typically) far longer than usual.

Why: a fall in the bathroom is common and often silent: the PIR there saw the person come
in and then nothing moves, while the rest of the home stays quiet. A stay is the time from
the first activity in the room (after activity elsewhere) until activity in another room,
an outer-door change, or a presence sensor in that room reporting nobody there.

The limit for a room is its fixed `limits_minutes` entry. Once `min_visits` stays have been
seen in that room, the limit tightens to `learn_factor` x the 95th percentile of the recent
stays (and at least 1.5 x the longest of them, so the weekly long bath stays normal), never
below `min_minutes` and never above the fixed limit: "far longer than usual"
for this resident, while the fixed limit stays the safety net. A learned limit alarms only
once the room has also been still for 10 min (a real home's 30-minute shower with the
PIR firing throughout is no collapse); while the home is away (a lone trigger in an empty
flat, detectors/activity.py) no stay alarms. Recent stays (at most
`keep_visits` per room) are the persistent state.

A stay needs someone to have gone in: activity elsewhere (or the outer door) within
WALK_IN_S before its first activity, or a second activation in the room, or a presence
sensor there seeing someone. A lone trigger with neither (a PIR that fires by itself at
night from the heating, or sees the sleeper through the bathroom door: several a month
in a real flat) is no stay: a month of generated CASAS nights with such a trigger on a
third of them gave ~2 `dwell_exceeded` a month without this. Someone who collapses in
the bathroom walked into it past a sensor, or moved in it before falling; a person the
home saw nowhere before one single trigger is left to the inactivity timer.

A door contact whose SensorMeta.room is the watched room never starts a stay (someone at
the door is not necessarily inside) and, a minute or more into a stay, ends it: people
open the bathroom door to leave, and may go on to a room with no sensor (a bedroom
without a PIR), which would otherwise look exactly like a collapse in the bathroom every
night. The price: someone who opens the door and then collapses inside is left to the
inactivity timer; `door_ends_stay = false` chooses the other way. A stay needs a motion
or presence sensor in the room to begin.

Only rooms named in `limits_minutes` are watched; room names are the config's room ids,
read from each sensor's SensorMeta.room. One alarm per stay; `tick(now)` lets the gateway
advance time when nothing arrives (exactly the situation this detector is for).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
from pydantic import Field

from detectors.activity import OuterDoors
from detectors.base import Detection, DetectorSettings, TimedDetector
from sensordata.readings import Contact, Presence

QUIET_S = 600.0         # a learned limit alarms only once the room has been still this long
DOOR_MIN_STAY_S = 60.0  # a room door closing behind someone entering does not end the stay
RESUME_GAP_S = 900.0    # a restart after a longer outage restarts the stay's clock
WALK_IN_S = 120.0       # activity elsewhere this soon before a stay is someone walking in


class DwellSettings(DetectorSettings):
    limits_minutes: dict[str, float] = Field(
        default_factory=lambda: {"bathroom": 60.0},
        title="Rooms to watch and the fixed longest stay in each (minutes)")
    learn: bool = Field(True, title="Tighten the limit from this resident's own stays")
    min_visits: int = Field(20, ge=5, title="Stays seen in a room before its limit is learned")
    keep_visits: int = Field(60, ge=5, le=500, title="Most recent stays kept per room")
    learn_factor: float = Field(3.0, ge=1.5, title="Learned limit = this x the 95th percentile of stays")
    min_minutes: float = Field(30.0, gt=0, title="A learned limit is never shorter than this (minutes)")
    door_ends_stay: bool = Field(True, title="A door contact of the room, a minute into a stay, ends it")
    outer_doors: OuterDoors


class DwellDetector(TimedDetector[DwellSettings]):
    name = "dwell"
    Settings = DwellSettings

    def setup(self) -> None:
        settings = self.settings
        self.home = self.homes.view(settings.outer_doors)
        self.visits: dict[str, list[float]] = {r: [] for r in settings.limits_minutes}
        self._room: str | None = None     # where the last inside activity was
        self._enter = 0.0                 # when the current stay began
        self._room_last = 0.0             # last activity in the room of the current stay
        self._limit = float("inf")        # current stay's limit in seconds
        self._alarmed = False
        self._now = float("-inf")
        self._limits: dict[str, float] = {}   # learned limits, recomputed when a stay ends
        self._resumed_at: float | None = None  # sensor time saved by state(), after restore
        self._last_other = float("-inf")   # last activity outside the current stay's room
        self._someone = True               # the stay has evidence that someone went in
        self._hits = 0                     # activations in the room during the stay

    def limit_minutes(self, room: str) -> float:
        cached = self._limits.get(room)
        if cached is None:
            cached = self._limits[room] = self._limit_minutes(room)
        return cached

    def _limit_minutes(self, room: str) -> float:
        fixed = self.settings.limits_minutes.get(room, float("inf"))
        seen = self.visits.get(room, [])
        if not self.settings.learn or len(seen) < self.settings.min_visits:
            return fixed
        ordered = sorted(seen)                                   # a few dozen numbers
        p95 = ordered[int(0.95 * (len(ordered) - 1) + 0.5)]
        # The weekly long bath must not become an alarm: never under 1.5 x the longest stay.
        learned = max(self.settings.learn_factor * p95, 1.5 * ordered[-1]) / 60.0
        return min(fixed, max(self.settings.min_minutes, learned))

    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        # a radar frame that saw nobody changes nothing here but the time
        for r, t, what in self.home.seen(readings, self._advance, out, empty_radar=False,
                                         due=self.next_due):
            if what == "door":
                self._leave(t)
                self._last_other = t
                continue
            room = self.home.room(r.sensor)
            if room is None:
                continue
            if isinstance(r, Contact) and room in self.visits:
                # A room's own door says someone is at the door, not inside: it never starts
                # a stay, and once the stay is a minute old it ends it (opened to leave).
                if room == self._room and self.settings.door_ends_stay \
                        and t - self._enter >= DOOR_MIN_STAY_S:
                    self._leave(t)
                self._last_other = t   # a hand on the door: someone walking in (or out)
                continue
            if what == "inside" and room != self._room:
                last_other = self._room_last if self._room is not None else self._last_other
                self._leave(t)
                self._last_other = max(self._last_other, last_other)
                self._room, self._enter, self._alarmed = room, t, False
                self._limit = self.limit_minutes(room) * 60.0
                self._someone, self._hits = t - self._last_other <= WALK_IN_S, 0
            if what in ("inside", "present") and room == self._room:
                self._room_last = max(self._room_last, t)
                self._hits += what == "inside"
                self._someone = self._someone or self._hits >= 2 or what == "present"
            elif room == self._room and isinstance(r, Presence) and not r.present:
                self._leave(t)
        return out

    def tick(self, now: float) -> list[Detection]:
        """Advance sensor time to `now` without a reading (the live gateway's clock)."""
        out: list[Detection] = []
        self._advance(now, out)
        return out

    def _leave(self, t: float) -> None:
        room = self._room
        if room is not None and room in self.visits and t >= self._enter and not self._alarmed \
                and self._someone:   # a lone trigger is not the resident's habit either
            # A stay that raised the alarm is an incident, not the resident's habit.
            seen = self.visits[room]
            seen.append(round(t - self._enter, 1))
            del seen[:-self.settings.keep_visits]
            self._limits.pop(room, None)
        self._room = None
        self._limit = float("inf")

    def next_due(self) -> float:
        """The stay's limit (a second early: `_advance` tests `t - enter`, not `enter +
        limit`, and the two may round apart); right away after a restore, which restarts
        the stay's clock at the first time it sees."""
        if self._resumed_at is not None:
            return -float("inf")
        if self._alarmed:
            return float("inf")
        return self._enter + self._limit - 1.0

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        if self._resumed_at is not None:
            if t - self._resumed_at > RESUME_GAP_S and self._room is not None:
                # Restored after a long outage: nobody watched, the stay's length is unknown,
                # so it is counted again from here rather than alarmed at once. (A silent home
                # without a restart is exactly what dwell is for: no reset there.)
                self._enter = t
            self._resumed_at = None
        self._now = t
        if self._alarmed or t - self._enter < self._limit:
            return
        at = self._enter + self._limit
        fixed = self.settings.limits_minutes.get(self._room or "", float("inf")) * 60.0
        if self._limit < fixed:
            # Longer than usual, but still moving in there (a long shower): a learned limit
            # waits until the room has been still for QUIET_S; the fixed limit never waits.
            at = max(at, min(self._room_last + QUIET_S, self._enter + fixed))
            if t < at:
                return
        if self.home.away:
            return   # a lone trigger in an empty home is no stay (detectors/activity.py)
        if not self._someone:
            return   # nobody was seen going in: a PIR that fired by itself (docstring)
        self._alarmed = True
        seen = self.visits.get(self._room or "", [])
        out.append(Detection("dwell_exceeded", at, room=self._room, evidence={
            "minutes": round((at - self._enter) / 60.0, 1),
            "limit_minutes": round(self._limit / 60.0, 1),
            "usual_minutes": round(float(np.median(seen)) / 60.0, 1) if seen else -1.0,
            "stays_learned": float(len(seen)),
        }))

    def state(self) -> dict[str, Any]:
        return {"version": 1, "visits": {r: list(v) for r, v in self.visits.items()},
                "room": self._room, "enter": self._enter, "alarmed": self._alarmed,
                "now": self._now if self._now > float("-inf") else None}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != 1:
            return
        for room, seen in state.get("visits", {}).items():
            if room in self.visits:
                self.visits[room] = [float(x) for x in seen][-self.settings.keep_visits:]
        self._limits.clear()
        room = state.get("room")
        if room in self.visits:
            self._room, self._enter = room, float(state.get("enter", 0.0))
            self._alarmed = bool(state.get("alarmed", False))
            self._limit = self.limit_minutes(room) * 60.0
        self._resumed_at = state.get("now")
