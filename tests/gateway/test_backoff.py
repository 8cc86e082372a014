"""The shared backoff policy: exponential, capped, jittered, and it starts small again."""

import random

from gateway.backoff import backoff_delay


def test_grows_exponentially_then_caps_and_stays_within_jitter():
    rng = random.Random(7)
    for failures, base in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (60, 30.0)]:
        for _ in range(50):
            d = backoff_delay(failures, 1.0, 30.0, rng)
            assert base * 0.5 <= d <= base


def test_jitter_spreads_a_crowd():
    rng = random.Random(1)
    delays = [backoff_delay(4, 1.0, 30.0, rng) for _ in range(300)]
    assert max(delays) - min(delays) > 2.5   # 300 gateways do not return in one instant


def test_a_first_failure_waits_the_minimum_whatever_came_before():
    assert backoff_delay(1, 0.2, 30.0, random.Random(3)) <= 0.2
