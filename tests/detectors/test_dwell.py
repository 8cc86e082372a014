"""Bathroom dwell (detectors/dwell.py): one of the two silent emergencies of a home at night
(the other is the night door, tests/detectors/test_night_door.py)."""

from __future__ import annotations

import pytest

from detectors.base import SensorMeta
from detectors.dwell import DwellDetector
from sensordata.readings import Contact, Presence
from tests.support.home_stream import SENSORS, at, heartbeat_noise, motion, near, of_type, restart, run


def dwell(**kw) -> DwellDetector:
    return DwellDetector(DwellDetector.Settings(**kw), SENSORS)


def test_in_the_bathroom_past_the_limit_raises_once_with_the_minutes():
    t0 = at(0, "10:00")
    stream = [motion("pir_hall", t0 - 60), motion("pir_bath", t0), motion("pir_bath", t0 + 600)]
    stream += heartbeat_noise(t0 + 700, t0 + 3 * 3600)
    found = of_type(run(dwell(), stream), "dwell_exceeded")
    assert len(found) == 1
    assert found[0].room == "bathroom"
    assert found[0].occurred_at == near(t0 + 3600)
    assert found[0].evidence["minutes"] == pytest.approx(60.0)


def test_leaving_the_bathroom_ends_the_stay():
    t0 = at(0, "10:00")
    stream = [motion("pir_bath", t0), motion("pir_kitchen", t0 + 1200)]
    stream += heartbeat_noise(t0 + 1300, t0 + 3 * 3600)
    assert of_type(run(dwell(), stream), "dwell_exceeded") == []


def test_a_bathroom_radar_reporting_nobody_ends_the_stay():
    t0 = at(0, "10:00")
    stream = [motion("pir_bath", t0), Presence("radar_bath", t0 + 300, False)]
    stream += heartbeat_noise(t0 + 400, t0 + 3 * 3600)
    assert of_type(run(dwell(), stream), "dwell_exceeded") == []


def test_rooms_without_a_limit_are_not_watched():
    t0 = at(0, "10:00")
    stream = [motion("pir_kitchen", t0)] + heartbeat_noise(t0 + 60, t0 + 10 * 3600)
    assert of_type(run(dwell(), stream), "dwell_exceeded") == []


def test_the_limit_tightens_to_this_residents_own_stays_but_not_below_min_minutes():
    t, stream = at(0, "08:00"), []
    for _ in range(25):          # 25 five-minute visits, walking in from the hall
        stream += [motion("pir_hall", t - 30), motion("pir_bath", t), motion("pir_hall", t + 300)]
        t += 3600
    stream += [motion("pir_hall", t - 30), motion("pir_bath", t)] + heartbeat_noise(t + 60, t + 3 * 3600)
    det = dwell(min_minutes=20.0)
    found = of_type(run(det, stream), "dwell_exceeded")
    assert det.limit_minutes("bathroom") == pytest.approx(20.0)   # 3 x 5 min < 20 min floor
    assert [d.occurred_at for d in found] == [near(t + 20 * 60)]
    assert found[0].evidence["usual_minutes"] == pytest.approx(5.0)
    fresh = restart(lambda: dwell(min_minutes=20.0), det)
    assert fresh.limit_minutes("bathroom") == pytest.approx(20.0)


def test_dwell_tick_raises_in_a_silent_home():
    t0 = at(0, "10:00")
    det = dwell()
    det.feed([motion("pir_hall", t0 - 40), motion("pir_bath", t0)])
    assert det.tick(t0 + 3500) == []
    assert [d.occurred_at for d in det.tick(t0 + 3700)] == [near(t0 + 3600)]


def test_a_restart_after_a_long_outage_counts_the_stay_again_instead_of_alarming():
    t0 = at(0, "10:00")
    det = dwell()
    run(det, [motion("pir_hall", t0 - 60), motion("pir_bath", t0)])
    fresh = restart(dwell, det)
    resume = t0 + 2 * 3600                       # the gateway was off for two hours
    assert run(fresh, [Presence("radar_bath", resume, True, moving=False)]) == []
    assert [d.occurred_at for d in fresh.tick(resume + 3700)] == [near(resume + 3600)]
    quick = restart(dwell, det)                  # a reboot of two minutes keeps the stay
    assert quick.tick(t0 + 120) == []
    assert [d.occurred_at for d in quick.tick(t0 + 3700)] == [near(t0 + 3600)]


