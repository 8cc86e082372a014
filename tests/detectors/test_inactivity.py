"""Fixed-timer inactivity: windows, suspension after an alarm, away suspension, tick, restart."""

from __future__ import annotations

import pytest

from detectors.inactivity import InactivityDetector
from sensordata.readings import Contact, HeartRate, Motion, Presence
from tests.support.home_stream import SENSORS, TZ, at, door, heartbeat_noise, motion, near, of_type, restart, run


def make(**kw) -> InactivityDetector:
    return InactivityDetector(InactivityDetector.Settings(timezone=TZ, **kw), SENSORS)


def test_no_activity_for_the_set_hours_raises_once_at_the_deadline():
    det = make(hours=12)
    start = at(0, "08:00")
    found = run(det, [motion("pir_kitchen", start)] + heartbeat_noise(start + 60, start + 20 * 3600))
    alarms = of_type(found, "inactivity")
    assert len(alarms) == 1
    assert alarms[0].occurred_at == near(start + 12 * 3600)
    assert alarms[0].evidence["hours_inactive"] == pytest.approx(12.0)
    assert alarms[0].evidence["last_activity"] == start


def test_heart_rate_and_still_presence_are_not_activity_but_moving_presence_is():
    start = at(0, "08:00")
    quiet = [HeartRate("band", start + i * 600, 70, contact=True) for i in range(1, 30)]
    quiet += [Presence("radar_bath", start + 3600, True, moving=False)]
    det = make(hours=2)
    assert len(of_type(run(det, [motion("pir_hall", start)] + sorted(quiet, key=lambda r: r.t)),
                       "inactivity")) == 1
    moving = sorted(quiet + [Presence("radar_bath", start + 5400, True, moving=True)], key=lambda r: r.t)
    det = make(hours=2)
    alarms = of_type(run(det, [motion("pir_hall", start)] + moving), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(start + 5400 + 7200)]


def test_check_window_counts_only_in_window_time_so_a_night_does_not_use_the_timer_up():
    # "Some movement between 07 and 10": hours=3 inside 07:00-10:00.
    det = make(hours=3, windows=["07:00-10:00"])
    evening = at(0, "22:00")
    stream = [motion("pir_bed", evening)] + heartbeat_noise(evening + 60, at(1, "12:00"))
    alarms = of_type(run(det, stream), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(at(1, "10:00"))]
    assert alarms[0].evidence["hours_inactive"] == pytest.approx(12.0)
    assert alarms[0].evidence["windowed"] == 1.0

    det = make(hours=3, windows=["07:00-10:00"])
    stream = [motion("pir_bed", evening), motion("pir_bath", at(1, "08:30"))]
    stream += heartbeat_noise(at(1, "08:31"), at(1, "12:00"))
    assert of_type(run(det, stream), "inactivity") == []


def test_after_an_alarm_the_timer_waits_for_activity_then_rearms():
    det = make(hours=1)
    t0 = at(0, "09:00")
    stream = [motion("pir_hall", t0)] + heartbeat_noise(t0 + 60, t0 + 5 * 3600)
    stream += [motion("pir_hall", t0 + 5 * 3600 + 30)] + heartbeat_noise(t0 + 5 * 3600 + 60, t0 + 7 * 3600)
    alarms = of_type(run(det, sorted(stream, key=lambda r: r.t)), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(t0 + 3600),
                                               near(t0 + 5 * 3600 + 30 + 3600)]


def test_away_door_then_nothing_inside_suspends_until_someone_is_home_again():
    det = make(hours=3)
    t0 = at(0, "09:00")
    out_at = t0 + 300
    stream = [motion("pir_hall", t0), motion("pir_hall", out_at - 20)] + door(out_at)
    stream += heartbeat_noise(out_at + 60, out_at + 10 * 3600)
    assert of_type(run(det, stream), "inactivity") == []
    assert det.home.away
    back = out_at + 10 * 3600 + 100
    later = door(back) + [motion("pir_hall", back + 15)] + heartbeat_noise(back + 60, back + 5 * 3600)
    alarms = of_type(run(det, later), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(back + 15 + 3 * 3600)]


def test_door_followed_by_activity_inside_is_not_away():
    det = make(hours=3)
    t0 = at(0, "09:00")
    stream = door(t0) + [motion("pir_kitchen", t0 + 60)] + heartbeat_noise(t0 + 120, t0 + 5 * 3600)
    alarms = of_type(run(det, stream), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(t0 + 60 + 3 * 3600)]


def test_radar_presence_after_an_away_hold_releases_the_alarm_at_that_moment():
    det = make(hours=2)
    t0 = at(0, "09:00")
    stream = [motion("pir_hall", t0)] + door(t0 + 60) + heartbeat_noise(t0 + 120, t0 + 4 * 3600)
    seen = t0 + 4 * 3600 + 5
    stream += [Presence("radar_bath", seen, True, moving=False)]
    alarms = of_type(run(det, stream), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(seen)]


def test_tick_raises_without_readings_at_the_same_time_as_a_reading_would():
    t0 = at(0, "09:00")
    det = make(hours=1)
    det.feed([motion("pir_hall", t0)])
    assert det.tick(t0 + 3599) == []
    ticked = det.tick(t0 + 3660)
    fed = run(make(hours=1), [motion("pir_hall", t0), Contact("door", t0 + 3660 + 0.5, True)])
    assert [d.occurred_at for d in ticked] == [d.occurred_at for d in of_type(fed, "inactivity")]
    assert det.tick(t0 + 7200) == []


def test_state_round_trip_keeps_the_timer_running_across_a_restart():
    t0 = at(0, "09:00")
    before = [motion("pir_hall", t0)] + heartbeat_noise(t0 + 60, t0 + 3600)
    after = heartbeat_noise(t0 + 3600 + 60, t0 + 8 * 3600)
    det = make(hours=4)
    run(det, before)
    fresh = restart(lambda: make(hours=4), det)
    alarms = of_type(run(fresh, after), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(t0 + 4 * 3600)]


def test_bad_window_is_refused_at_config_load():
    with pytest.raises(ValueError):
        make(windows=["7-25"])
    with pytest.raises(ValueError):
        make(unknown_key=1)
    with pytest.raises(ValueError):
        InactivityDetector.Settings(timezone="Mars/Olympus")
    assert make().settings.hours == 12.0


def test_motion_end_is_not_activity():
    t0 = at(0, "09:00")
    det = make(hours=1)
    alarms = of_type(run(det, [motion("pir_hall", t0), Motion("pir_hall", t0 + 1800, False),
                               Contact("door", t0 + 3700, True)]), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(t0 + 3600)]


def test_a_restart_after_a_long_outage_counts_again_instead_of_alarming_at_once():
    t0 = at(0, "09:00")
    det = make(hours=4)
    run(det, [motion("pir_hall", t0)])
    fresh = restart(lambda: make(hours=4), det)
    resume = t0 + 6 * 3600                       # the gateway was off for six hours
    assert run(fresh, heartbeat_noise(resume, resume + 3 * 3600)) == []
    assert [d.occurred_at for d in fresh.tick(resume + 4 * 3600 + 1)] == [near(resume + 4 * 3600)]
    quick = restart(lambda: make(hours=4), det)   # a reboot of a few minutes keeps the timer
    assert quick.tick(t0 + 300) == []
    assert [d.occurred_at for d in quick.tick(t0 + 4 * 3600 + 1)] == [near(t0 + 4 * 3600)]
