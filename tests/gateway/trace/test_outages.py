"""A logger outage is a silence of every sensor, the level sensors too (which write
whatever the resident does); a silence while they keep writing is a quiet home, and a log
without level sensors has no outages at all (gateway/trace/outages.py)."""

from __future__ import annotations

from gateway.trace.outages import OUTAGE_MIN_S, OutageFinder

H = 3600.0


def _finder(times_levels):
    f = OutageFinder()
    for t, level in times_levels:
        f.add(t, level)
    return f


def test_every_sensor_silent_for_a_day_is_an_outage_when_levels_were_writing():
    lines = [(i * 600.0, i % 3 == 0) for i in range(800)]          # a level line every 30 min
    end = lines[-1][0]
    lines += [(end + 30 * H + i * 600.0, i % 3 == 0) for i in range(400)]
    assert _finder(lines).outages() == [(end, end + 30 * H)]


def test_a_quiet_home_whose_level_sensors_keep_writing_has_no_outage():
    levels = [(i * 1800.0, True) for i in range(400)]             # the temperature goes on
    motion = [(i * 60.0, False) for i in range(300)]              # then nobody moves for days
    lines = sorted(levels + motion)
    assert _finder(lines).outages() == []


def test_a_log_without_level_sensors_has_no_outages_however_long_the_silence():
    lines = [(i * 60.0, False) for i in range(500)] + [(500 * 60.0 + 48 * H, False)]
    assert _finder(lines).outages() == [], "nothing tells a dead logger from a collapse"


def test_a_silence_shorter_than_the_levels_own_longest_is_not_an_outage():
    # a level sensor that writes only on change: up to 2 h apart at night
    lines = [(i * 2 * H, True) for i in range(200)]
    assert OUTAGE_MIN_S < 3 * 2 * H
    assert _finder(lines + [(398 * H + 5 * H, True)]).outages() == []
    assert _finder(lines + [(398 * H + 7 * H, True)]).outages() == [(398 * H, 405 * H)]
