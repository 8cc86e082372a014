"""What real homes taught the home detectors (WSU CASAS): an empty home is not silent, the
entrance PIR fires after the door closes behind someone leaving, a home may have no door
contact at all, sensors stick ON, late nights happen."""

from __future__ import annotations

import json

from detectors.base import SensorMeta
from detectors.inactivity import InactivityDetector
from detectors.routine import NotUpDetector
from detectors.sensor_stuck import SensorStuckDetector
from sensordata.readings import Motion, Presence
from tests.support.home_stream import CLOCK, DAY0, SENSORS, TZ, at, door, heartbeat_noise, motion, near, of_type, run

ENTRY_ONLY = {  # a CASAS home with motion sensors only; the entrance PIR stands in for the door
    "kitchen": SensorMeta("kitchen", "casas", room="kitchen"),
    "bath": SensorMeta("bath", "casas", room="bathroom"),
    "entry": SensorMeta("entry", "casas", room="entrance", role="entrance"),
}


def inactivity(sensors=SENSORS, **kw) -> InactivityDetector:
    return InactivityDetector(InactivityDetector.Settings(timezone=TZ, **kw), sensors)


def test_a_lone_trigger_in_an_empty_home_does_not_end_the_away():
    det = inactivity(hours=3)
    t0 = at(0, "09:00")
    stream = [motion("pir_kitchen", t0)] + door(t0 + 60)
    stream += [motion("pir_bath", t0 + 4 * 3600), motion("pir_kitchen", t0 + 9 * 3600)]
    stream += heartbeat_noise(t0 + 120, t0 + 20 * 3600)
    assert of_type(run(det, sorted(stream, key=lambda r: r.t)), "inactivity") == []
    assert det.home.away


def test_a_burst_of_activity_ends_the_away_even_without_the_door():
    det = inactivity(hours=3)
    t0 = at(0, "09:00")
    back = t0 + 5 * 3600
    stream = [motion("pir_kitchen", t0)] + door(t0 + 60)
    stream += [motion("pir_hall", back), motion("pir_kitchen", back + 40)]
    stream += heartbeat_noise(t0 + 120, back + 5 * 3600)
    alarms = of_type(run(det, sorted(stream, key=lambda r: r.t)), "inactivity")
    assert [a.occurred_at for a in alarms] == [near(back + 40 + 3 * 3600)]


def test_the_entrance_pir_seeing_the_resident_leave_is_not_someone_at_home():
    det = inactivity(hours=3)
    t0 = at(0, "09:00")
    stream = [motion("pir_kitchen", t0)] + door(t0 + 60) + [motion("pir_hall", t0 + 95)]
    stream += heartbeat_noise(t0 + 120, t0 + 10 * 3600)
    assert of_type(run(det, sorted(stream, key=lambda r: r.t)), "inactivity") == []
    assert det.home.away


def test_in_a_home_without_a_door_contact_the_entrance_pir_is_the_door():
    det = inactivity(ENTRY_ONLY, hours=3)
    t0 = at(0, "09:00")
    out = [Motion("kitchen", t0, True), Motion("entry", t0 + 30, True)]
    ghosts = [Motion("bath", t0 + h * 3600, True) for h in (3, 8, 14)]
    back = t0 + 30 * 3600
    home = [Motion("entry", back, True), Motion("kitchen", back + 20, True)]
    alarms = of_type(run(det, out + ghosts + home + [Motion("kitchen", back + 5 * 3600, False)]),
                     "inactivity")
    assert [a.occurred_at for a in alarms] == [near(back + 20 + 3 * 3600)]


def test_a_collapse_at_home_is_still_found_when_the_door_was_not_used():
    det = inactivity(hours=3)
    t0 = at(0, "09:00")
    stream = [motion("pir_kitchen", t0), motion("pir_bath", t0 + 60)]
    stream += heartbeat_noise(t0 + 120, t0 + 5 * 3600)
    assert [a.occurred_at for a in of_type(run(det, stream), "inactivity")] == \
        [near(t0 + 60 + 3 * 3600)]


def stuck(**kw) -> SensorStuckDetector:
    return SensorStuckDetector(SensorStuckDetector.Settings(**kw), SENSORS)


def test_a_pir_stuck_on_while_the_resident_moves_elsewhere_is_a_technical_event():
    det = stuck()
    t0 = at(0, "09:00")
    stream = [Motion("pir_bath", t0 - 60, True), Motion("pir_bath", t0 - 50, False)]
    stream += [Motion("pir_bath", t0, True)]
    stream += [motion("pir_kitchen", t0 + m * 60) for m in range(15, 200, 20)]
    (ev,) = of_type(run(det, stream), "sensor_stuck")
    assert (ev.sensor, ev.room) == ("pir_bath", "bathroom")
    assert ev.occurred_at == near(t0 + 120 * 60)
    assert run(det, [Motion("pir_bath", t0 + 300 * 60, False),
                     Motion("pir_kitchen", t0 + 301 * 60, True)]) == []


