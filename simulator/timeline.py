"""The resident's timeline: what they do, where, in which posture, second by second.

Every generator (wearable, radar, motion, doors, heart rate) reads the same timeline, so
the sensors agree with each other and with the ground-truth labels. A segment carries
everything its generators need (start and end orientation, positions, fall kind), so a
generator can produce any slice of time without knowing what it produced before: that
keeps generation vectorised and the output independent of how time is sliced.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np

# posture of each activity at its end ("upright", "seated", "lying")
POSTURE = {
    "walk": "upright", "stairs": "upright", "stand": "upright", "bend": "upright",
    "sit_down": "seated", "sit": "seated", "stand_up": "upright",
    "lie_down": "lying", "lie": "lying", "sleep": "lying", "turn": "lying",
    "get_up_bed": "upright", "out": "upright",
    "fall": "lying", "floor_still": "lying", "floor_struggle": "lying",
    "get_up_floor": "upright", "collapse": "lying", "knock": "upright",
}
TRANSITIONS = {"sit_down", "stand_up", "lie_down", "get_up_bed", "bend", "fall",
               "get_up_floor", "collapse", "turn"}
FLOOR = {"fall", "floor_still", "floor_struggle", "collapse"}

UPRIGHT = np.array([0.0, -1.0, 0.0])
HAND_HELD = np.array([0.85, -0.25, 0.45])   # wrist: a knocked hand held to the chest
SEATED = np.array([0.0, -0.94, 0.34])
LYING = {"supine": np.array([0.0, 0.0, 1.0]), "prone": np.array([0.0, 0.0, -1.0]),
         "left": np.array([-1.0, 0.0, 0.0]), "right": np.array([1.0, 0.0, 0.0])}
FALL_SIDE = {"forward": ("prone",), "backward": ("supine",), "lateral": ("left", "right"),
             "from_chair": ("left", "right", "prone"), "fainting": ("left", "right", "supine")}


@dataclass
class Segment:
    t0: float
    t1: float
    act: str
    room: str | None
    pos0: tuple[float, float] = (0.0, 0.0)
    pos1: tuple[float, float] = (0.0, 0.0)
    worn: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    g0: tuple[float, float, float] = (0.0, -1.0, 0.0)   # waist gravity at start (device frame)
    g1: tuple[float, float, float] = (0.0, -1.0, 0.0)   # ... at end
    w0: tuple[float, float, float] = (0.0, -1.0, 0.0)   # wrist gravity at start
    w1: tuple[float, float, float] = (0.0, -1.0, 0.0)

    @property
    def dur(self) -> float:
        return self.t1 - self.t0

    @property
    def posture(self) -> str:
        return POSTURE[self.act]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def end_orientation(seg: Segment, rng: np.random.Generator) -> np.ndarray:
    """Waist gravity direction when the segment ends."""
    posture = seg.posture
    if posture == "upright":
        return UPRIGHT + rng.normal(0, 0.03, 3)
    if posture == "seated":
        return SEATED + rng.normal(0, 0.05, 3)
    side = seg.params.get("side")
    if side is None:
        sides = FALL_SIDE.get(seg.params.get("kind", ""), ("supine", "left", "right"))
        side = sides[int(rng.integers(len(sides)))]
        seg.params["side"] = side
    return LYING[side] + rng.normal(0, 0.1, 3)


def finish(segments: list[Segment], rng: np.random.Generator) -> list[Segment]:
    """Give every segment its start and end orientations (waist and wrist), chained so
    each segment starts where the previous one ended."""
    g_prev = UPRIGHT.copy()
    w_prev = UPRIGHT.copy()
    prev: Segment | None = None
    for seg in segments:
        same_pose = (prev is not None and prev.posture == seg.posture
                     and seg.act not in TRANSITIONS and seg.act not in ("walk", "stairs"))
        if seg.posture == "lying" and prev is not None and prev.posture == "lying":
            if seg.act == "turn":   # a turn in bed ends on another side
                sides = [k for k in LYING if k != prev.params.get("side")]
                seg.params.setdefault("side", sides[int(rng.integers(len(sides)))])
            elif seg.act != "fall":
                seg.params.setdefault("side", prev.params.get("side"))
        if same_pose:   # the same posture goes on: the body does not jump
            g_end, w_end = g_prev, w_prev
        else:
            g_end = _unit(end_orientation(seg, rng))
            # the wrist follows the trunk loosely: a random tilt of up to ~40 degrees
            w_end = _unit(g_end + rng.normal(0, 0.35, 3))
        if seg.act in ("walk", "stairs", "stand", "out"):
            w_end = _unit(UPRIGHT + rng.normal(0, 0.15, 3))
        if seg.params.get("hand_held"):
            w_end = _unit(HAND_HELD + rng.normal(0, 0.05, 3))
        # transitions rotate from g0 to g1 over their length; other segments blend
        # over their first second, so a seam never looks like a jolt
        seg.g0, seg.w0 = tuple(g_prev), tuple(w_prev)
        seg.g1, seg.w1 = tuple(g_end), tuple(w_end)
        g_prev, w_prev, prev = g_end, w_end, seg
    return segments


def splice(segments: list[Segment], t0: float, t1: float, new: list[Segment]) -> list[Segment]:
    """Replace what happens in [t0, t1) by `new`; segments cut at the edges are shortened."""
    out: list[Segment] = []
    for s in segments:
        if s.t1 <= t0 or s.t0 >= t1:
            out.append(s)
            continue
        if s.t0 < t0:
            out.append(replace(s, t1=t0, params=dict(s.params)))
        if s.t1 > t1:
            out.append(replace(s, t0=t1, params=dict(s.params)))
    out.extend(new)
    out.sort(key=lambda s: s.t0)
    return out


def mark(segments: list[Segment], t0: float, t1: float, **changes: Any) -> list[Segment]:
    """Set attributes (e.g. worn=False) on everything in [t0, t1), splitting at the edges."""
    out: list[Segment] = []
    for s in segments:
        if s.t1 <= t0 or s.t0 >= t1:
            out.append(s)
            continue
        cuts = sorted({s.t0, max(s.t0, t0), min(s.t1, t1), s.t1})
        for a, b in pairwise(cuts):
            if b <= a:
                continue
            piece = replace(s, t0=a, t1=b, params=dict(s.params))
            if a >= t0 and b <= t1:
                piece = replace(piece, **changes)
            if s.act == "walk":  # keep the walk's path consistent across the cut
                f0, f1 = (a - s.t0) / s.dur, (b - s.t0) / s.dur
                p0, p1 = np.array(s.pos0), np.array(s.pos1)
                piece.pos0 = tuple(p0 + (p1 - p0) * f0)
                piece.pos1 = tuple(p0 + (p1 - p0) * f1)
            out.append(piece)
    return out


def locate(segments: list[Segment], t: float) -> int:
    """Index of the segment covering time t (binary search over starts)."""
    lo, hi = 0, len(segments)
    while lo < hi:
        mid = (lo + hi) // 2
        if segments[mid].t0 <= t:
            lo = mid + 1
        else:
            hi = mid
    return max(0, lo - 1)
