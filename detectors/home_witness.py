"""The home as a second witness of a worn sensor's suspected fall.

Why: a wrist sees an impact, not what happens next in the home. Within the cancel window
the home's own sensors often know: the wearer walking into the kitchen sets off its
motion sensor, opens an inner door, or shows up on a radar standing; someone who fell
lies low on the radar of the room they were in. So, for a `fall_suspected` from a worn
sensor (placements in `placements`, the wrist by default), the gateway asks this object,
as sensor time passes, whether the home has cancelled or confirmed it. Pure streaming
code: readings and detections in, verdicts out; time only from the readings.

The rules (docs/detection.md "The home as a second witness" has them as a table):

rule: evidence, after the impact at t0 -> verdict (needs)

- motion_elsewhere: a motion sensor in another room than the wearer's starts, at least
  `min_travel_s` after t0 -> cancel (residents = 1, pets = false)
- inner_door: an inner door contact (not `outer_door`) in another room opens, at least
  `min_travel_s` after t0 -> cancel (residents = 1)
- radar_up: a radar (any room) tracks someone with the top >= `up_m` and nobody low for
  `up_s`, counted from t0 + `settle_s`, walking at least `up_walk_m` meanwhile -> cancel
  (residents = 1)
- radar_low: a radar (any room) saw someone >= `up_m` and then <= `low_m` within
  `descent_s` of t0, still low (or lost by the tracker) `low_s` later -> confirm: the
  `fall` alarm at once
- presence_still: a presence sensor in the wearer's room reports someone present and not
  moving for `still_s` after t0 -> confirm: the `fall` alarm at once

What blocks every cancel (the safe side): the number of residents not configured as 1;
the wearer's room unknown (nothing in the home placed the wearer within `place_fresh_s`
before t0); any radar having seen a descent at the impact; a radar's (or any room-bound
sensor's) own `fall_suspected` in the same window; the outer door opened within
`visitor_block_s` before t0 or since (a visitor is not the wearer, and a visitor coming
in must never cancel the fall they find). Confirmations need no resident count: someone
low on the floor at the moment of the impact is an emergency whoever it is.

Why each number: `min_travel_s` because nobody walks to another room in under 3 s and a
motion sensor's report of movement from before the fall arrives late (Zigbee PIRs send
occupancy with up to a second or two of latency); a motion sensor in its hold time
(typically 60-90 s) reports nothing new, which can only cost a cancel, never cause one.
`settle_s` because a tracker reports the standing height of the moments before a fall
for a frame or two. `low_s` is the radar fall detector's own confirmation time. The
earliest of a cancel and a confirmation wins; at the same instant the confirmation does.
The wearer's room is the room of the home's latest sign of someone moving about (a motion
sensor starting, a door, a radar target walking, a presence sensor's moving target) at
or before t0 (+1 s of sensor latency), measured from the readings themselves, so a batch
that also holds the minutes after the fall cannot move it. Still radar or presence
targets never place anyone, and standing on a radar cancels only while walking: a static
reflection or ghost track must not make a room "the wearer's", or a fall elsewhere
"someone up and about".
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detection, SensorMeta

OUTER_ROLES = frozenset({"outer_door", "front_door", "entrance", "exit"})
Worn = Literal["wrist", "waist", "chest", "pendant", "ankle", "pocket"]
HISTORY_S = 180.0      # readings kept: the longest window looked back over (place + window)
PLACE_LATENCY_S = 1.0  # activity this soon after t0 still places the wearer at t0
KINDS = frozenset({"motion", "contact", "radar_targets", "presence"})
WALK_MPS = 0.15        # a radar target this fast is someone moving about, not a reflection


class HomeWitnessSettings(BaseModel):
    """`[detectors.fusion.home_witness]`: the home's sensors confirming or cancelling a
    worn sensor's suspected fall (see the table in detectors/home_witness.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = Field(True, title="Let the home's sensors confirm (and, with residents = 1, "
                                      "cancel) a worn sensor's suspected fall")
    residents: int | None = Field(
        None, ge=1, le=20, title="People living in the home; cancels only when exactly 1 "
                                 "(unknown: confirmations only)")
    pets: bool = Field(True, title="A pet may move about: motion sensors then do not cancel "
                                   "(radar heights and doors still do)")
    placements: list[Worn] = Field(default_factory=lambda: list[Worn](["wrist"]),
                                   title="Worn placements whose suspected falls the home witnesses")
    confirm: bool = Field(True, title="A radar or presence sensor may confirm a fall early")
    min_travel_s: float = Field(3.0, ge=0, le=60, title="Evidence in another room counts only "
                                                        "this long after the impact (s)")
    place_fresh_s: float = Field(60.0, gt=0, le=600, title="The wearer's room is known only from "
                                                           "activity this recent before the impact (s)")
    visitor_block_s: float = Field(600.0, ge=0, le=7200, title="No cancels when the outer door "
                                                               "opened this long before the impact or since (s)")
    up_m: float = Field(1.0, gt=0, le=2.5, title="Radar: a top at least this high is standing (m)")
    up_s: float = Field(3.0, gt=0, le=30, title="Radar: seconds standing that cancel")
    up_walk_m: float = Field(0.5, ge=0, le=5, title="Radar: ... while walking at least this far "
                                                    "(a ghost track stands still) (m)")
    settle_s: float = Field(2.0, ge=0, le=10, title="Radar: frames this soon after the impact "
                                                    "are not counted as standing (s)")
    low_m: float = Field(0.6, gt=0, le=1.5, title="Radar: a top at most this high is on the floor (m)")
    low_s: float = Field(5.0, gt=0, le=60, title="Radar: seconds low that confirm")
    descent_s: float = Field(4.0, gt=0, le=15, title="Radar: the descent must be this close "
                                                     "to the impact (s)")
    still_s: float = Field(15.0, gt=0, le=120, title="Presence: seconds present and still "
                                                     "that confirm")