def test_a_pir_on_for_hours_while_nothing_else_moves_is_someone_sitting_there():
    det = stuck()
    t0 = at(0, "19:00")
    stream = [Motion("pir_kitchen", t0 - 60, True), Motion("pir_kitchen", t0 - 50, False),
              Motion("pir_kitchen", t0, True)] + heartbeat_noise(t0 + 60, t0 + 5 * 3600)
    assert of_type(run(det, stream), "sensor_stuck") == []


def test_a_sensor_that_reports_motion_starts_only_is_never_stuck():
    det = stuck()
    t0 = at(0, "09:00")
    stream = [Motion("pir_bath", t0, True)]
    stream += [motion("pir_kitchen", t0 + m * 60) for m in range(15, 400, 20)]
    assert of_type(run(det, stream), "sensor_stuck") == []


def test_a_presence_sensor_stuck_for_a_day_does_not_keep_the_home_occupied():
    det = inactivity(hours=3)
    t0 = at(0, "09:00")
    stream = [Presence("radar_bath", t0, True, moving=False), motion("pir_kitchen", t0 + 60)]
    stream += door(t0 + 120) + heartbeat_noise(t0 + 200, t0 + 40 * 3600)
    run(det, stream)
    assert det.home.away, "20 h of unchanged presence is a stuck sensor"


def test_a_late_night_moves_the_morning_deadline():
    from tests.support.home_stream import days
    det = NotUpDetector(NotUpDetector.Settings(timezone=TZ), SENSORS)
    stream = days(17, seed=5)
    # night 16: up in the kitchen until 02:30, then asleep until 10:30
    late = [motion("pir_kitchen", at(16, "22:00") + m * 600) for m in range(28)]
    late += [motion("pir_bath", at(17, "10:30")), motion("pir_kitchen", at(17, "10:40")),
             motion("pir_hall", at(17, "10:55")), motion("pir_kitchen", at(17, "11:10"))]
    late += heartbeat_noise(at(17, "02:40"), at(17, "10:20"), every=900)
    found = run(det, sorted(stream + late, key=lambda r: r.t))
    assert of_type(found, "not_up") == []
    assert det.late_night_minutes() > 120


def _restarted(det, make):
    fresh = make()
    fresh.restore(json.loads(json.dumps(det.state())))
    return fresh


def test_after_half_a_day_unwatched_a_lone_trigger_is_not_someone_home_a_burst_is():
    """The logger was down (or the gateway off) for 30 h: the resident may have left
    meanwhile (a weekend away whose door nobody saw). A lone trigger after it does not
    make the home occupied; a burst does, and then a collapse is an alarm again."""
    t0 = at(0, "09:00")
    det = inactivity(hours=3)
    run(det, [motion("pir_kitchen", t0), motion("pir_hall", t0 + 60)])
    back = t0 + 30 * 3600
    lone = _restarted(det, lambda: inactivity(hours=3))
    stream = [motion("pir_bath", back)] + heartbeat_noise(back + 60, back + 8 * 3600)
    assert of_type(run(lone, stream), "inactivity") == [] and lone.home.away
    burst = _restarted(det, lambda: inactivity(hours=3))
    stream = [motion("pir_bath", back), motion("pir_kitchen", back + 120)]
    stream += heartbeat_noise(back + 180, back + 8 * 3600)
    found = of_type(run(burst, stream), "inactivity")
    assert [a.occurred_at for a in found] == [near(back + 120 + 3 * 3600)]


def test_a_morning_the_gateway_did_not_watch_is_not_judged():
    """Off from 22:00 to 19:00 the next day (its whole morning): the first activity may
    have come while nobody watched, so that morning is no not_up alarm; the next one is
    judged as ever."""
    det = NotUpDetector(NotUpDetector.Settings(timezone=TZ, min_days=3), SENSORS)
    stream = []
    for d in range(5):
        stream += [motion("pir_kitchen", at(d, "07:00") + 60 * i) for i in range(0, 40, 2)]
        stream += [motion("pir_hall", at(d, "21:00") + 60 * i) for i in range(0, 40, 5)]
    run(det, stream)
    fresh = _restarted(det, lambda: NotUpDetector(NotUpDetector.Settings(timezone=TZ, min_days=3),
                                                  SENSORS))
    after = [motion("pir_kitchen", at(5, "19:00") + 60 * i) for i in range(0, 40, 2)]
    after += heartbeat_noise(at(5, "20:00"), at(6, "12:00"))
    found = of_type(run(fresh, after), "not_up")
    assert [CLOCK.day(a.occurred_at) - DAY0 for a in found] == [6], \
        "day 5 was not watched; day 6 was, and nobody got up"
