"""The night door (detectors/night_door.py): the door opened at night and nobody back inside,
one of the two silent emergencies of a home at night (the other is bathroom dwell,
tests/detectors/test_dwell.py)."""

from __future__ import annotations

import pytest

from detectors.night_door import NightDoorDetector
from tests.support.home_stream import SENSORS, TZ, at, door, heartbeat_noise, motion, near, of_type, restart, run


def night(**kw) -> NightDoorDetector:
    return NightDoorDetector(NightDoorDetector.Settings(timezone=TZ, **kw), SENSORS)


def test_door_at_night_and_nobody_back_raises_after_the_set_minutes():
    t0 = at(0, "23:00")
    stream = [motion("pir_hall", t0 - 30), motion("pir_hall", t0 + 5)] + door(t0)
    stream += heartbeat_noise(t0 + 60, t0 + 3600, every=120)
    found = of_type(run(night(), sorted(stream, key=lambda r: r.t)), "door_night_not_back")
    assert len(found) == 1
    assert found[0].occurred_at == near(t0 + 10 + 15 * 60)   # counted from the door closing
    assert found[0].sensor == "door"
    assert found[0].evidence["minutes"] == pytest.approx(15.0, abs=0.3)


def test_coming_back_inside_in_time_is_not_an_alarm():
    t0 = at(0, "23:00")
    stream = door(t0) + door(t0 + 500) + [motion("pir_hall", t0 + 520)]
    stream += heartbeat_noise(t0 + 600, t0 + 3600, every=120)
    assert of_type(run(night(), stream), "door_night_not_back") == []


def test_the_door_in_the_daytime_is_not_watched():
    t0 = at(0, "14:00")
    stream = door(t0) + heartbeat_noise(t0 + 60, t0 + 3600, every=120)
    assert of_type(run(night(), stream), "door_night_not_back") == []


def test_night_door_state_survives_a_restart():
    t0 = at(0, "02:00")
    det = night(not_back_minutes=20)
    run(det, door(t0))
    fresh = restart(lambda: night(not_back_minutes=20), det)
    found = of_type(fresh.tick(t0 + 25 * 60), "door_night_not_back")
    assert [d.occurred_at for d in found] == [near(t0 + 10 + 20 * 60)]
