"""What counts as "someone is active" and "someone is home": one definition for every
routine detector (inactivity, not-up, dwell, night door, daily summary).

Why shared: if the inactivity timer and the night-door rule disagreed about whether a
radar's still presence is activity, carers would get alarms that contradict each other.

Activity (resets timers): a PIR motion start, a door or window contact change, a button
press, a radar target moving faster than `moving_speed`, a radar presence report that
says "moving", a radar point cloud with moving points, a wearable block whose
acceleration magnitude varies more than `accel_std_g`.
Not activity: heart rate, battery, link, availability, a radar's *still* presence (an
unconscious person on the floor is still present), a PIR's "motion ended".

Home evidence (someone inside, for the away rule): inside activity, or a radar that
currently sees a target or reports presence.

Away: the last outer-door event came after the last *home evidence* and no radar sees
anyone now. Outer doors are contact sensors whose SensorMeta.role is one of OUTER_ROLES or
whose id is listed in the detector's settings. A motion sensor with such a role (the
entrance PIR) stands in for the door in a home that has shown no outer-door contact yet
(CASAS homes often have only motion sensors).

Home evidence is what real homes taught (a week of WSU CASAS home tm000, days away): an
empty home is not silent. PIRs fire alone now and then (sunlight, heating; one every few
hours while nobody was in), and the entrance PIR often fires just after the door closes
behind someone leaving. So after the door, inside activity is evidence of someone home
when it is
- any activity within RETURN_S of a door event that ended an away of ten minutes or more
  (someone came in), or within RETURN_S of the door in a room other than the entrance;
- otherwise a little burst: two different sensors, or three activations of one, within
  CONFIRM_S. A lone trigger in an empty flat does not end the away; entrance activity
  within DOOR_GRACE_S of the door is the resident leaving.

One tracker per home, shared: every routine detector asks the same questions of the same
readings, and a home's radars send 1.7 million frames a day, so each distinct tracker
(outer doors, speeds) is updated once per reading, not once per detector. The pipeline owns
a `HomeTrackers` (detectors/home_views.py) and hands it to every detector (`Detector.homes`); a detector takes a
`HomeView` of it (`homes.view(outer_doors, ...)`) and walks a batch with `view.seen(...)`,
which yields each reading with what it was ("door", "inside", "present", None) and keeps
the view's `away`, `present_now` and `last_activity` as they were right after that reading.
The pipeline calls `homes.track(readings)` once per batch before the detectors' `feed`; a
detector built alone (a test, a notebook) gets a pool of its own that tracks as it goes.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Iterable, Mapping

import numpy as np
from pydantic import Field

from detectors.magnitude import magnitude_std
from sensordata.readings import (
    AccelBlock,
    Button,
    Contact,
    Motion,
    Presence,
    RadarPoints,
    RadarTargets,
    end_time,
)

OUTER_ROLES = frozenset({"outer_door", "front_door", "entrance", "exit"})
DOOR_GRACE_S = 120.0    # the entrance PIR seeing the resident leave after the door closed
RETURN_S = 300.0        # activity this soon after a door event is someone at home
AWAY_MIN_S = 600.0      # a door event after this long away is a return
STALE_PRESENCE_S = 20 * 3600.0   # presence unchanged this long is a stuck sensor (sensor_stuck)
CONFIRM_S = 600.0       # a burst: two sensors, or three activations, within this time
UNWATCHED_S = 12 * 3600.0   # off this long (a restart's gap), the resident may have left meanwhile


#: Settings field: contact sensors that are outer doors, besides those with role "outer_door".
OuterDoors = Annotated[list[str], Field(
    default_factory=list, title="Contact sensors that are outer doors (besides role = outer_door)")]


class HomeTracker:
    """Keeps the last activity time, the last outer-door time and current presence."""

    __slots__ = ("sensors", "outer_doors", "moving_speed", "accel_std_g", "last_activity",
                 "last_inside", "last_door", "last_home", "_present", "_door_contact",
                 "_entry_rooms", "_return", "_recent", "_now", "_pmax", "_src", "_items",
                 "_busy", "views", "_rooms", "_resumed_from")

    def __init__(self, sensors: Mapping[str, Any], outer_doors: Iterable[str] = (),
                 moving_speed: float = 0.15, accel_std_g: float = 0.03) -> None:
        self.sensors = sensors
        self.outer_doors = frozenset(outer_doors) | frozenset(
            sid for sid, m in sensors.items() if getattr(m, "role", None) in OUTER_ROLES)
        self.moving_speed = moving_speed
        self.accel_std_g = accel_std_g
        self.last_activity: float | None = None   # any activity, outer door included
        self.last_inside: float | None = None     # activity or presence inside the home
        self.last_door: float | None = None       # last outer-door change
        self.last_home: float | None = None       # last evidence that someone is home
        self._present: dict[str, float] = {}      # presence sensor seeing someone -> since
        self._now = float("-inf")                 # latest reading time
        self._door_contact = False                # an outer-door contact has reported
        self._entry_rooms = frozenset(getattr(sensors.get(s), "room", None)
                                      for s in self.outer_doors) - {None}
        self._return = False                      # the last door event ended an away
        self._recent: list[tuple[float, str]] = []  # unconfirmed activity after the door
        self._pmax = -math.inf                    # the latest `since` in _present
        self._src: Iterable[Any] | None = None    # the batch `track` was last given ...
        self._items: list[Seen] = []              # ... and what it saw in it
        self._busy: list[tuple[Seen | None, float, int]] = []  # ... and its busy items
        self.views = 0                            # detectors reading this tracker
        self._rooms: dict[str, str | None] = {     # sensor -> its room (asked per reading)
            sid: getattr(m, "room", None) for sid, m in sensors.items()}
        self._resumed_from: float | None = None   # sensor time saved before a restart

    def room(self, sensor: str) -> str | None:
        return self._rooms.get(sensor)

    def is_outer_door(self, r: Any) -> bool:
        return isinstance(r, Contact) and r.sensor in self.outer_doors

    def update(self, r: Any) -> str | None:
        """Account for one reading. Returns "door" for an outer-door change, "inside" for
        inside activity, "present" for presence without movement, else None. (Radar frames
        take a short path first: the same rule as `_classify`, without its other checks.)"""
        if isinstance(r, RadarTargets):  # most of a home's readings: radars at 10 Hz
            rt: float = r.t
            if self._resumed_from is not None:
                self._resume(rt)
            if rt > self._now:
                self._now = rt
            seen = self._radar(r)
            if seen == "inside":
                self.last_activity = _later(self.last_activity, rt)
                self.last_inside = _later(self.last_inside, rt)
                self._evidence(r.sensor, rt)
            elif seen == "present":
                self.last_inside = _later(self.last_inside, rt)
                self.last_home = _later(self.last_home, rt)
            return seen
        t = end_time(r)
        if t is None:
            return None
        if self._resumed_from is not None:
            self._resume(t)
        self._now = max(self._now, t)
        if isinstance(r, Contact) and r.sensor in self.outer_doors:
            self._door_contact = True
            self._door(t)
            self.last_activity = _later(self.last_activity, t)
            return "door"
        what = self._classify(r)
        if what == "inside":
            self.last_activity = _later(self.last_activity, t)
            self.last_inside = _later(self.last_inside, t)
            if isinstance(r, Motion) and not self._door_contact and r.sensor in self.outer_doors:
                self._door(t)      # the entrance PIR stands in for a door the home lacks
            else:
                self._evidence(r.sensor, t)
        elif what == "present":
            self.last_inside = _later(self.last_inside, t)
            self.last_home = _later(self.last_home, t)
        return what

    def _resume(self, t: float) -> None:
        """The first reading after a restart. After UNWATCHED_S or more off (a logger
        outage in an imported log, a gateway unplugged), nobody knows whether the resident
        left meanwhile: the home is read as if the door had gone when watching stopped, so
        a lone trigger does not make it occupied and a burst of activity does (as after
        the door). A short restart keeps who was home."""
        off_from, self._resumed_from = self._resumed_from, None
        if off_from is None or t - off_from < UNWATCHED_S:
            return
        door = max(off_from, self.last_home if self.last_home is not None else off_from)
        self.last_door = _later(self.last_door, door + 1e-3)
        self._return = False
        self._recent.clear()

    def _door(self, t: float) -> None:
        prev = self.last_door
        self._return = self.away and (prev is None or t - prev >= AWAY_MIN_S or self._return)
        self.last_door = _later(self.last_door, t)
        self._recent.clear()

    def _evidence(self, sensor: str, t: float) -> None:
        """Is this inside activity evidence that someone is home? (module docstring)"""
        door = self.last_door
        if door is None or (self.last_home is not None and self.last_home >= door):
            self.last_home = _later(self.last_home, t)
            return
        since = t - door
        entry = self.room(sensor) in self._entry_rooms
        if since <= RETURN_S and (self._return or not entry):
            self.last_home = _later(self.last_home, t)
            return
        if entry and since <= DOOR_GRACE_S:
            return
        self._recent = [(s_t, s) for s_t, s in self._recent if t - s_t <= CONFIRM_S]
        self._recent.append((t, sensor))
        if len(self._recent) >= 3 or len({s for _, s in self._recent}) >= 2:
            self.last_home = _later(self.last_home, t)
            self._recent.clear()

    def _classify(self, r: Any) -> str | None:
        if isinstance(r, Motion):
            return "inside" if r.active else None
        if isinstance(r, (Contact, Button)):
            return "inside"
        if isinstance(r, Presence):
            self._seen(r.sensor, bool(r.present), r.t)
            if r.present and r.moving:
                return "inside"
            return "present" if r.present else None
        if isinstance(r, RadarTargets):
            return self._radar(r)
        if isinstance(r, RadarPoints):
            p = r.points
            if len(p) >= 3 and int(np.count_nonzero(np.abs(p[:, 3]) >= self.moving_speed)) >= 3:
                return "inside"
            return None
        if isinstance(r, AccelBlock):
            return "inside" if accel_moving(r.xyz, self.accel_std_g) else None
        return None

    def _radar(self, r: RadarTargets) -> str | None:
        targets = r.targets
        if not targets:
            if self._present.pop(r.sensor, None) is not None:
                self._pmax = max(self._present.values(), default=-math.inf)
            return None
        if r.sensor not in self._present:   # as _seen(), inline: every radar frame comes here
            self._present[r.sensor] = r.t
            if r.t > self._pmax:
                self._pmax = r.t
        v2 = self.moving_speed ** 2
        for g in targets:
            if g.vx * g.vx + g.vy * g.vy + g.vz * g.vz >= v2:
                return "inside"
        return "present"

    def _seen(self, sensor: str, present: bool, t: float) -> None:
        if not present:
            if self._present.pop(sensor, None) is not None:
                self._pmax = max(self._present.values(), default=-math.inf)
        elif sensor not in self._present:
            self._present[sensor] = t
            if t > self._pmax:
                self._pmax = t

    @property
    def present_now(self) -> bool:
        """A presence sensor or radar sees someone now (and has not for 20 h unchanged:
        that is a stuck sensor, not a resident). The latest `since` decides: any sensor is
        fresh exactly when the freshest one is."""
        return self._now - self._pmax < STALE_PRESENCE_S

    @property
    def away(self) -> bool:
        """Door, then no evidence of anyone inside, and no radar sees anyone: out."""
        if self.last_door is None or self.present_now:
            return False
        return self.last_home is None or self.last_door > self.last_home

    # --- shared by a home's detectors ----------------------------------------------------
    def track(self, readings: Iterable[Any]) -> list[Seen]:
        """Update with every reading of a batch, once: each reading that has a time, with
        it, what it was (`update`), and `away` and `present_now` right after it. The
        result is kept until the next call, for every view of this tracker to read.

        Kept with it: every item but the radar frames that saw nobody, as (the item, the
        latest time of the empty frames since the one before, -inf if none, inf if one
        had no time, the index after the item), and (None, the same for the empty frames
        after the last, the number of items); `HomeView.seen` steps over those frames with
        it."""
        items: list[Seen] = []
        add = items.append
        busy: list[tuple[Seen | None, float, int]] = []
        note = busy.append
        ninf = -math.inf
        gap = ninf
        update = self.update
        stale = STALE_PRESENCE_S
        present_d = self._present
        v2 = self.moving_speed ** 2
        # `_now` and `_pmax` live in locals through the loop (two attribute reads and writes
        # fewer per reading, 1.9 million a day): stored back around `update`, which reads
        # and moves them, and at the end, also when a reading raises (not over what a
        # failing `update` left: `inside` says which of the two is current)
        now, pmax = self._now, self._pmax
        inside = False
        try:
            for r in readings:
                what: str | None
                if isinstance(r, RadarTargets):
                    # most of a home's readings (radars at 10 Hz): `update` and `_radar`, inline
                    t = r.t
                    if t > now:
                        now = t
                    targets = r.targets
                    if not targets:
                        if present_d.pop(r.sensor, None) is not None:
                            pmax = max(present_d.values(), default=-math.inf)
                        present = now - pmax < stale
                        door = self.last_door
                        home = self.last_home
                        add((r, t, None, door is not None and not present
                             and (home is None or door > home), present))
                        if t > gap:
                            gap = t
                        elif t != t:
                            gap = math.inf   # NaN: no step over it
                        continue
                    else:
                        sensor = r.sensor
                        if sensor not in present_d:
                            present_d[sensor] = t
                            if t > pmax:
                                pmax = t
                        what = "present"
                        for g in targets:
                            if g.vx * g.vx + g.vy * g.vy + g.vz * g.vz >= v2:
                                what = "inside"
                                break
                        last = self.last_inside
                        if last is None or t > last:
                            self.last_inside = t
                        if what == "inside":
                            last = self.last_activity
                            if last is None or t > last:
                                self.last_activity = t
                            self._evidence(sensor, t)
                        else:
                            last = self.last_home
                            if last is None or t > last:
                                self.last_home = t
                else:
                    # the time as TimedDetector.timed takes it (an empty block has none)
                    at = end_time(r) if isinstance(r, AccelBlock) else r.t
                    if at is None:
                        continue
                    t = at
                    self._now, self._pmax = now, pmax
                    inside = True
                    what = update(r)
                    inside = False
                    now, pmax = self._now, self._pmax
                present = now - pmax < stale
                door = self.last_door
                home = self.last_home
                seen = (r, t, what, door is not None and not present and (home is None or door > home),
                        present)
                add(seen)
                note((seen, gap, len(items)))
                gap = ninf
        finally:
            if not inside:
                self._now, self._pmax = now, pmax
        note((None, gap, len(items)))   # the empty frames after the last busy item
        self._src, self._items, self._busy = readings, items, busy
        return items

    def items(self, readings: Iterable[Any]) -> list[Seen]:
        """What `track` saw in this batch: tracked already by the pool (the pipeline), else
        now, which only a tracker with a single reader may do (or it would count twice)."""
        if readings is self._src:
            return self._items
        if self.views > 1:
            raise RuntimeError("a home tracker shared by several detectors is fed by its pool: "
                               "call HomeTrackers.track(readings) before the detectors' feed")
        return self.track(readings)

    def release(self) -> None:
        self._src, self._items, self._busy = None, [], []

    def state(self) -> dict[str, Any]:
        return {"last_activity": self.last_activity, "last_inside": self.last_inside,
                "last_door": self.last_door, "last_home": self.last_home,
                "door_contact": self._door_contact,
                "now": self._now if self._now > -math.inf else None}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.last_activity = state.get("last_activity")
        self.last_inside = state.get("last_inside")
        self.last_door = state.get("last_door")
        self.last_home = state.get("last_home", self.last_inside)
        self._door_contact = bool(state.get("door_contact", False))
        now = state.get("now")
        self._resumed_from = float(now) if now is not None else None
        if self._resumed_from is not None:
            self._now = max(self._now, self._resumed_from)


#: One reading as a tracker saw it: (reading, time, what, away after it, present after it).
Seen = tuple[Any, float, str | None, bool, bool]


def accel_moving(xyz: np.ndarray, std_g: float) -> bool:
    """Does the magnitude of a block of acceleration samples vary like a moving body?"""
    if len(xyz) < 2:
        return False
    return magnitude_std(xyz) > std_g


def _later(a: float | None, b: float) -> float:
    return b if a is None or b > a else a
