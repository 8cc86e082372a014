"""A day of a home in the numbers a home-care nurse understands: when the morning started
and the evening ended, how long the night's rest was and how often it was broken (and for
the bathroom), hours active, time away, kitchen visits and kitchen time around meals,
moves from room to room and, where a radar tracks, walking speed; and two features that
carry the evidence of a change more sharply than a day's total: the length of an outing
(a daily "time away" mixes how many outings with how long they were) and the mealtimes
at home without kitchen use (a skipped meal is one clear event, a day's kitchen visit
count mixes it with every walk through the kitchen).

Why minute marks: every feature is a question about *when* and *where* someone moved, so
the stream is reduced to one small integer per local minute (a bit per room that saw
activity, a bit for "away") plus three counters and a histogram of radar walking speeds.
A day is ~1,500 minutes: cheap to keep, cheap to analyse when the day is over, and the
same whether the home has one PIR per room (CASAS-style logs) or radars.

The night belongs to the evening before it: day D's record holds D's daytime numbers, the
morning of D (`up_time`), the evening of D (`bed_time`) and the night D -> D+1. It is
closed at 13:00 on D+1, when the next morning is known.

The night's rest is the longest stretch between 18:00 and 13:00 with no *long* bout of
activity (a bout is activity with no gap over `GAP_MIN`; long is `LONG_MIN` or more), so
a toilet trip or a turn in bed does not end the night, and a late evening or a lie-in
moves its ends. Short bouts inside it are night-time getting up (`night_up`, outside the
bedroom) and bathroom visits (`night_bathroom`).

Pure streaming code: time only from readings, local days from detectors/localtime.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from detectors.home_views import HomeTrackers
from detectors.localtime import LocalClock
from sensordata.readings import Contact, Motion, RadarTargets

DAY_MIN = 1500          # minutes in a local day array (a 25 h DST day fits)
GAP_MIN = 15            # silence that ends a bout of activity
LONG_MIN = 20           # a bout this long is being up, not a trip
MIN_REST_MIN = 180      # a shorter rest is not a night
AWAY_MIN_S = 900.0      # door, then this long with nothing inside: away
PIR_SPAN_MAX_S = 1800.0  # a PIR "on" longer than this marks only its start (stuck sensor)
TRIP_GAP_S = 300.0      # activity in a room closer than this to the last is the same visit
MEALS = ((360, 600), (660, 840), (960, 1200))   # 06-10, 11-14, 16-20 local
MEAL_KITCHEN_MIN = 10   # kitchen minutes in a meal window that make a meal in the kitchen
SPEED_BIN = 0.02        # m/s
SPEED_BINS = 150        # up to 3 m/s
WALK_MIN_SPEED = 0.25   # a radar target faster than this is walking
MIN_WALK_FRAMES = 50
AWAY_BIT = 1 << 15
INSIDE_BITS = AWAY_BIT - 1   # every room bit

#: Feature keys in their order; the report and the texts use the same keys.
FEATURES = ("up_time", "bed_time", "rest_hours", "night_up", "night_bathroom", "active_hours",
            "away_hours", "kitchen_visits", "meal_kitchen_minutes", "transitions",
            "walking_speed", "meals_no_kitchen", "outing_hours")


def room_kinds(rooms: Iterable[str], bathrooms: Iterable[str], kitchens: Iterable[str],
               bedrooms: Iterable[str]) -> dict[str, set[str]]:
    """Which rooms are bathrooms, kitchens, bedrooms: listed ids, else by name (CASAS
    and Home Assistant names say 'Bathroom', 'KitchenA', 'bedroom_2')."""
    lists = {"bath": set(bathrooms), "kitchen": set(kitchens), "bed": set(bedrooms)}
    words = {"bath": ("bath", "toilet", "wc", "restroom"), "kitchen": ("kitchen",),
             "bed": ("bedroom", "bed")}
    out: dict[str, set[str]] = {k: set() for k in lists}
    for room in rooms:
        low = room.lower()
        for kind, ids in lists.items():
            if room in ids or any(w in low for w in words[kind]):
                out[kind].add(room)
                break
    return out


@dataclass
class DayMarks:
    day: int
    start: float                                   # Unix time of local midnight
    act: np.ndarray = field(default_factory=lambda: np.zeros(DAY_MIN, np.uint16))
    kitchen_visits: int = 0
    transitions: int = 0
    speeds: np.ndarray = field(default_factory=lambda: np.zeros(SPEED_BINS, np.int64))

    def minute(self, t: float) -> int:
        return min(max(int((t - self.start) // 60), 0), DAY_MIN - 1)


class DayFeatures:
    """Streams readings into minute marks and closes each day into a feature dict."""

    def __init__(self, sensors: Mapping[str, Any], clock: LocalClock, outer_doors: Iterable[str],
                 bathrooms: Iterable[str] = (), kitchens: Iterable[str] = (),
                 bedrooms: Iterable[str] = (), homes: HomeTrackers | None = None) -> None:
        self.clock = clock
        # the home as the not-up rule sees it (wearable movement is no activity): one tracker
        self.home = (homes or HomeTrackers(sensors)).view(outer_doors, accel_std_g=float("inf"))
        rooms = sorted({r for m in sensors.values() if (r := getattr(m, "room", None))})
        self.bit = {r: 1 << min(i, 14) for i, r in enumerate(rooms)}
        kinds = room_kinds(rooms, bathrooms, kitchens, bedrooms)
        self.bath_mask = sum(self.bit[r] for r in kinds["bath"])
        self.kitchen_mask = sum(self.bit[r] for r in kinds["kitchen"])
        self.bed_mask = sum(self.bit[r] for r in kinds["bed"])
        self.kitchens = kinds["kitchen"]
        self.days: dict[int, DayMarks] = {}
        self.first_t: float | None = None
        self._room: str | None = None
        self._kitchen_last = -math.inf
        self._pir_on: dict[str, float] = {}
        self._door_t: float | None = None
        self._up_next: dict[int, float] = {}       # day -> its morning's up time (from the night before)

    # --- streaming ----------------------------------------------------------------------
    def marks(self, t: float) -> DayMarks:
        day = self.clock.day(t)
        d = self.days.get(day)
        if d is None:
            d = self.days[day] = DayMarks(day, self.clock.at(day, 0))
        return d

    def _mark_span(self, a: float, b: float, bits: int) -> None:
        t = a
        while t <= b:
            d = self.marks(t)
            i0, i1 = d.minute(t), d.minute(min(b, d.start + DAY_MIN * 60 - 1))
            d.act[i0:i1 + 1] |= bits
            nxt = self.clock.at(d.day + 1, 0)
            if nxt <= t:
                break
            t = nxt

    def add(self, r: Any, t: float, what: str | None) -> None:
        """One reading at time `t`, which the home's tracker saw as `what` (HomeView.seen)."""
        if self.first_t is None:
            self.first_t = t
        if what in ("inside", "present") and self._door_t is not None:
            if t - self._door_t >= AWAY_MIN_S:
                self._mark_span(self._door_t, t, AWAY_BIT)
            self._door_t = None
        if what == "door":
            # out at the first door event, back at the first one after a quiet while
            if self._door_t is not None and t - self._door_t >= AWAY_MIN_S:
                self._mark_span(self._door_t, t, AWAY_BIT)
                self._door_t = t
            elif self._door_t is None and isinstance(r, Contact):
                self._door_t = t
            self._room = None
            return
        if isinstance(r, Motion) and not r.active:
            since = self._pir_on.pop(r.sensor, None)
            room = self.home.room(r.sensor)
            if since is not None and room is not None and t - since <= PIR_SPAN_MAX_S:
                self._mark_span(since, t - 60.0, self.bit.get(room, 1 << 14))
            return
        if isinstance(r, RadarTargets):
            self._walking(r, t)
        if what != "inside":
            return
        if isinstance(r, Motion):
            self._pir_on[r.sensor] = t
        room = self.home.room(r.sensor)
        d = self.marks(t)
        d.act[d.minute(t)] |= self.bit.get(room, 1 << 14) if room else 1 << 14
        if room is not None and room != self._room:
            if self._room is not None:
                d.transitions += 1
            if room in self.kitchens and t - self._kitchen_last > TRIP_GAP_S:
                d.kitchen_visits += 1
            self._room = room
        if room in self.kitchens:
            self._kitchen_last = t

    def _walking(self, r: RadarTargets, t: float) -> None:
        for g in r.targets:
            v = math.hypot(g.vx, g.vy)
            if v >= WALK_MIN_SPEED:
                self.marks(t).speeds[min(int(v / SPEED_BIN), SPEED_BINS - 1)] += 1

    # --- closing a day ------------------------------------------------------------------
    def close_time(self, day: int) -> float:
        """When day `day` can be closed: 13:00 the next morning."""
        return self.clock.at(day + 1, 13 * 60)

    def close(self, day: int, now: float | None = None) -> dict[str, float] | None:
        """The day's features (NaN where unknown), or None when the gateway did not watch
        the whole day. Forgets marks no longer needed. `now` (sensor time, the close time)
        lets a resident still out count as away up to it (the return marks the rest)."""
        if now is not None and self._door_t is not None and now - self._door_t >= AWAY_MIN_S \
                and not self.home.present_now:
            self._mark_span(self._door_t, now, AWAY_BIT)
        d = self.days.get(day)
        nxt = self.days.get(day + 1) or DayMarks(day + 1, self.clock.at(day + 1, 0))
        for old in [k for k in self.days if k < day]:
            del self.days[old]
        self._up_next = {k: v for k, v in self._up_next.items() if k > day - 2}
        if d is None or self.first_t is None or self.first_t > d.start:
            if d is not None:
                self._night(d, nxt)   # learn the next morning even after a partial day
            return None
        length = int(round((self.clock.at(day + 1, 0) - d.start) / 60))
        act = d.act[:length]
        inside = (act & INSIDE_BITS) != 0
        if int(inside.sum()) < 30:
            return None                                   # nobody home (or nothing seen)
        slots = inside[: length // 15 * 15].reshape(-1, 15).sum(axis=1)
        away_min = int(((act & AWAY_BIT) != 0).sum())
        kitchen = (act & self.kitchen_mask) != 0 if self.kitchen_mask else np.zeros(length, bool)
        meal_min = sum(int(kitchen[a:b].sum()) for a, b in MEALS)
        away = (act & AWAY_BIT) != 0
        night = self._night(d, nxt)
        f = {
            "up_time": self._up_next.get(day, math.nan),
            **night,
            "active_hours": float((slots >= 2).sum()) / 4.0,
            "away_hours": round(away_min / 60.0, 2),
            "kitchen_visits": float(d.kitchen_visits) if self.kitchen_mask else math.nan,
            "meal_kitchen_minutes": float(meal_min) if self.kitchen_mask else math.nan,
            "transitions": float(d.transitions),
            "walking_speed": _median_speed(d.speeds),
            "meals_no_kitchen": _meals_no_kitchen(kitchen, away) if self.kitchen_mask else math.nan,
            "outing_hours": _outing_hours(away),
        }
        return {k: f[k] for k in FEATURES}

    def _night(self, d: DayMarks, nxt: DayMarks) -> dict[str, float]:
        length = int(round((nxt.start - d.start) / 60))
        m = np.concatenate([d.act[1080:length], nxt.act[:780]])
        nan = {"bed_time": math.nan, "rest_hours": math.nan, "night_up": math.nan,
               "night_bathroom": math.nan}
        # Up means activity outside the bedroom (a bedroom PIR also sees turns in bed),
        # unless the bedroom is all the home shows.
        up_bits = INSIDE_BITS & ~self.bed_mask or INSIDE_BITS
        idx = np.flatnonzero((m & up_bits) != 0)
        if not len(idx):
            return nan
        # bouts: runs of activity with gaps of at most GAP_MIN
        cut = np.flatnonzero(np.diff(idx) > GAP_MIN)
        starts, ends = idx[np.r_[0, cut + 1]], idx[np.r_[cut, len(idx) - 1]]
        long = (ends - starts + 1) >= LONG_MIN
        # candidate rests: between consecutive long bouts (and the window's ends)
        edges_end = np.r_[-1, ends[long]]
        edges_start = np.r_[starts[long], len(m)]
        gaps = edges_start - edges_end - 1
        k = int(np.argmax(gaps))
        a, b = int(edges_end[k]) + 1, int(edges_start[k])   # rest is minutes [a, b)
        if b - a < MIN_REST_MIN or a == 0 or b == len(m):
            return nan                                      # no night, or one not seen whole
        if int(((m[a:b] & AWAY_BIT) != 0).sum()) > 60:
            return nan                                      # away for the night
        self._up_next[d.day + 1] = float(b - (length - 1080))   # minutes after D+1's midnight
        inner = (starts >= a) & (ends < b) & ~long
        up = bath = 0
        for s, e in zip(starts[inner], ends[inner], strict=True):
            bits = int(np.bitwise_or.reduce(m[s:e + 1]))
            if bits & self.bath_mask:
                bath += 1
            if bits & ~self.bed_mask & INSIDE_BITS:
                up += 1
        return {"bed_time": float(1080 + a), "rest_hours": round((b - a) / 60.0, 2),
                "night_up": float(up), "night_bathroom": float(bath) if self.bath_mask else math.nan}

    # --- persistence ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The next morning's up time and the away rule's times; the minute marks are not
        kept, so the day of a restart is not judged from half its minutes."""
        return {"up_next": {str(k): v for k, v in self._up_next.items()},
                "home": self.home.state()}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._up_next = {int(k): float(v) for k, v in state.get("up_next", {}).items()}
        self.home.restore(state.get("home", {}))


def _meals_no_kitchen(kitchen: np.ndarray, away: np.ndarray) -> float:
    """Meal windows (MEALS) spent mostly at home with fewer than MEAL_KITCHEN_MIN minutes
    of kitchen activity: a meal not made or eaten in the kitchen. A window mostly away
    (lunch out) is not a skipped meal. A count per day (0-3), judged as counts are."""
    miss = 0
    for a, b in MEALS:
        if 2 * int(away[a:b].sum()) < b - a and int(kitchen[a:b].sum()) < MEAL_KITCHEN_MIN:
            miss += 1
    return float(miss)


def _outing_hours(away: np.ndarray) -> float:
    """The mean length of the day's outings (runs of "away") in hours, NaN on a day
    without one. Runs cut by midnight are left out: only their part on this day is known.
    One outing's length varies far less than a day's total time away, which is mostly 0
    and sometimes hours: a shortening of outings shows here, not in the total."""
    edges = np.flatnonzero(np.diff(np.r_[0, away.astype(np.int8), 0]))
    starts, ends = edges[::2], edges[1::2]
    whole = (starts > 0) & (ends < len(away))
    if not whole.any():
        return math.nan
    return round(float((ends[whole] - starts[whole]).mean()) / 60.0, 2)


def _median_speed(hist: np.ndarray) -> float:
    n = int(hist.sum())
    if n < MIN_WALK_FRAMES:
        return math.nan
    i = int(np.searchsorted(np.cumsum(hist), n / 2.0))
    return round((i + 0.5) * SPEED_BIN, 3)
