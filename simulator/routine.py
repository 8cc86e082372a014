"""A resident's days: waking, bathroom, meals, sitting, naps, outings, evening and night
toilet trips, with scripted incidents spliced in at their exact times.

Habits vary from day to day (times drawn around the scenario's usual times), which is
what routine-learning detectors need to see; the per-day random generator is seeded by
(seed, day) so that changing one day's plan never shifts another's.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import numpy as np

from sensordata.trace.model import Label
from simulator.scenario import CHANGE_KINDS, Habits, Incident, Scenario
from simulator.timeline import Segment, finish, mark, splice

ROLE_DEFAULTS = ("bed", "bath", "kitchen", "living", "hall")


def room_roles(scn: Scenario) -> dict[str, str]:
    """Which room plays which part of the day; falls back to the rooms in order."""
    ids = [r.id for r in scn.rooms] or ["home"]
    roles = dict(scn.habits.rooms)
    for i, role in enumerate(ROLE_DEFAULTS):
        if role not in roles:
            guess = [r for r in ids if role in r or (role == "bed" and "bedroom" in r)]
            roles[role] = guess[0] if guess else ids[min(i, len(ids) - 1)]
    return roles


class Planner:
    def __init__(self, scn: Scenario, rng: np.random.Generator, t: float) -> None:
        self.scn, self.rng, self.t = scn, rng, t
        self.roles = room_roles(scn)
        self.room = self.roles["bed"]
        self.pos = self.spot(self.room, "bed")
        self.posture = "lying"
        self.segs: list[Segment] = []
        self.pace = 1.0           # walking speed factor (a scripted slowing-down lowers it)

    # --- geometry ----------------------------------------------------------------
    def size(self, room: str) -> tuple[float, float]:
        try:
            return self.scn.room(room).size
        except KeyError:
            return (4.0, 4.0)

    def spot(self, room: str, what: str = "") -> tuple[float, float]:
        w, d = self.size(room)
        if what == "bed":
            return (w - 1.0, d - 1.2)
        if what == "door":
            return (0.5, 0.6)
        return (float(self.rng.uniform(0.7, max(0.8, w - 0.7))),
                float(self.rng.uniform(1.0, max(1.1, d - 0.7))))

    # --- building blocks ---------------------------------------------------------
    def add(self, act: str, dur: float, pos1: tuple[float, float] | None = None,
            **params: object) -> None:
        dur = max(0.5, float(dur))
        pos0 = self.pos
        self.pos = pos1 or self.pos
        self.segs.append(Segment(self.t, self.t + dur, act, self.room, pos0, self.pos,
                                 params=dict(params)))
        self.t += dur
        if act != "out":
            self.posture = {"upright": "upright", "seated": "seated", "lying": "lying"}[
                self.segs[-1].posture]

    def up(self) -> None:
        if self.posture == "seated":
            self.add("stand_up", self.rng.uniform(1.2, 2.2))
        elif self.posture == "lying":
            self.add("get_up_bed", self.rng.uniform(2.5, 5.0))

    def go(self, room: str, what: str = "") -> None:
        self.up()
        speed = self.rng.uniform(0.5, 0.9) * self.pace  # m/s: an older person's indoor pace
        if room != self.room:
            door = self.spot(self.room, "door")
            self.add("walk", math.dist(self.pos, door) / speed + 0.5, door,
                     step_hz=float(self.rng.uniform(1.4, 1.9)))
            self.room = room
            self.pos = self.spot(room, "door")
        target = self.spot(room, what)
        self.add("walk", math.dist(self.pos, target) / speed + 0.5, target,
                 step_hz=float(self.rng.uniform(1.4, 1.9)))

    def sit(self, dur: float, hard: bool | None = None) -> None:
        if self.posture != "seated":
            self.up()
            if hard is None:
                hard = bool(self.rng.random() < 0.15)
            self.add("sit_down", self.rng.uniform(1.2, 2.0), hard=hard)
        self.fill("sit", dur)

    def fill(self, act: str, dur: float) -> None:
        """Sit, stand or lie for `dur`, broken into pieces with fidgets and turns."""
        end = self.t + dur
        while self.t < end - 1.0:
            if act == "sleep":
                piece = min(end - self.t, self.rng.uniform(1200, 5400))
                self.add("sleep", piece)
                if self.t < end - 10:
                    self.add("turn", self.rng.uniform(2.0, 5.0))
            elif act == "sit":
                piece = min(end - self.t, self.rng.uniform(120, 900))
                self.add("sit", piece, fidget_s=float(self.rng.uniform(30, 120)))
            elif act == "stand":
                piece = min(end - self.t, self.rng.uniform(30, 180))
                self.add("stand", piece)
                if self.t < end - 10 and self.rng.random() < 0.3:
                    self.add("bend", self.rng.uniform(2.5, 4.0))
            else:
                self.add(act, end - self.t)

    def lie(self, dur: float, act: str = "sleep") -> None:
        if self.posture != "lying":
            self.up()
            self.add("lie_down", self.rng.uniform(2.5, 4.5))
        self.fill(act, dur)

    def until(self, t: float) -> float:
        return max(0.0, t - self.t)


def _at(scn: Scenario, day: int, clock: time, rng: np.random.Generator, spread: float) -> float:
    return scn.at(day, clock) + float(rng.normal(0, spread * 60))


def _changed(scn: Scenario, day: int) -> tuple[Habits, dict[str, float]]:
    """The day's habits with the scripted changes ([[changes]]) applied, and the sizes of
    the changes that are not habits (skipped kitchen visits, shorter outings, ...)."""
    h = scn.habits
    size = {kind: scn.change(kind, day) for kind in CHANGE_KINDS}
    if size["night_bathroom"]:
        h = replace(h, night_toilet=h.night_toilet * (1 + size["night_bathroom"]))
    if size["wake_later"]:   # 20 % more time in bed: the morning starts that much later
        night_s = (h.wake.hour * 60 + h.wake.minute + 1440 - h.bed.hour * 60 - h.bed.minute) % 1440 * 60
        wake = datetime.combine(date(2000, 1, 1), h.wake) + timedelta(seconds=night_s * size["wake_later"])
        h = replace(h, wake=wake.time())
    return h, size


def plan_day(p: Planner, scn: Scenario, day: int, seed: int) -> None:
    """Append one day (local midnight to midnight) of ordinary routine to the planner."""
    rng = np.random.default_rng([seed, 17, day])
    p.rng = rng
    h, change = _changed(scn, day)
    r = p.roles
    p.pace = 1.0 - change["slower_walking"]
    skip_kitchen = change["fewer_kitchen"]

    def kitchen() -> bool:   # a scripted decline skips this share of kitchen visits
        return not skip_kitchen or bool(rng.random() >= skip_kitchen)

    midnight = scn.at(day, time(0))
    wake = _at(scn, day, h.wake, rng, h.spread_min)
    bed = _at(scn, day, h.bed, rng, h.spread_min)
    # the night: sleep with toilet trips
    trips = sorted(rng.uniform(midnight + 3600, wake - 1800, rng.poisson(h.night_toilet)))
    for trip in trips:
        p.lie(p.until(trip))
        p.go(r["bath"])
        p.sit(rng.uniform(90, 300))
        p.go(r["bed"], "bed")
        p.lie(1.0)
    p.lie(p.until(wake))
    # morning
    p.go(r["bath"])
    p.fill("stand", rng.uniform(300, 600))
    p.sit(rng.uniform(120, 400))
    p.go(r["kitchen"] if kitchen() else r["living"])
    plans: list[tuple[float, str]] = [(_at(scn, day, m, rng, h.spread_min / 2), "meal")
                                      for m in h.meals]
    if h.nap is not None:
        plans.append((_at(scn, day, h.nap, rng, h.spread_min), "nap"))
    if rng.random() < h.outings_per_week / 7:
        plans.append((scn.at(day, time(10)) + float(rng.uniform(0, 5 * 3600)), "out"))
    plans.sort()
    last_bath = p.t
    for when, what in plans:
        while p.t < when - 600:  # living room, with bathroom visits now and then
            if p.t - last_bath > h.bathroom_every_h * 3600 * rng.uniform(0.7, 1.3):
                p.go(r["bath"])
                p.sit(rng.uniform(90, 360))
                last_bath = p.t
            if p.room != r["living"]:
                p.go(r["living"])
            p.sit(min(when - p.t, rng.uniform(600, 2400)))
            if rng.random() < 0.3 and p.t < when - 300 and kitchen():
                p.go(r["kitchen"])
                p.fill("stand", rng.uniform(30, 180))
        if what == "meal":
            p.go(r["kitchen"] if kitchen() else r["living"])
            p.fill("stand", rng.uniform(300, 1200))
            p.sit(rng.uniform(900, 1800))
        elif what == "nap":
            p.go(r["living"])
            # a less active day: the afternoon rest grows by that share of the waking day
            extra = change["less_active"] * ((bed - wake) if bed > wake else 0.0)
            p.lie(rng.uniform(0.6, 1.4) * h.nap_min * 60 + extra, act="lie")
        elif what == "out":
            p.go(r["hall"], "door")
            p.fill("stand", rng.uniform(60, 180))
            p.add("out", rng.uniform(3600, 3 * 3600) * (1.0 - change["less_out"]))
            p.add("walk", 2.0, p.spot(r["hall"], "door"), step_hz=1.6)
    while p.t < bed - 900:
        if p.room == r["living"] and p.posture == "seated" and bed - 900 - p.t < 2.0:
            break   # less than a moment left to sit: sitting adds nothing, time would stand still
        if p.room != r["living"]:
            p.go(r["living"])
        p.sit(min(bed - 900 - p.t, rng.uniform(900, 3000)))
        if p.t < bed - 1200:
            p.go(r["bath"] if rng.random() < 0.5 or not kitchen() else r["kitchen"])
            p.fill("stand", rng.uniform(60, 240))
    p.go(r["bath"])
    p.fill("stand", rng.uniform(300, 600))
    p.go(r["bed"], "bed")
    p.lie(p.until(scn.at(day + 1, time(0))))


def _incident(p: Planner, scn: Scenario, inc: Incident, seed: int,
              segs: list[Segment]) -> tuple[list[Segment], Label]:
    rng = np.random.default_rng([seed, 23, int(inc.t)])
    p.rng, p.segs = rng, []
    room = inc.room or p.roles["bath"]
    p.room, p.pos, p.posture = room, p.spot(room, "door"), "upright"
    expect: tuple[str, ...]
    if inc.what == "fall":
        p.t = inc.t - 8.0
        if inc.fall_kind == "from_chair":
            p.t = inc.t - 40.0
            p.go(room)
            p.add("sit_down", 1.5, hard=False)
            p.fill("sit", p.until(inc.t - 1.5))
            p.add("stand_up", 1.5)
        else:
            target = p.spot(room)
            p.add("walk", 8.0, target, step_hz=float(rng.uniform(1.4, 1.8)))
        p.add("fall", 2.0 if inc.fall_kind == "fainting" else 1.4, kind=inc.fall_kind)
        floor_end = inc.t + inc.lasts
        if inc.after == "get_up":
            p.add("floor_still", rng.uniform(4, 8))
            p.add("get_up_floor", rng.uniform(4, 7))
            p.fill("stand", 20)
            expect = ("fall_suspected", "alarm_cancelled")
        else:
            while p.t < floor_end - 1:
                if inc.after == "struggle":
                    p.add("floor_struggle", min(floor_end - p.t, rng.uniform(8, 30)))
                p.add("floor_still", min(max(1.0, floor_end - p.t), rng.uniform(30, 120)
                                         if inc.after == "struggle" else floor_end - p.t))
            p.add("get_up_floor", rng.uniform(6, 10))  # helped up
            p.fill("stand", 30)
            expect = ("fall_suspected", "fall")
    elif inc.what == "inactivity":
        p.t = inc.t - 8.0
        p.add("walk", 8.0, p.spot(room), step_hz=1.5)
        p.add("collapse", 4.0)
        p.add("floor_still", inc.lasts - 4.0)
        p.add("get_up_floor", 8.0)
        p.fill("stand", 30)
        expect = ("inactivity",)
    elif inc.what == "door_night_exit":
        room = p.roles["hall"]
        p.room, p.pos = room, p.spot(room)
        p.t = inc.t - 10.0
        p.add("walk", 10.0, p.spot(room, "door"), step_hz=1.5)
        p.add("out", inc.lasts)
        p.add("walk", 5.0, p.spot(room), step_hz=1.5)
        p.go(p.roles["bed"], "bed")
        p.lie(30.0)
        expect = ("door_night_not_back",)
    elif inc.what == "knock":
        # Walking through a room, the wrist knocks a door frame: a sharp peak, a few seconds
        # standing still holding the hand, then on to the next room with the hand held to
        # the chest (so the wrist does not look as it did before). Not a fall: no event
        # is expected, and a `fall` alarm from it is a false alarm.
        dest = inc.to or p.roles["kitchen"]
        p.t = inc.t - 6.0
        p.add("walk", 6.0, p.spot(room), step_hz=float(rng.uniform(1.4, 1.8)))
        p.add("knock", 0.4, hand_held=True)
        p.add("stand", float(rng.uniform(3.5, 6.0)), hand_held=True, fidget_s=600.0)
        hold_end = p.t + inc.hold
        first_walk = len(p.segs)
        p.go(dest)
        for seg in p.segs[first_walk:]:
            if seg.t0 < hold_end:
                seg.params["hand_held"] = True
        if p.t < hold_end:   # arrived, still holding the hand
            p.add("stand", hold_end - p.t, hand_held=True, fidget_s=45.0)
        p.fill("stand", 20.0)
        new = _seamless(segs, p.segs, rng)
        return splice(segs, new[0].t0, new[-1].t1, new), Label(
            inc.t, p.t, "knock", room, None, (), {"kind": "activity", "to": dest})
    else:  # sos: ordinary life goes on; the button does the talking
        return segs, Label(inc.t, inc.t + 1, "sos", room, None, ("sos",), {"kind": "incident"})
    new = _seamless(segs, p.segs, rng)
    out = splice(segs, new[0].t0, new[-1].t1, new)
    if not inc.wearable:
        out = mark(out, inc.t - 1200, inc.t + inc.lasts, worn=False)
    detail = {"kind": "incident", "fall_kind": inc.fall_kind, "after": inc.after,
              "wearable": inc.wearable} if inc.what == "fall" else {"kind": "incident",
                                                                     "wearable": inc.wearable}
    return out, Label(inc.t, inc.t + inc.lasts, inc.what, room if inc.what != "door_night_exit"
                      else p.roles["hall"], None, expect, detail)


_INTO = {("seated", "upright"): "stand_up", ("lying", "upright"): "get_up_bed",
         ("upright", "seated"): "sit_down", ("upright", "lying"): "lie_down",
         ("seated", "lying"): "lie_down", ("lying", "seated"): "get_up_bed"}


def _posture_at(segs: list[Segment], t: float) -> tuple[str, Segment | None]:
    for s in segs:
        if s.t0 <= t < s.t1:
            return s.posture, s
    return "upright", None


def _seamless(base: list[Segment], new: list[Segment], rng: np.random.Generator) -> list[Segment]:
    """An incident spliced into the routine gets real transitions at both ends: whoever
    sat before walks only after standing up, and whoever lies down for a nap afterwards
    lies down rather than dropping (a drop would look like a fall to a radar)."""
    before, seg_b = _posture_at(base, new[0].t0 - 1e-6)
    first = new[0].posture if new[0].act not in ("walk", "stand") else "upright"
    out = list(new)
    kind = _INTO.get((before, first))
    if kind is not None and seg_b is not None:
        dur = float(rng.uniform(2.0, 3.5))
        out.insert(0, Segment(new[0].t0 - dur, new[0].t0, kind, seg_b.room, new[0].pos0,
                              new[0].pos0, params={"hard": False}))
    end = new[-1].t1
    after, seg_a = _posture_at(base, end + 1e-6)
    kind = _INTO.get((new[-1].posture, after))
    if kind is not None:
        dur = float(rng.uniform(2.5, 4.0))
        room = new[-1].room
        out.append(Segment(end, end + dur, kind, room, new[-1].pos1, new[-1].pos1,
                           params={"hard": False}))
    return out


def build_timeline(scn: Scenario, seed: int) -> tuple[list[Segment], list[Label]]:
    """The whole run's segments (clipped to the scenario) and the incident labels."""
    first = int((scn.start - scn.at(1, time(0))) // 86400) + 1
    last = int((scn.end - scn.at(1, time(0))) // 86400) + 1
    p = Planner(scn, np.random.default_rng([seed, 11]), scn.at(first, time(0)))
    for day in range(first, last + 1):
        plan_day(p, scn, day, seed)
    segs = p.segs
    labels = []
    for inc in scn.incidents:
        segs, label = _incident(Planner(scn, np.random.default_rng(seed), inc.t), scn, inc,
                                seed, segs)
        labels.append(label)
    segs = [s for s in segs if s.t1 > scn.start and s.t0 < scn.end and s.t1 > s.t0]
    finish(segs, np.random.default_rng([seed, 29]))
    return segs, labels
