"""Fall fusion: two witnesses of one fall make one detection with a combined confidence."""

from __future__ import annotations

import pytest

from detectors.base import Detection
from detectors.fusion import FallFusion
from detectors.radar_fall import RadarFallDetector
from tests.detectors.test_radar_fall import FALL, SENSORS, T0, frames
from tests.support.home_stream import near

# These specify the holding mode; the gateway's default hold is 0 (announce at once,
# combine in the alarm flow), which the last test covers.
HOLD = FallFusion.Settings(hold_seconds=6)


def fall(t: float, sensor: str, conf: float, ref: str | None = None, **ev: float) -> Detection:
    return Detection("fall_suspected", t, sensor, "living_room", conf, ev, ref or f"{sensor}:{t}")


def test_wearable_and_radar_on_one_fall_become_one_with_combined_confidence():
    fu = FallFusion(HOLD)
    wear = fall(T0, "band", 0.7, peak_g=3.1)
    radar = fall(T0 + 1.5, "radar_lr", 0.8, height_drop_m=1.3)
    assert fu.feed([wear], now=T0 + 2) == []            # held for a second witness
    assert fu.feed([radar], now=T0 + 5.5) == []
    (one,) = fu.feed([], now=T0 + 6.0)                  # the hold counts from the impact
    assert one.type == "fall_suspected" and one.occurred_at == T0
    assert one.confidence == pytest.approx(1 - 0.3 * 0.2)
    assert one.sensor == "radar_lr"                      # the most confident witness
    assert one.evidence["peak_g"] == 3.1 and one.evidence["height_drop_m"] == 1.3
    assert one.evidence["fused_sources"] == 2
    assert one.evidence["confidence_band"] == 0.7
    assert one.ref == radar.ref


def test_a_single_witness_passes_through_unchanged_after_the_hold():
    fu = FallFusion(FallFusion.Settings(hold_seconds=4))
    wear = fall(T0, "band", 0.7)
    assert fu.feed([wear], now=T0 + 1) == []
    assert fu.feed([], now=T0 + 3.9) == []
    assert fu.tick(T0 + 4.0) == [wear]


def test_falls_far_apart_in_time_stay_separate_and_other_types_are_not_held():
    fu = FallFusion(HOLD)
    sos = Detection("sos", T0 + 1, "button")
    a, b = fall(T0, "band", 0.7), fall(T0 + 60, "radar_lr", 0.8)
    assert fu.feed([a, sos], now=T0 + 1) == [sos]
    assert fu.feed([b], now=T0 + 60) == [a]
    assert fu.flush() == [b]


def test_a_repeat_from_the_same_sensor_is_not_a_second_witness():
    fu = FallFusion(HOLD)
    out = fu.feed([fall(T0, "band", 0.7, ref="x"), fall(T0 + 2, "band", 0.6, ref="y")], now=T0)
    assert out == []
    (one,) = fu.flush()
    assert one.confidence == pytest.approx(0.7) and one.evidence["fused_sources"] == 1


def test_a_fall_cancelled_before_release_is_never_announced():
    fu = FallFusion(HOLD)
    wear = fall(T0, "band", 0.7, ref="w1")
    fu.feed([wear], now=T0 + 1)
    cancel = Detection("fall_cancelled", T0 + 3, "band", ref="w1")
    assert fu.feed([cancel], now=T0 + 3) == []
    assert fu.flush() == []


def test_a_cancel_after_a_merged_release_carries_the_merged_ref_once():
    fu = FallFusion(HOLD)
    fu.feed([fall(T0, "band", 0.7, ref="w1"), fall(T0 + 1, "radar_lr", 0.8, ref="r1")], now=T0 + 1)
    (merged,) = fu.feed([], now=T0 + 7.5)
    c1 = Detection("fall_cancelled", T0 + 20, "band", ref="w1")
    c2 = Detection("fall_cancelled", T0 + 21, "radar_lr", ref="r1")
    out = fu.feed([c1, c2], now=T0 + 21)
    assert len(out) == 1 and out[0].ref == merged.ref and out[0].occurred_at == T0 + 20


def test_radar_detector_output_fuses_with_a_wearable_fall():
    radar = RadarFallDetector(RadarFallDetector.Settings(), SENSORS)
    fu = FallFusion(HOLD)
    impact = T0 + 6.7
    out: list[Detection] = []
    out += fu.feed([fall(impact + 0.2, "band", 0.75, peak_g=2.8)], now=impact + 1.5)
    for f in frames(FALL):
        out += fu.feed(radar.feed([f]), now=f.t)
    out += fu.flush()
    (one,) = out
    assert one.occurred_at == near(impact, 0.3)
    assert one.evidence["fused_sources"] == 2 and one.confidence > 0.9


def test_disabled_fusion_passes_everything_straight_through():
    fu = FallFusion(FallFusion.Settings(enabled=False))
    a, b = fall(T0, "band", 0.7), fall(T0 + 1, "radar_lr", 0.8)
    assert fu.feed([a, b], now=T0 + 1) == [a, b]


def test_the_default_announces_each_witness_at_once():
    fu = FallFusion()
    wear = fall(T0, "band", 0.7)
    assert fu.feed([wear], now=T0) == [wear]
