"""One track's descent (detectors/radar_descent.py), judged without the detector around it:
the level before, the speed over the last 80% of the drop, the warm-up, the walk check."""

from __future__ import annotations

import math
import random

import numpy as np

from detectors.radar_descent import Track, find_descent, median

HZ = 20.0


def judge(heights: list[float], xs: list[float] | None = None, born: float = 0.0,
          need: float = 0.4, speed: float = 0.7,
          vzs: list[float] | None = None) -> list[dict[str, float]]:
    """Feed a radar-frame centroid track at HZ as the detector does; every candidate."""
    tr = Track(born=born)
    got = []
    for i, h in enumerate(heights):
        t = i / HZ
        x = xs[i] if xs else 1.0
        s = tr.smooth(t, h, 0.3)
        tr.remember(t, x, 2.0, s, vzs[i] if vzs else 0.0, 2.0)
        c = find_descent(tr, t, x, 2.0, s, 0.0, need, speed, 0.3)
        if c is not None:
            got.append(c)
    return got


def ramp(start: float, end: float, seconds: float) -> list[float]:
    n = max(1, int(round(seconds * HZ)))
    return list(np.linspace(start, end, n + 1)[1:])


STAND = [0.0] * 40                           # 2 s standing (radar frame: z 0 at the centroid)
FALL = STAND + ramp(0.0, -0.6, 0.3) + [-0.6] * 40
LOWER = STAND + ramp(0.0, -0.6, 1.5) + [-0.6] * 40


def test_a_fast_drop_from_a_steady_level_is_a_descent_with_its_drop_and_speed():
    got = judge(FALL)
    assert got, "a 0.6 m drop in 0.3 s is a descent"
    c = got[0]
    assert c["drop"] >= 0.4 and c["speed"] >= 0.7 and c["top"] == 0.0


def test_a_slow_lowering_is_not():
    assert judge(LOWER) == []


def test_a_drop_smaller_than_need_is_not():
    assert judge(STAND + ramp(0.0, -0.3, 0.2) + [-0.3] * 40) == []


def test_a_drop_from_rest_in_the_tracks_first_half_second_is_judged():
    # a clip (or a track) that begins a quarter of a second before the fall: the person is
    # seen still for 5 frames, then drops
    assert judge(FALL[35:])
    assert judge(FALL[26:])                    # 0.7 s of track before it: outside the warm-up


def test_a_track_born_while_already_going_down_is_not_a_fall():
    # the gateway starts (or the tracker allocates) while the person lowers themselves onto
    # a bed, already 1 m/s down when first seen, faster after: fast enough for the
    # descent rule, but there was no rest before it (the simulated day's first second)
    lie = ramp(0.0, -0.2, 0.2) + ramp(-0.2, -0.9, 0.4) + [-0.9] * 40
    assert judge(lie) == []
    assert judge([0.0] * 5 + ramp(0.0, -0.7, 0.3) + [-0.7] * 40), "the same drop from rest"


def test_a_settling_or_descending_newborn_track_is_not_at_rest():
    # a tracker's height settling at allocation: the first samples wander by more than 20%
    # of the drop before the descent
    settle = [0.0, 0.3, -0.1, 0.0, 0.0] + ramp(0.0, -0.6, 0.3) + [-0.6] * 40
    assert judge(settle) == []
    # still heights, but the tracker's own vertical velocity says it is already going down
    still = [0.0] * 5 + ramp(0.0, -0.6, 0.3) + [-0.6] * 40
    assert judge(still)
    assert judge(still, vzs=[-0.8] * len(still)) == []
    # a radar that reports the fall's own Doppler: the rest before it is what counts
    assert judge(still, vzs=[0.0] * 5 + [-2.0] * 6 + [0.0] * 40)


def test_a_drop_carried_along_a_walk_is_someone_leaving_the_view():
    # 0.6 m lower over 1 s while walking on at 2 m/s (judged at 0.3 m/s so speed passes)
    low = STAND + ramp(0.0, -0.6, 1.0) + [-0.6] * 20
    xs = [1.0] * 40 + [1.0 + 0.1 * k for k in range(1, len(low) - 39)]
    assert judge(low, xs=xs, speed=0.3) == []
    assert judge(low, speed=0.3), "the same lowering in place is a descent"


def test_the_smoothing_median_is_numpys_to_the_last_bit():
    """The descent's own median (it runs for every tracked sample) gives np.median's value."""
    rng = random.Random(7)
    for n in range(1, 12):
        for _ in range(200):
            vals = [rng.uniform(-0.5, 2.2) for _ in range(n)]
            assert median(vals) == float(np.median(vals))
    assert math.isnan(median([1.0, float("nan"), 0.5]))
