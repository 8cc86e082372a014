"""The features of one impact episode: the arm's rhythm, the similar peaks, the descent."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.wearable_features import arm_rhythm, free_fall_s, similar_peaks

DT = 0.04   # the detector's 25 Hz grid


def _still(n: int) -> np.ndarray:
    return np.tile([0.0, 0.0, 1.0], (n, 1))


def test_one_impact_and_its_rebound_are_one_peak_clapping_is_many():
    peak = np.ones(100)
    peak[50], peak[53] = 6.0, 4.0            # impact and a rebound 0.12 s later
    assert similar_peaks(peak, 50, DT) == 1
    peak[62] = 4.0                            # a second hit 0.48 s later: still a fall's
    assert similar_peaks(peak, 50, DT) == 2
    claps = np.ones(100)
    claps[10:100:12] = [4.0, 4.2, 3.9, 4.1, 4.4, 4.0, 3.8, 4.2]   # clapping every 0.48 s
    assert similar_peaks(claps, 58, DT) == 8
    small = np.ones(100)
    small[50], small[20:40:5] = 6.0, 2.5      # arm swings well under half the impact's excess
    assert similar_peaks(small, 50, DT) == 1


def test_arm_rhythm_is_high_for_a_repeated_movement_and_low_for_one_impact():
    t = np.arange(100) * DT
    wave = _still(100)
    wave[:, 0] = 1.2 * np.sin(2 * np.pi * 2.0 * t)        # waving at 2 Hz
    assert arm_rhythm(wave, DT) > 0.7
    fall = _still(100)
    fall[50] = [0.0, 0.0, 6.0]
    assert arm_rhythm(fall, DT) < 0.1
    assert arm_rhythm(_still(100), DT) == 0.0               # nothing moves: no rhythm
    assert arm_rhythm(_still(10), DT) == 0.0                # too short to tell


def test_free_fall_is_the_longest_run_under_0_6_g():
    x = _still(25)
    x[5:9] = [0.0, 0.0, 0.3]                  # 4 grid points = 0.16 s
    x[15:17] = [0.0, 0.0, 0.5]
    assert free_fall_s(x, DT) == pytest.approx(0.16)
    assert free_fall_s(_still(25), DT) == 0.0