@dataclass(frozen=True, slots=True)
class _Seen:
    """One reading the witness cares about, reduced to what its rules look at."""
    t: float
    sensor: str
    room: str | None
    what: Literal["motion", "door", "radar", "presence"]
    on: bool                  # motion started / door opened / radar tracks someone / present
    lo: float = math.nan      # radar: lowest top of a tracked person (m)
    hi: float = math.nan      # radar: highest top (m)
    moving: bool | None = None  # presence: a moving target; radar: someone walking
    x: float = math.nan       # radar: where the highest target is (m, the radar's frame)
    y: float = math.nan

    @property
    def active(self) -> bool:
        """A sign of someone moving about: what places the wearer in a room. A radar's or
        presence sensor's still target is not (a static reflection, a ghost track)."""
        return self.on and (self.what not in ("radar", "presence") or bool(self.moving))


@dataclass
class _Watch:
    """One window being judged. Readings are judged once each, in time order, as `upto`
    passes them (`pending` holds the ones not reached yet), so a verdict costs the new
    readings, not the whole window again."""
    key: str
    t0: float
    sensor: str | None
    room: str | None
    placed_by: str | None
    radar_joined: bool = False
    pending: list[_Seen] = field(default_factory=list)
    radars: dict[str, "_Radar"] = field(default_factory=dict)
    still: tuple[float, str] | None = None    # (since, presence sensor)
    descent_seen: bool = False


@dataclass
class _Radar:
    """Per radar, while judging one window."""
    before_up: float | None = None   # last standing frame before the descent
    low_at: float | None = None      # start of a low run that followed standing
    low_broken: bool = False
    up_since: float | None = None
    up_from: tuple[float, float] = (math.nan, math.nan)   # where the standing run began
    up_moved: float = 0.0                                 # farthest from there (m)


