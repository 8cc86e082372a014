"""Event sensors from the timeline: PIR motion, door contacts and buttons.

A PIR fires while the resident moves in its room: often when walking, now and then when
standing at the stove, rarely when sitting, almost never when asleep, and not at all for
someone lying still on the floor. It reports motion start, then motion end after its hold
time without triggers (Zigbee occupancy sensors behave so). Door contacts open and close
as the resident leaves and comes back (outer door) or passes through (inner doors).
These are few, so they are computed for the whole run at once.
"""

from __future__ import annotations

from datetime import time

import numpy as np

from sensordata.readings import Button, Contact, Motion
from simulator.scenario import Scenario, SensorSpec
from simulator.timeline import Segment

MEAN_GAP_S = {"walk": 2.0, "stairs": 2.0, "stand": 10.0, "bend": 1.0, "sit": 150.0,
              "lie": 900.0, "floor_struggle": 4.0}
AT_START = {"sit_down", "stand_up", "lie_down", "get_up_bed", "turn", "fall", "get_up_floor",
            "collapse"}


def motion_events(spec: SensorSpec, segs: list[Segment], rng: np.random.Generator,
                  scn: Scenario) -> list[tuple[float, Motion]]:
    hold = float(spec.options.get("hold_s", 60.0))
    trig: list[np.ndarray] = []
    for s in segs:
        if s.room != spec.room or s.act == "out":
            continue
        if s.act in AT_START:
            trig.append(np.array([s.t0 + 0.3]))
        gap = MEAN_GAP_S.get(s.act)
        if gap is None:
            continue
        k = rng.poisson(s.dur / gap)
        if k:
            trig.append(s.t0 + rng.uniform(0, s.dur, k))
    if not trig:
        return []
    times = np.sort(np.concatenate(trig))
    times = times[(times >= scn.start) & (times < scn.end)]
    out: list[tuple[float, Motion]] = []
    if not len(times):
        return out
    # runs of triggers closer than the hold time make one "motion ... motion ended"
    breaks = np.flatnonzero(np.diff(times) > hold)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(times) - 1]])
    for i0, i1 in zip(starts, ends, strict=True):
        t_on, t_off = float(times[i0]), float(times[i1]) + hold
        out.append((t_on, Motion(spec.id, t_on, True)))
        if t_off < scn.end:
            out.append((t_off, Motion(spec.id, t_off, False)))
    return out


def door_events(spec: SensorSpec, segs: list[Segment], rng: np.random.Generator,
                scn: Scenario) -> list[tuple[float, Contact]]:
    out: list[tuple[float, Contact]] = []

    def swing(t: float, open_s: float) -> None:
        if scn.start <= t < scn.end:
            out.append((t, Contact(spec.id, t, True)))
        if scn.start <= t + open_s < scn.end:
            out.append((t + open_s, Contact(spec.id, t + open_s, False)))

    outer = spec.role in ("outer_door", "front_door", "entrance", "exit")
    prev: Segment | None = None
    for s in segs:
        if outer and s.act == "out":
            swing(s.t0 - 1.5, float(rng.uniform(3, 6)))
            swing(s.t1 - 2.0, float(rng.uniform(3, 6)))
        elif not outer and prev is not None and prev.room != s.room and spec.room in (
                prev.room, s.room) and rng.random() < 0.7:
            swing(s.t0 - 1.0, float(rng.uniform(2, 5)))
        prev = s
    if outer:  # now and then a door opened without leaving: a delivery, the post
        day = 1
        while scn.at(day, time(0)) < scn.end:
            if rng.random() < 0.5:
                t = scn.at(day, time(0)) + float(rng.uniform(9 * 3600, 17 * 3600))
                swing(t, float(rng.uniform(10, 60)))
            day += 1
    out.sort(key=lambda p: p[0])
    return out


def button_events(spec: SensorSpec, scn: Scenario) -> list[tuple[float, Button]]:
    return [(inc.t, Button(spec.id, inc.t, "sos")) for inc in scn.incidents
            if inc.what == "sos" and scn.start <= inc.t < scn.end]
