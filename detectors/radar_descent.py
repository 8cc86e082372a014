"""One person's radar track and the shape of a descent in it: the radar fall detector's
judgement of a single track, apart from its streaming, confirmation, getting-up watch,
mounting and persistence (detectors/radar_fall.py).

Why apart: what a descent looks like is the part issue 22 keeps refining on real clips
(where the level before was, how fast, whether it was carried by a walk), and it is pure
arithmetic on one track's recent heights and positions; the detector around it decides
what happens next (waiting `confirm_seconds`, cancelling, alarming). Keeping it here lets
its rules be read, and tested, without the detector's plumbing.

The rules and why (radar_fall.py's docstring has the whole fall):
- heights are the median over `smooth_s` (a centroid from a few points jumps by tens of
  centimetres frame to frame);
- the drop is from the highest smoothed height in the descent window, and must be at
  least `need` below the level before (the median of the `BEFORE_S` before the descent
  started) and below the person's walking level, once learned;
- the speed is over the last 80% of the drop (noisy standing heights before it do not slow
  it), or a tracked downward velocity that fast (Doppler is evidence of speed);
- a descent carried along a walk of more than max(1 m, 2 x drop) is someone leaving the
  view, measured from the median position of the `WHERE_S` before it (a tracker's ghost of
  a few frames is not a walk);
- a track's first `WARMUP_S` is a descent's start only if the track showed the person at
  rest before it (`Track.at_rest_before`): trackers allocate a track with an unsettled
  height, and a gateway started next to someone lying down must not see a fall, but a
  clip or a track may begin a quarter of a second before a real fall.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from detectors.zones import INF

WARMUP_S = 0.5     # a descent must start at least this long after track birth
WALKED_ON_S = 0.5  # walking this long after a descent: not fallen
WHERE_S = 0.5      # where a descent started: the median position over this long
BEFORE_S = 1.0     # the level before a descent is the median of this long
WALK_MPS = 0.4     # moving at least this fast is walking (learns the standing height)
#: a newborn track shows the person at rest over this long (at least 3 samples): two frames
#: of a 10 Hz tracker, four at 20 Hz, the least over which a height's slope is not one
#: frame's noise (a choice, not fitted: no benchmark figure moved it)
REST_S = 0.2

#: (t, height) -> height; in C, as max's key and in smooth (every tracked sample)
_HEIGHT = itemgetter(1)


@dataclass(slots=True)
class Track:
    raw: deque[tuple[float, float]] = field(default_factory=deque)   # (t, height) over smooth_s
    hist: deque[tuple[float, float]] = field(default_factory=deque)  # (t, smoothed) in the descent window
    pos: deque[tuple[float, float, float]] = field(default_factory=deque)  # (t, x, y) in the window
    walk: deque[float] = field(default_factory=lambda: deque(maxlen=600))  # heights while walking
    born: float = INF
    last_t: float = -INF
    x: float = 0.0
    y: float = 0.0
    top: bool = False                            # heights are tops of the person (TLV 1012)
    cand: dict[str, float] | None = None         # a descent waiting for confirmation
    warm_vz: list[tuple[float, float]] = field(default_factory=list)  # (t, vz) in the warm-up

    def restart(self, t: float) -> None:
        """Seen again after a gap: heights from before say nothing about now (a tracker
        re-allocating, a person coming back into view), as for a new track."""
        self.born = t
        self.warm_vz.clear()
        self.raw.clear()
        self.hist.clear()
        self.pos.clear()

    def walking_level(self) -> float | None:
        """The height this person walks at (the 75th percentile of the heights seen while
        moving at walking speed), once there are 2 s of walking; None before."""
        if len(self.walk) < 40:
            return None
        return kth(np.fromiter(self.walk, dtype=np.float64), 0.75)

    def smooth(self, t: float, h: float, smooth_s: float) -> float:
        """The median height over the last smooth_s: a centroid from a few points jumps by
        tens of centimetres frame to frame while the person walks."""
        raw = self.raw
        raw.append((t, h))
        while len(raw) > 3 and raw[0][0] < t - smooth_s:
            raw.popleft()      # at least 3 samples: one stray frame never moves the median
        return median(list(map(_HEIGHT, raw)))

    def remember(self, t: float, x: float, y: float, h: float, vz: float,
                 window_s: float) -> None:
        """Keep the position and smoothed height over the descent window (and the tracked
        vertical speed over the warm-up)."""
        if t - self.born < WARMUP_S:
            self.warm_vz.append((t, vz))
        self.last_t, self.x, self.y = t, x, y
        pos = self.pos
        pos.append((t, x, y))
        while pos and pos[0][0] < t - window_s:
            pos.popleft()
        hist = self.hist
        hist.append((t, h))
        while hist and hist[0][0] < t - window_s:
            hist.popleft()

    def at_rest_before(self, t_hi: float, near_top: float) -> bool:
        """Whether a descent that starts in the track's first WARMUP_S was preceded by the
        person at rest. Every height before the descent's start lies near the top (within
        20% of the drop: `near_top`, the band that defines the descent's start), and the
        track's first REST_S (at least 3 samples, the level before's own minimum) shows
        the person still: the height not going down at WALK_MPS or faster, nor a tracked
        vertical velocity that fast. A tracker allocating a track gives a settling height
        (outside the band), and a track born while the person was already lowering
        themselves (onto a bed, as the gateway starts: the simulated day's first second)
        is going down from its first frame: neither is a person at rest. A fall caught a
        quarter of a second after a clip or a track began shows the person still first."""
        pre = [(tt, hh) for tt, hh in self.hist if tt <= t_hi]
        if len(pre) < 3 or min(hh for _, hh in pre) < near_top:
            return False
        rest = [p for p in pre if p[0] <= self.born + REST_S]
        if len(rest) < 3:
            rest = pre[:3]
        (t0, h0), (t1, h1) = rest[0], rest[-1]
        if (h0 - h1) / (t1 - t0) >= WALK_MPS:
            return False
        return all(vz > -WALK_MPS for tt, vz in self.warm_vz if tt <= rest[-1][0])

    def walking(self, t: float, x: float, y: float) -> bool:
        """Whether the track moved at walking pace (>= WALK_MPS) over the last half second."""
        ref = None
        since = t - 0.5
        for e in reversed(self.pos):   # in time order: the newest at or before `since`
            if e[0] <= since:
                ref = e
                break
        if ref is None or t - ref[0] > 1.5:
            return False
        return math.hypot(x - ref[1], y - ref[2]) >= WALK_MPS * (t - ref[0])

    def walked_on(self, cand: dict[str, float], t: float, x: float, y: float) -> bool:
        """Whether the person kept walking for WALKED_ON_S after the descent ended. A fallen
        person lies where they fell; a height that sinks while the person walks on is the
        radar's frame, not a fall: in a radar's own frame with an unknown tilt z changes
        with range, so walking towards it lowers z (the mmfall walking capture's real TI
        tracks lose up to 0.7 m of z per metre walked). walk_away_m catches a walk only
        after 0.8 m, which a short clip may never show."""
        if not self.walking(t, x, y):
            cand.pop("walk", None)
            return False
        return t - cand.setdefault("walk", t) >= WALKED_ON_S


def find_descent(tr: Track, t: float, x: float, y: float, h: float, vz: float,
                 need: float, need_speed: float, smooth_s: float) -> dict[str, float] | None:
    """The descent that ends at this sample (h, the smoothed height just remembered), as a
    candidate for confirmation, or None. `need`: least drop; `need_speed`: least speed."""
    hist = tr.hist
    t_top, h_top = max(hist, key=_HEIGHT)   # the first highest, as with a lambda key
    drop = h_top - h
    if drop < need:
        return None
    level = tr.walking_level()
    if level is not None and level - h < need:
        return None   # a dip from a stretch or a step, not low for this person
    # Speed over the descent itself: from the last moment the person was still near the
    # top (within 20% of the drop), so noisy standing heights before it do not slow it.
    t_hi = t_top
    thr = h + 0.8 * drop
    for tt, hh in reversed(hist):
        if hh >= thr:
            t_hi = tt
            break
    if t_hi - tr.born < WARMUP_S and not tr.at_rest_before(t_hi, thr):
        return None   # a newborn track's height is still settling, or already going down
  # a newborn track's height is still settling (tracker allocation)
    # the level the person was at before the descent: the median of the second before
    # it, so one high frame (a noisy centroid) is not taken for standing (median: the
    # same value as np.median, whose NaN check imports numpy.ma, 1.3 MB, at first call)
    before = [hh for tt, hh in hist if t_hi - BEFORE_S <= tt <= t_hi]
    if len(before) >= 3 and median(before) - h < need:
        return None
    speed = (0.8 * drop) / (t - t_hi) if t > t_hi else INF
    speed = max(min(speed, 20.0), -vz)
    if speed < need_speed:
        return None
    # a drop carried along a long walk (someone leaving the field of view) is not a fall
    # where the person was when the descent began (the median position over the half
    # second before) and is now (over smooth_s): a tracker's position jumps metres for a
    # few frames when it grabs a ghost (SafeSenior fall_5: three frames 2.6 m away
    # right at the descent's start), which a single frame would take for a walk
    pos = tr.pos
    x0, y0 = median_xy([p for p in pos if t_hi - WHERE_S <= p[0] <= t_hi]) or (x, y)
    x1, y1 = median_xy([p for p in pos if p[0] >= t - smooth_s]) or (x, y)
    if math.hypot(x1 - x0, y1 - y0) > max(1.0, 2.0 * drop):
        return None
    return {"t": t, "drop": drop, "speed": speed, "top": h_top, "h": h, "x": x, "y": y,
            "level": -INF if level is None else level}


def kth(a: np.ndarray, q: float) -> float:
    """The q-quantile by selection (no interpolation): np.quantile's overhead is ten times
    the work on a few dozen radar points."""
    k = int(q * (len(a) - 1) + 0.5)
    return float(np.partition(a, k)[k])


def median_xy(pos: list[tuple[float, float, float]]) -> tuple[float, float] | None:
    """The median x and y of (t, x, y) samples, None for none."""
    if not pos:
        return None
    return median([p[1] for p in pos]), median([p[2] for p in pos])


def median(values: list[float]) -> float:
    """np.median of a handful of heights, without numpy's per-call cost (this runs for
    every tracked sample): the same value, NaN included."""
    vals = sorted(values)
    n = len(vals)
    if n == 0 or any(map(math.isnan, vals)):   # map: no generator frame per value
        return math.nan
    m = n // 2
    return float(vals[m]) if n % 2 else float((vals[m - 1] + vals[m]) / 2.0)