def test_a_silent_home_without_a_restart_still_alarms_on_the_next_reading():
    t0 = at(0, "10:00")
    stream = [motion("pir_hall", t0 - 60), motion("pir_bath", t0),
              Presence("radar_bath", t0 + 3 * 3600, True, moving=False)]
    assert [d.occurred_at for d in run(dwell(), stream)] == [near(t0 + 3600)]


def bath_sensors():
    return {**SENSORS, "door_bath": SensorMeta("door_bath", "zigbee2mqtt", room="bathroom")}


def test_opening_the_bathroom_door_to_leave_for_an_unsensed_bedroom_ends_the_stay():
    t0 = at(0, "22:30")
    stream = [Contact("door_bath", t0, True), motion("pir_bath", t0 + 3), Contact("door_bath", t0 + 8, False),
              Contact("door_bath", t0 + 200, True), Contact("door_bath", t0 + 205, False)]
    stream += heartbeat_noise(t0 + 300, t0 + 4 * 3600)
    det = DwellDetector(DwellDetector.Settings(), bath_sensors())
    assert of_type(run(det, stream), "dwell_exceeded") == []
    assert det.visits["bathroom"] == [pytest.approx(197.0)]
    keep = DwellDetector(DwellDetector.Settings(door_ends_stay=False), bath_sensors())
    assert [d.occurred_at for d in run(keep, stream)] == [near(t0 + 3 + 3600)]


def test_closing_the_door_behind_you_does_not_end_the_stay():
    t0 = at(0, "10:00")
    stream = [Contact("door_bath", t0, True), motion("pir_bath", t0 + 3), Contact("door_bath", t0 + 8, False)]
    stream += heartbeat_noise(t0 + 300, t0 + 3 * 3600)
    det = DwellDetector(DwellDetector.Settings(), bath_sensors())
    assert [d.occurred_at for d in run(det, stream)] == [near(t0 + 3 + 3600)]


def test_the_weekly_long_bath_does_not_become_an_alarm():
    t, stream = at(0, "08:00"), []
    for i in range(30):          # short visits and one 40-minute bath
        stay = 2400 if i == 10 else 300
        stream += [motion("pir_bath", t), motion("pir_bath", t + stay - 30), motion("pir_hall", t + stay)]
        t += 3 * 3600
    det = dwell(min_minutes=20.0)
    run(det, stream)
    assert det.limit_minutes("bathroom") == pytest.approx(60.0)    # 1.5 x 40 min, capped at 60


def test_a_lone_trigger_nobody_walked_in_for_is_no_stay_a_collapse_after_walking_in_is():
    """Asleep in the bedroom (no sensor sees the bed), the bathroom PIR fires once at 03:00
    by itself (the heating, or the sleeper seen through the door): nobody was seen going
    in, so it is no stay and no alarm, and it does not teach the limit. Walking in from
    the hall, or moving in there twice, is someone: then silence is the alarm."""
    t0 = at(0, "03:00")
    lone = [motion("pir_bed", t0 - 3 * 3600), motion("pir_bath", t0)]
    lone += heartbeat_noise(t0 + 60, t0 + 4 * 3600) + [motion("pir_bed", t0 + 4 * 3600 + 60)]
    det = dwell()
    assert of_type(run(det, lone), "dwell_exceeded") == [] and det.visits["bathroom"] == []
    walked = [motion("pir_bed", t0 - 50), motion("pir_bath", t0)] + heartbeat_noise(t0 + 60, t0 + 2 * 3600)
    assert [d.occurred_at for d in of_type(run(dwell(), walked), "dwell_exceeded")] == [near(t0 + 3600)]
    moved = [motion("pir_bed", t0 - 3 * 3600), motion("pir_bath", t0), motion("pir_bath", t0 + 40)]
    moved += heartbeat_noise(t0 + 60, t0 + 2 * 3600)
    assert [d.occurred_at for d in of_type(run(dwell(), moved), "dwell_exceeded")] == [near(t0 + 3600)]
