"""Not up by the usual time: silent while learning, robust usual time, DST, away, restart."""

from __future__ import annotations

import random

import pytest

from detectors.routine import NotUpDetector
from tests.support.home_stream import CLOCK, SENSORS, TZ, at, days, door, heartbeat_noise, motion, near, of_type, ordinary_day, restart, run


def make(**kw) -> NotUpDetector:
    return NotUpDetector(NotUpDetector.Settings(timezone=TZ, **kw), SENSORS)


def late_morning(day: int) -> list:
    """The resident is in bed at night, and then nothing happens until noon."""
    return heartbeat_noise(at(day, "04:00"), at(day, "12:00"))


def test_silent_before_fourteen_mornings_are_learned():
    det = make()
    found = run(det, days(13) + late_morning(13))
    assert of_type(found, "not_up") == []
    assert det.usual() is None
    assert len(det.days) == 13


def test_after_fourteen_mornings_a_silent_morning_alarms_at_usual_plus_margin():
    det = make()
    found = run(det, days(14) + late_morning(14))
    alarms = of_type(found, "not_up")
    assert len(alarms) == 1
    usual, margin = det.usual()
    assert 7 * 60 - 15 <= usual <= 7 * 60 + 15
    assert margin == pytest.approx(60.0)           # a regular sleeper gets the least margin
    assert alarms[0].occurred_at == near(CLOCK.at(CLOCK.day(at(14, "12:00")), usual + margin))
    ev = alarms[0].evidence
    assert ev["usual_hour"] == 7 or (ev["usual_hour"] == 6 and ev["usual_minute"] >= 45)
    assert ev["days_learned"] == 14
    assert ev["hours_inactive"] > 3   # since the 03:00 toilet trip


def test_getting_up_a_little_late_is_not_an_alarm():
    det = make()
    late = [motion(p, at(14, hhmm)) for p, hhmm in (("pir_bed", "07:50"), ("pir_bath", "07:55"),
                                                  ("pir_kitchen", "08:05"), ("pir_hall", "08:20"))]
    late += heartbeat_noise(at(14, "08:21"), at(14, "12:00"))
    assert of_type(run(det, days(14) + late), "not_up") == []


def test_a_night_toilet_trip_after_four_is_not_up_and_up_then_silent_is_alarmed():
    trip = [motion("pir_bath", at(14, "04:40")), motion("pir_bed", at(14, "04:46"))]
    alarms = of_type(run(make(), days(14) + sorted(trip + late_morning(14), key=lambda r: r.t)),
                     "not_up")
    assert len(alarms) == 1
    det = make()
    run(det, days(14))
    usual, margin = det.usual()
    deadline = CLOCK.at(CLOCK.day(at(14, "12:00")), usual + margin)
    # Up just before the deadline, then silent: alarmed when the bout lapses (30 min).
    collapse = [motion("pir_bed", deadline - 300), motion("pir_bath", deadline - 180)]
    alarms = of_type(run(det, collapse + heartbeat_noise(deadline - 170, at(14, "12:00"))), "not_up")
    assert [a.occurred_at for a in alarms] == [near(deadline - 180 + 1800)]


def test_a_few_odd_mornings_do_not_move_the_usual_time_much():
    rng = random.Random(4)
    stream = []
    for d in range(20):
        stream += ordinary_day(d, rng, wake="11:00" if d in (3, 9, 15) else "07:00", jitter_min=10)
    det = make()
    run(det, sorted(stream, key=lambda r: r.t))
    usual, margin = det.usual()
    assert abs(usual - 420) < 15
    assert margin < 90


def test_an_irregular_sleeper_gets_a_wider_margin_capped_by_the_settings():
    det = make(max_margin_minutes=150)
    run(det, days(20, jitter_min=90))
    usual, margin = det.usual()
    assert 60 < margin <= 150


def test_away_overnight_suppresses_the_alarm_and_is_not_learned():
    det = make()
    leave = at(13, "21:00")
    stream = days(13) + [motion("pir_hall", leave - 30)] + door(leave)
    stream += heartbeat_noise(leave + 60, at(14, "12:00"))
    assert of_type(run(det, stream), "not_up") == []
    assert len(det.days) == 13


def test_learned_mornings_survive_a_restart():
    det = make()
    run(det, days(14))
    fresh = restart(make, det)
    assert fresh.usual() == pytest.approx(det.usual(), abs=0.01)
    alarms = of_type(run(fresh, late_morning(14)), "not_up")
    assert len(alarms) == 1


def test_usual_time_is_local_time_across_the_daylight_saving_change():
    # DST starts on day 27 (2026-03-29); the resident keeps getting up at 07:00 local.
    det = make()
    run(det, days(30, jitter_min=5))
    usual, margin = det.usual()
    assert abs(usual - 420) < 6
    alarms = of_type(run(det, late_morning(30)), "not_up")
    local = CLOCK.local(alarms[0].occurred_at)
    assert local.utcoffset().total_seconds() == 3 * 3600          # summer time by now
    assert abs(local.hour * 60 + local.minute - (usual + margin)) <= 1


def test_tick_alarms_in_a_completely_silent_home():
    det = make()
    run(det, days(14))
    found = []
    t = at(14, "04:00")
    while t < at(14, "12:00"):
        found += det.tick(t)
        t += 60
    assert len(of_type(found, "not_up")) == 1


def test_state_is_small_and_json():
    det = make()
    run(det, days(42))
    import json
    text = json.dumps(det.state())
    assert 40 <= len(det.days) <= 42 and len(text) < 2000   # only history_days are kept


def test_restless_sleep_seen_by_the_bedroom_pir_is_not_up_when_the_bedroom_is_ignored():
    det = make(ignore_rooms=["bedroom"])
    restless = [motion("pir_bed", at(14, f"05:{m:02d}")) for m in range(0, 40, 5)]
    morning = restless + late_morning(14)
    stream = days(14) + sorted(morning, key=lambda r: r.t)
    assert len(of_type(run(det, stream), "not_up")) == 1
    det = make()
    assert of_type(run(det, stream), "not_up") == []


def test_a_shaken_wristband_in_bed_is_not_up():
    import numpy as np

    from sensordata.readings import AccelBlock
    t = at(14, "06:00") + np.arange(250) / 50
    shake = AccelBlock("band", t, np.column_stack([np.zeros(250), np.zeros(250),
                                                   1 + 0.2 * np.sin(t * 9)]))
    stream = days(14) + sorted([shake] + late_morning(14), key=lambda r: r.t if not hasattr(r, "xyz") else r.t[-1])
    assert len(of_type(run(make(), stream), "not_up")) == 1
