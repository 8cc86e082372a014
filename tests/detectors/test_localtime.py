"""Local-time windows for the routine detectors: over midnight and over DST changes."""

from __future__ import annotations

import pytest

from detectors.localtime import LocalClock, parse_window
from tests.support.home_stream import CLOCK, at, near


def test_window_parsing_names_the_bad_text():
    assert parse_window("07:00-10:00") == (420, 600)
    assert parse_window("22:00-06:00") == (1320, 360)
    assert parse_window("00:00-24:00") == (0, 1440)
    for bad in ("7-25", "07:00", "10:00-10:00", "07:61-08:00"):
        with pytest.raises(ValueError, match="window|time"):
            parse_window(bad)


def test_in_window_over_midnight():
    night = [parse_window("22:00-06:00")]
    assert CLOCK.in_windows(at(0, "23:30"), night)
    assert CLOCK.in_windows(at(1, "05:59"), night)
    assert not CLOCK.in_windows(at(1, "06:00"), night)
    assert not CLOCK.in_windows(at(1, "12:00"), night)


def test_timer_counting_only_night_time_crosses_midnight():
    night = [parse_window("22:00-06:00")]
    assert CLOCK.window_seconds_to_deadline(at(0, "12:00"), 3 * 3600, night) == near(at(1, "01:00"))
    assert CLOCK.window_seconds_to_deadline(at(1, "05:00"), 2 * 3600, night) == near(at(1, "23:00"))


def test_the_short_night_of_the_dst_change_has_one_hour_less():
    # 2026-03-29: clocks go from 03:00 to 04:00 in Helsinki; 22:00-06:00 lasts 7 h that night.
    night = [parse_window("22:00-06:00")]
    start = at(26, "22:00")
    end = CLOCK.window_seconds_to_deadline(start, 7 * 3600, night)
    assert CLOCK.local(end).strftime("%H:%M") == "06:00" and end - start == 7 * 3600


def test_other_zones_are_honoured():
    sto = LocalClock("Europe/Stockholm")
    t = at(0, "08:00")              # 08:00 in Helsinki is 07:00 in Stockholm
    assert sto.minute_of_day(t) == 7 * 60