class HomeWitness:
    Settings = HomeWitnessSettings

    def __init__(self, settings: HomeWitnessSettings | None = None,
                 sensors: Mapping[str, SensorMeta] | None = None) -> None:
        self.s = settings or HomeWitnessSettings()
        self.sensors = dict(sensors or {})
        # Raw readings, reduced to `_Seen` only when a rule looks at them (a fall to place,
        # a window to judge): the home's radars send 1.7 million frames a day, and almost
        # none of them is ever looked at (replay spent 15 % of its time reducing them).
        self._seen: deque[Any] = deque()
        self._outer = frozenset(sid for sid, m in self.sensors.items()
                                if (m.role or "") in OUTER_ROLES)
        self._outer_opened: deque[float] = deque()
        self._newest = -math.inf
        self._watch: _Watch | None = None

    # --- readings ----------------------------------------------------------------------
    def observe(self, readings: Iterable[Any]) -> None:
        """Remember the readings the rules look at (any order within a batch)."""
        if not self.s.enabled:
            return
        keep, outer, newest = self._seen.append, self._outer, self._newest
        watch = self._watch
        since = watch.t0 - self.s.descent_s - 1.0 if watch is not None else math.inf
        for r in readings:
            kind = getattr(r, "kind", None)
            if kind not in KINDS:
                continue   # samples, heart rate, batteries: nothing the rules look at
            if kind == "contact" and r.sensor in outer:
                if r.open:
                    self._outer_opened.append(float(r.t))
                continue
            keep(r)
            t = r.t
            if t > newest:
                newest = t
            if t >= since:
                watch.pending.append(self._reduce(r))  # type: ignore[union-attr]
        self._newest = newest
        horizon = self._newest - max(HISTORY_S, self.s.place_fresh_s + 120.0)
        while self._seen and self._seen[0].t < horizon:
            self._seen.popleft()
        while self._outer_opened and self._outer_opened[0] < self._newest - self.s.visitor_block_s - 600:
            self._outer_opened.popleft()

    def _reduce(self, r: Any) -> _Seen:
        """A kept reading (motion, inner door, radar, presence) as the rules see it."""
        kind = r.kind
        meta = self.sensors.get(r.sensor)
        room = meta.room if meta is not None else None
        if kind == "motion":
            return _Seen(r.t, r.sensor, room, "motion", bool(r.active))
        if kind == "contact":
            return _Seen(r.t, r.sensor, room, "door", bool(r.open))
        if kind == "radar_targets":
            if not r.targets:
                return _Seen(r.t, r.sensor, room, "radar", False)
            tops = [g.height if g.height is not None else g.z for g in r.targets]
            top = r.targets[tops.index(max(tops))]
            walking = any(math.hypot(g.vx, g.vy) >= WALK_MPS for g in r.targets)
            return _Seen(r.t, r.sensor, room, "radar", True, min(tops), max(tops), walking,
                         float(top.x), float(top.y))
        return _Seen(r.t, r.sensor, room, "presence", bool(r.present), moving=r.moving)

    # --- the cancel window -----------------------------------------------------------
    def watches(self, det: Detection) -> bool:
        """Is this suspected fall one the home witnesses (a worn sensor's, in `placements`)?"""
        meta = self.sensors.get(det.sensor or "")
        return (self.s.enabled and meta is not None and meta.room is None
                and (meta.placement or "") in self.s.placements)

    def suspected(self, key: str, det: Detection, first: bool) -> None:
        """A `fall_suspected` was handled by the window `key` (`first`: it opened it)."""
        if first or (self._watch is None or self._watch.key != key) and self.watches(det):
            # a window opened by a room-bound sensor (a radar saw the fall first) and joined
            # by the worn one is watched too, from the worn sensor's impact: the radar can
            # confirm it early, nothing from the home can cancel it
            self._watch = None
            if self.watches(det):
                room, by = self._place(det.occurred_at)
                t0 = det.occurred_at
                self._watch = _Watch(key, t0, det.sensor, room, by, radar_joined=not first,
                                     pending=[self._reduce(r) for r in self._seen
                                              if r.t >= t0 - self.s.descent_s - 1.0])
        elif self._watch is not None and self._watch.key == key and det.sensor != self._watch.sensor:
            # Another sensor's fall in the same window: a radar or a fall-flag module saw
            # it (a room-bound witness). A cancel from the home must not overrule that.
            meta = self.sensors.get(det.sensor or "")
            bound = meta.room is not None if meta is not None else \
                det.room is not None and not det.evidence.get("room_inferred")
            if bound:
                self._watch.radar_joined = True

    def verdict(self, key: str | None, upto: float) -> Detection | None:
        """The home's verdict on window `key` from the readings up to sensor time `upto`:
        a `fall_cancelled` or `fall_confirmed` detection (dated at its evidence), or None."""
        w = self._watch
        if w is None or key != w.key:
            self._watch = None   # that window ended (alarm, cancel) or was never watched
            return None
        out = self._judge(w, upto)
        if out is not None:
            self._watch = None
        return out

    # --- internals ---------------------------------------------------------------------
    def place(self, t: float) -> tuple[str, str, float] | None:
        """Where the home last saw activity at or before sensor time t (+ latency), if
        within `place_fresh_s`: (room, sensor, seconds before t), else None."""
        if not self.s.enabled:
            return None
        best: _Seen | None = None
        for r in self._seen:
            if r.t > t + PLACE_LATENCY_S or r.t < t - self.s.place_fresh_s:
                continue
            x = self._reduce(r)
            if x.room is None or not x.active:
                continue
            if best is None or x.t >= best.t:
                best = x
        return None if best is None else (best.room or "", best.sensor, max(0.0, t - best.t))

    def _place(self, t0: float) -> tuple[str | None, str | None]:
        where = self.place(t0)
        return (where[0], where[1]) if where is not None else (None, None)

    def _cancels_allowed(self, w: _Watch, t: float) -> bool:
        s = self.s
        if s.residents != 1 or w.room is None or w.radar_joined:
            return False
        return not any(w.t0 - s.visitor_block_s <= o <= t for o in self._outer_opened)

    def _judge(self, w: _Watch, upto: float) -> Detection | None:
        now = [x for x in w.pending if x.t <= upto]
        if len(now) < len(w.pending):
            w.pending = [x for x in w.pending if x.t > upto]
        else:
            w.pending = []
        for x in sorted(now, key=lambda x: x.t):
            # a confirmation that fell due before this reading decides first
            due = self._due(w, x.t)
            if due is not None:
                return due
            out = self._look(w, x)
            if out is not None:
                return out
        return self._due(w, upto)

    def _look(self, w: _Watch, x: _Seen) -> Detection | None:
        """One reading, in time order: update the window's evidence; a cancel, if it is one."""
        s = self.s
        t0 = w.t0
        if x.what == "radar":
            st = w.radars.setdefault(x.sensor, _Radar())
            low = x.on and x.lo <= s.low_m
            up = x.on and x.hi >= s.up_m and not low
            # the descent: standing shortly before (or at) the impact, then low
            if up and x.t <= t0 + PLACE_LATENCY_S and st.low_at is None:
                st.before_up = x.t
            if low and st.before_up is not None and st.low_at is None \
                    and x.t <= t0 + s.descent_s and x.t - st.before_up <= s.descent_s:
                st.low_at = x.t
                w.descent_seen = True
            elif st.low_at is not None and x.on and not low:
                st.low_broken = True    # seen up again: no early confirmation
            if x.t < t0 + s.settle_s:
                return None
            if not up:
                st.up_since = None
                return None
            if st.up_since is None:
                st.up_since, st.up_from, st.up_moved = x.t, (x.x, x.y), 0.0
            st.up_moved = max(st.up_moved, math.hypot(x.x - st.up_from[0], x.y - st.up_from[1]))
            if x.t - st.up_since >= s.up_s and st.up_moved >= s.up_walk_m and not w.descent_seen \
                    and self._cancels_allowed(w, x.t):
                return self._cancel(w, x, "radar_up", {"standing_s": round(x.t - st.up_since, 2),
                                                       "top_m": round(x.hi, 2),
                                                       "walked_m": round(st.up_moved, 2)})
        elif x.what == "presence":
            if x.room is not None and x.room == w.room and x.t >= t0:
                w.still = (w.still or (x.t, x.sensor)) if x.on and x.moving is False else None
        elif x.t >= t0 + s.min_travel_s and x.on and x.room is not None \
                and x.room != w.room and not w.descent_seen and self._cancels_allowed(w, x.t):
            if x.what == "motion" and not s.pets:
                return self._cancel(w, x, "motion_elsewhere", {})
            if x.what == "door":
                return self._cancel(w, x, "inner_door", {})
        return None

    def _due(self, w: _Watch, t: float) -> Detection | None:
        """The earliest confirmation whose time has come by sensor time t."""
        s = self.s
        if not s.confirm:
            return None
        best: tuple[float, str, str, dict[str, float]] | None = None
        for sensor, st in w.radars.items():
            if st.low_at is None or st.low_broken:
                continue
            at = max(st.low_at + s.low_s, w.t0)
            if at <= t and (best is None or at < best[0]):
                best = (at, sensor, "radar_low", {"low_s": round(at - st.low_at, 2)})
        if w.still is not None and w.still[0] + s.still_s <= t:
            at = w.still[0] + s.still_s
            if best is None or at < best[0]:
                best = (at, w.still[1], "presence_still", {"still_s": s.still_s})
        if best is None:
            return None
        at, sensor, rule, ev = best
        meta = self.sensors.get(sensor)
        return Detection("fall_confirmed", at, sensor, meta.room if meta else None, 1.0,
                         {"by_home": 1, f"witness_{rule}": 1,
                          "confirmed_after_s": round(at - w.t0, 2), **ev}, w.key)

    def _cancel(self, w: _Watch, x: _Seen, rule: str, ev: dict[str, float]) -> Detection:
        return Detection("fall_cancelled", x.t, x.sensor, w.room, 1.0,
                         {"by_home": 1, f"witness_{rule}": 1,
                          "seconds_after_impact": round(x.t - w.t0, 2), **ev}, w.key)
