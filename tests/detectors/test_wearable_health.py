"""Wearable health: sustained heart rate out of bounds, not worn, out of range."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.wearable_health import WearableHealthDetector
from sensordata.readings import AccelBlock, Battery, HeartRate
from tests.support.home_stream import SENSORS, near, of_type, run

T0 = 1_772_430_000.0


def make(**kw) -> WearableHealthDetector:
    return WearableHealthDetector(WearableHealthDetector.Settings(**kw), SENSORS)


def hr(bpms, start=T0, every=1.0, contact=True, sensor="band"):
    return [HeartRate(sensor, start + i * every, int(b), contact=contact) for i, b in enumerate(bpms)]


def test_heart_rate_above_the_bound_for_the_sustained_time_warns_once():
    found = of_type(run(make(), hr([72] * 60 + [150] * 400)), "heart_rate_abnormal")
    assert len(found) == 1
    d = found[0]
    assert d.occurred_at == near(T0 + 60 + 300)
    assert d.evidence["bpm"] == pytest.approx(150) and d.evidence["seconds"] == pytest.approx(300)
    assert d.evidence["high"] == 130


def test_a_short_episode_or_one_broken_by_a_gap_is_not_sustained():
    assert of_type(run(make(), hr([150] * 200 + [80] * 10 + [150] * 200)), "heart_rate_abnormal") == []
    gap = hr([35] * 200) + hr([35] * 200, start=T0 + 200 + 120)
    assert of_type(run(make(), gap), "heart_rate_abnormal") == []
    assert len(of_type(run(make(), hr([35] * 320)), "heart_rate_abnormal")) == 1


def test_readings_without_skin_contact_are_not_heart_rates():
    assert of_type(run(make(), hr([0] * 400) + hr([200] * 400, contact=False, start=T0 + 400)),
                   "heart_rate_abnormal") == []


def test_rearms_after_time_back_inside_the_bounds():
    stream = hr([150] * 320 + [70] * 400 + [150] * 320)
    assert len(of_type(run(make(), stream), "heart_rate_abnormal")) == 2
    stream = hr([150] * 320 + [70] * 100 + [150] * 320)
    assert len(of_type(run(make(), stream), "heart_rate_abnormal")) == 1


def test_no_skin_contact_for_the_set_minutes_is_not_worn():
    stream = hr([70] * 10) + hr([0] * 40, start=T0 + 60, every=60, contact=False)
    found = of_type(run(make(not_worn_minutes=30), stream), "wearable_not_worn")
    assert len(found) == 1 and found[0].sensor == "band"
    assert found[0].occurred_at == near(T0 + 60 + 1800)
    assert found[0].evidence["no_contact"] == 1.0


def blocks(std_g: float, minutes: float, start: float = T0, rate: float = 25.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    out, n = [], int(rate * 60)
    for m in range(int(minutes)):
        t = start + m * 60 + np.arange(n) / rate
        xyz = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, std_g, (n, 3))
        out.append(AccelBlock("band", t, xyz))
    return out


def test_table_still_acceleration_for_hours_is_not_worn_but_sleep_is_not():
    found = of_type(run(make(still_minutes=120), blocks(0.001, 150)), "wearable_not_worn")
    assert len(found) == 1 and found[0].evidence["no_contact"] == 0.0
    assert found[0].occurred_at == near(T0 + 120 * 60)
    assert of_type(run(make(still_minutes=120), blocks(0.02, 150)), "wearable_not_worn") == []


def test_a_wearable_not_heard_for_minutes_is_out_of_range_while_time_moves_on():
    stream = hr([70] * 30) + [Battery("pir_hall", T0 + 30 + i * 60, 90) for i in range(20)]
    found = of_type(run(make(out_of_range_minutes=10), stream), "wearable_out_of_range")
    assert [d.occurred_at for d in found] == [near(T0 + 29 + 600)]
    assert found[0].sensor == "band"
    det = make(out_of_range_minutes=10)
    det.feed(hr([70] * 30))
    assert det.tick(T0 + 500) == []
    assert len(det.tick(T0 + 700)) == 1
    assert det.tick(T0 + 900) == []          # once, until the wearable is heard again
    det.feed(hr([70], start=T0 + 901))
    assert len(det.tick(T0 + 901 + 601)) == 1


def test_same_warnings_in_one_batch_or_many():
    stream = hr([72] * 60 + [150] * 400) + hr([0] * 40, start=T0 + 500, every=60, contact=False)
    assert run(make(), stream) == run(make(), stream, batch=1) == run(make(), stream, batch=13)


def test_bounds_must_be_ordered():
    with pytest.raises(ValueError):
        make(hr_low=120, hr_high=100)


def test_battery_reports_alone_do_not_keep_a_silent_wearable_in_range():
    stream = hr([70] * 30) + [Battery("band", T0 + 30 + i * 60, 80) for i in range(20)]
    found = of_type(run(make(out_of_range_minutes=10), stream), "wearable_out_of_range")
    assert [d.occurred_at for d in found] == [near(T0 + 29 + 600)]
