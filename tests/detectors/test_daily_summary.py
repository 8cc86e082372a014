"""Daily summary, and properties every routine detector must keep: batch boundaries do not
change what is found, and a restart in the middle (state through JSON) neither loses nor
duplicates an alarm."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.base import SensorMeta
from detectors.daily_summary import DailySummaryDetector
from detectors.dwell import DwellDetector
from detectors.inactivity import InactivityDetector
from detectors.night_door import NightDoorDetector
from detectors.routine import NotUpDetector
from detectors.wearable_health import WearableHealthDetector
from detectors.zones import Zone
from sensordata.readings import AccelBlock, Presence, RadarTargets, Target
from tests.support.home_stream import CLOCK, SENSORS, TZ, at, days, door, heartbeat_noise, motion, near, of_type, run


def summary(**kw) -> DailySummaryDetector:
    return DailySummaryDetector(DailySummaryDetector.Settings(timezone=TZ, **kw), SENSORS)


def test_one_summary_per_day_at_the_boundary_with_activity_numbers():
    det = summary()
    found = of_type(run(det, days(3) + heartbeat_noise(at(3, "04:00"), at(3, "12:30"))), "daily_summary")
    assert [d.occurred_at for d in found] == [near(at(d, "12:00")) for d in (0, 1, 2, 3)]
    first, full = found[0], found[1]
    assert first.evidence["coverage_hours"] < 6        # the gateway started that morning
    assert full.evidence["coverage_hours"] == pytest.approx(24.0)
    assert 5 < full.evidence["active_hours"] < 20
    assert full.evidence["night_bathroom_trips"] == 1  # the scripted 03:00 trip
    assert full.evidence["motion_events"] > 10


def test_bed_time_steps_and_heart_rate_when_the_home_has_them():
    sensors = {**SENSORS, "radar_bed": SensorMeta("radar_bed", "ti_mmwave", room="bedroom")}
    bed = Zone(name="bed", sensor="radar_bed", x=(0.0, 2.0), y=(0.0, 2.2))
    det = DailySummaryDetector(DailySummaryDetector.Settings(timezone=TZ, bed_zones=[bed]), sensors)
    t0 = at(0, "22:00")
    frames = [RadarTargets("radar_bed", t0 + i, i, (Target(1, 1.0, 1.0, 0.5),)) for i in range(2 * 3600)]
    rate, n = 50.0, 500
    tt = at(1, "09:00") + np.arange(n) / rate
    walk = np.column_stack([np.zeros(n), np.zeros(n), 1.0 + 0.3 * np.sin(2 * np.pi * 2.0 * tt)])
    stream = frames + [AccelBlock("band", tt, walk)] + heartbeat_noise(at(1, "09:30"), at(1, "12:10"))
    (s,) = of_type(run(det, stream), "daily_summary")
    assert s.evidence["time_in_bed_hours"] == pytest.approx(2.0, abs=0.01)
    assert s.evidence["steps"] == pytest.approx(20, abs=1)     # 10 s at 2 steps a second
    assert s.evidence["movement_level_g"] > 0.05


def routine_detectors():
    return [
        lambda: InactivityDetector(InactivityDetector.Settings(hours=6, timezone=TZ), SENSORS),
        lambda: NotUpDetector(NotUpDetector.Settings(timezone=TZ), SENSORS),
        lambda: DwellDetector(DwellDetector.Settings(), SENSORS),
        lambda: NightDoorDetector(NightDoorDetector.Settings(timezone=TZ), SENSORS),
        lambda: DailySummaryDetector(DailySummaryDetector.Settings(timezone=TZ), SENSORS),
        lambda: WearableHealthDetector(WearableHealthDetector.Settings(), SENSORS),
    ]


def month_with_incidents() -> list:
    """20 ordinary days, then day 20: a night walk out at 01:00 (back with the 03:00 toilet
    trip), an ordinary morning, a bathroom stay from 14:00 (the hall PIR sees the walk in)
    with nothing after it; day 21:
    nobody up, until the bathroom radar sees movement at 13:05."""
    stream = days(20, seed=3)
    stream += door(at(20, "01:00"))
    stream += [motion("pir_hall", at(20, f"{h:02d}:{m:02d}")) for h in range(7, 14) for m in (10, 35)]
    stream += [motion("pir_hall", at(20, "13:59")), motion("pir_bath", at(20, "14:00"))]   # walks in
    stream += heartbeat_noise(at(20, "14:01"), at(21, "13:00"), every=300)
    stream += [Presence("radar_bath", at(21, "13:05"), True, moving=True)]
    return sorted(stream, key=lambda r: r.t)


@pytest.mark.parametrize("index", range(6))
def test_same_detections_in_one_batch_or_many(index):
    make = routine_detectors()[index]
    stream = month_with_incidents()
    whole = run(make(), stream)
    assert run(make(), stream, batch=1) == whole
    assert run(make(), stream, batch=97) == whole


def test_the_month_raises_each_scripted_incident_once():
    stream = month_with_incidents()
    found = [d for make in routine_detectors()[:4] for d in run(make(), stream)]
    kinds = sorted(d.type for d in found)
    assert kinds.count("inactivity") == 1
    assert kinds.count("door_night_not_back") == 1
    assert kinds.count("dwell_exceeded") == 1
    assert kinds.count("not_up") == 1
    assert of_type(found, "door_night_not_back")[0].occurred_at == near(at(20, "01:00", 10 + 900))
    dwell_at = of_type(found, "dwell_exceeded")[0].occurred_at   # limit learned from the stays
    assert at(20, "14:20") <= dwell_at <= at(20, "15:00")
    assert [d.occurred_at for d in of_type(found, "inactivity")] == [near(at(20, "20:00"))]
    assert 7 <= CLOCK.local(of_type(found, "not_up")[0].occurred_at).hour <= 8


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_a_restart_in_the_middle_neither_loses_nor_duplicates(index):
    import json
    make = routine_detectors()[index]
    stream = month_with_incidents()
    whole = run(make(), stream)
    cut = next(i for i, r in enumerate(stream) if r.t >= at(20, "14:30"))
    first = make()
    before = run(first, stream[:cut])
    second = make()
    second.restore(json.loads(json.dumps(first.state())))
    assert before + run(second, stream[cut:]) == whole


def test_a_doorway_flapping_between_rooms_is_one_bathroom_trip():
    det = summary()
    trip = at(1, "02:00")
    flaps = [motion("pir_bath", trip), motion("pir_hall", trip + 2), motion("pir_bath", trip + 4),
             motion("pir_hall", trip + 300), motion("pir_bath", trip + 302), motion("pir_bed", trip + 400),
             motion("pir_bath", at(1, "04:00")), motion("pir_bed", at(1, "04:05"))]
    stream = [motion("pir_bed", at(0, "22:00"))] + flaps + heartbeat_noise(at(1, "05:00"), at(1, "12:10"))
    (s,) = of_type(run(det, stream), "daily_summary")
    assert s.evidence["night_bathroom_trips"] == 2


def test_after_a_restart_the_open_day_goes_on_and_the_days_off_say_nobody_watched():
    """The gateway (or an imported log's logger) was off from day 2 10:00 to day 5 09:00
    (a summary closes at 12:00 and covers the 24 h before it): the open day's counts survive
    the restart, the summaries of days 3 and 4 have coverage 0
    (never missing, never a quiet day that was not quiet), and coverage leaves out the time
    off. Without a restart a day with no readings is still left out (no gateway yet)."""
    import json
    stream = days(8)
    cut = next(i for i, r in enumerate(stream) if r.t >= at(2, "10:00"))
    back = next(i for i, r in enumerate(stream) if r.t >= at(5, "09:00"))
    whole = {round(d.occurred_at): d for d in of_type(run(summary(), stream), "daily_summary")}
    first = summary()
    before = of_type(run(first, stream[:cut]), "daily_summary")
    second = summary()
    second.restore(json.loads(json.dumps(first.state())))
    after = of_type(run(second, stream[back:]), "daily_summary")
    got = {round(d.occurred_at): d.evidence for d in before + after}
    assert sorted(got) == sorted(whole), "one summary for each day, as without the outage"
    day = {d: got[round(at(d, "12:00"))] for d in range(8)}
    assert day[3]["coverage_hours"] == 0 and day[4]["coverage_hours"] == 0
    assert day[3]["active_hours"] == 0 and day[4]["motion_events"] == 0
    assert 21.5 < day[2]["coverage_hours"] < 22.0, "watched until 10:00 (its last reading)"
    assert 2.5 < day[5]["coverage_hours"] <= 3.0, "watched from its first reading after 09:00"
    assert 5 < day[2]["active_hours"] <= whole[round(at(2, "12:00"))].evidence["active_hours"]
    off_day = {round(d.occurred_at): d.evidence for d in of_type(run(summary(), stream[:cut] + stream[back:]), "daily_summary")}
    assert round(at(3, "12:00")) not in off_day, "no restart: the days off are not known"
