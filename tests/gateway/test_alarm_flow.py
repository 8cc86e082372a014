"""The cancel window: a suspected fall becomes an alarm only if nobody cancels it."""

from __future__ import annotations

import itertools

import pytest

from gateway.config import parse_config
from gateway.pipeline import Pipeline
from sensordata.readings import Button, FallFlag

T0 = 1_790_000_000.0


def pipeline(cancel_window: float = 30.0, hold: float = 0.0) -> Pipeline:
    cfg = parse_config({
        "gateway_id": "gw-1", "site_id": "site-1",
        "rooms": [{"id": "bath", "name": {"fi": "kylpyhuone", "sv": "badrum", "en": "bathroom"}}],
        "sensors": [{"id": "radar", "type": "demo", "room": "bath"},
                    {"id": "button", "type": "demo", "room": "bath"}],
        "alarm": {"cancel_window": cancel_window},
        "detectors": {"fusion": {"hold_seconds": hold}},
    }, env={})
    ids = (f"id-{i}" for i in itertools.count(1))
    return Pipeline(cfg, clock=lambda: T0, id_factory=lambda: next(ids))


def types(events) -> list[str]:
    return [e.type for e in events]


def test_an_uncancelled_suspected_fall_sends_exactly_one_alarm_when_the_window_closes():
    p = pipeline()
    first = p.feed([FallFlag("radar", T0, True)])
    assert types(first) == ["fall_suspected"]
    assert p.tick(T0 + 29.9) == []
    alarm = p.tick(T0 + 30.0)
    assert types(alarm) == ["fall"]
    assert alarm[0].ref == first[0].id and alarm[0].occurred_at == T0
    assert alarm[0].text["fi"] == "Kaatuminen havaittu (kylpyhuone)."
    assert p.tick(T0 + 120) == [] and p.finish() == []


def test_a_cancel_inside_the_window_sends_alarm_cancelled_and_no_alarm():
    p = pipeline()
    suspected = p.feed([FallFlag("radar", T0, True)])
    cancelled = p.feed([Button("button", T0 + 12, "cancel")])
    assert types(cancelled) == ["alarm_cancelled"]
    assert cancelled[0].ref == suspected[0].id
    assert p.tick(T0 + 60) == [] and p.finish() == []


def test_a_cancel_after_the_alarm_went_out_does_not_retract_it():
    p = pipeline()
    p.feed([FallFlag("radar", T0, True)])
    assert types(p.feed([Button("button", T0 + 31, "cancel")])) == ["fall"]


def test_sos_skips_the_window():
    p = pipeline()
    assert types(p.feed([Button("button", T0, "sos")])) == ["sos"]


def test_the_same_incident_seen_twice_makes_one_alarm():
    p = pipeline()
    p.feed([FallFlag("radar", T0, True)])
    p.feed([FallFlag("radar", T0 + 1, False), FallFlag("radar", T0 + 2, True)])
    assert types(p.tick(T0 + 40)) == ["fall"]


def test_a_zero_window_alarms_at_once():
    p = pipeline(cancel_window=0)
    assert types(p.feed([FallFlag("radar", T0, True)])) == ["fall_suspected", "fall"]


def test_seq_counts_every_event_from_the_start_value():
    p = pipeline()
    p.seq = 41
    events = p.feed([Button("button", T0, "sos"), FallFlag("radar", T0 + 1, True)])
    assert [e.seq for e in events] == [42, 43]


def test_a_room_seen_by_a_second_sensor_names_the_alarm():
    from detectors.base import Detection
    p = pipeline()
    p.flow.handle(Detection("fall_suspected", T0, "wrist", None, 0.7))
    p.flow.handle(Detection("fall_suspected", T0 + 1, "radar", "bath", 0.8))
    events = p.tick(T0 + 31)
    assert types(events) == ["fall_suspected", "fall"]
    assert events[1].room == "bath"
    assert events[1].confidence == pytest.approx(1 - 0.3 * 0.2), "two witnesses, one alarm"
    assert events[1].evidence["sensors"] == 2


def test_two_sensors_seeing_one_fall_make_one_suspected_fall_with_combined_confidence():
    from detectors.base import Detection
    p = pipeline(hold=6.0)
    p.fusion.feed([Detection("fall_suspected", T0, "wrist", None, 0.7, {"peak_g": 3.0}),
                   Detection("fall_suspected", T0 + 2, "radar", "bath", 0.8, {"drop_m": 1.1})], T0 + 2)
    out = p.tick(T0 + 9)
    assert types(out) == ["fall_suspected"]
    assert out[0].confidence == pytest.approx(1 - 0.3 * 0.2) and out[0].room == "bath"


def test_a_fall_and_its_cancel_in_one_batch_decide_as_one_by_one():
    one_batch = pipeline(hold=0.0).feed([FallFlag("radar", T0, True), Button("button", T0 + 5, "cancel")])
    p = pipeline(hold=0.0)
    apart = p.feed([FallFlag("radar", T0, True)]) + p.feed([Button("button", T0 + 5, "cancel")])
    assert types(one_batch) == types(apart) == ["fall_suspected", "alarm_cancelled"]


def test_detectors_keep_the_homes_local_time():
    cfg = parse_config({"gateway_id": "gw-1", "site_id": "site-1", "timezone": "Europe/Stockholm"},
                       env={})
    p = Pipeline(cfg)
    for name in ("inactivity", "night_door", "not_up", "daily_summary"):
        assert p.detectors[name].clock.name == "Europe/Stockholm", name


def test_a_worn_sensors_fall_is_placed_where_the_home_last_saw_someone():
    from sensordata.readings import Motion
    cfg = parse_config({
        "gateway_id": "gw-1", "site_id": "site-1",
        "rooms": [{"id": "bath", "name": {"fi": "kylpyhuone", "sv": "badrum", "en": "bathroom"}},
                  {"id": "hall"}],
        "sensors": [{"id": "pir-bath", "type": "demo", "room": "bath"},
                    {"id": "pendant", "type": "demo", "placement": "pendant"}],
        "alarm": {"cancel_window": 0}}, env={})
    p = Pipeline(cfg, clock=lambda: T0)
    p.feed([Motion("pir-bath", T0 - 120, True)])
    events = p.feed([Button("pendant", T0, "sos")])
    assert events[0].room == "bath" and events[0].evidence["room_inferred"] == 1
    assert events[0].text["en"] == "Emergency button pressed (probably bathroom)."
    assert events[0].text["fi"] == "Hätäpainiketta painettu (todennäköisesti kylpyhuone)."
    later = p.feed([Button("pendant", T0 + 3600, "sos")])
    assert later[0].room is None, "an hour-old motion says nothing about where someone is"


def test_a_room_seen_just_after_a_worn_sensors_fall_in_the_same_batch_places_it():
    """Readings come in batches: the radar frames of the seconds after a fall are tracked
    before the wearable's detection is made. fall_suspected must not say "room unknown"
    when the fall a moment later names the room (issue 14)."""
    from sensordata.readings import Motion
    cfg = parse_config({
        "gateway_id": "gw-1", "site_id": "site-1",
        "rooms": [{"id": "living", "name": {"fi": "olohuone", "sv": "vardagsrum",
                                             "en": "living room"}}],
        "sensors": [{"id": "pir-living", "type": "demo", "room": "living"},
                    {"id": "pendant", "type": "demo", "placement": "pendant"}],
        "alarm": {"cancel_window": 0}}, env={})
    p = Pipeline(cfg, clock=lambda: T0)
    events = p.feed([Button("pendant", T0, "sos"), Motion("pir-living", T0 + 2, True)])
    assert events[0].room == "living" and events[0].evidence["room_seen_s_ago"] == 0
    assert "living room" in events[0].text["en"]


def test_a_sensors_small_blocks_are_joined_where_the_last_one_was():
    import numpy as np

    from gateway.pipeline import coalesce_blocks
    from sensordata.readings import AccelBlock, Motion

    def block(sensor: str, t0: float) -> AccelBlock:
        t = t0 + np.arange(5) * 0.02
        return AccelBlock(sensor, t, np.tile([0.0, 0.0, 1.0], (5, 1)))

    a1, a2, b1 = block("wrist", T0), block("wrist", T0 + 0.1), block("waist", T0)
    m = Motion("pir", T0 + 0.05, True)
    out = coalesce_blocks([a1, m, b1, a2])
    assert [r.kind for r in out] == ["motion", "accel", "accel"]
    assert out[1] is b1, "a lone block is passed as it is"
    assert out[2].sensor == "wrist" and len(out[2]) == 10
    assert np.array_equal(out[2].t, np.concatenate([a1.t, a2.t]))


def test_an_open_window_survives_a_restart_and_ends_in_its_alarm():
    before = pipeline()
    suspected = before.feed([FallFlag("radar", T0, True)])
    assert before.flow.changed, "opening a window asks the daemon to save it"
    saved = before.flow.state()
    after = pipeline()  # a new process: nothing in memory
    after.restore_states({"alarm_flow": saved})
    assert after.tick(T0 + 29) == []
    alarm = after.tick(T0 + 31)
    assert types(alarm) == ["fall"] and alarm[0].ref == suspected[0].id
    assert alarm[0].evidence["cancel_window_s"] == 30
    assert after.flow.changed and after.flow.state() == {"window": None}


def test_a_restored_window_can_still_be_cancelled():
    before = pipeline()
    suspected = before.feed([FallFlag("radar", T0, True)])
    after = pipeline()
    after.restore_states({"alarm_flow": before.flow.state()})
    cancelled = after.feed([Button("button", T0 + 5, "cancel")])
    assert types(cancelled) == ["alarm_cancelled"] and cancelled[0].ref == suspected[0].id
    assert after.tick(T0 + 60) == []


@pytest.mark.parametrize("evidence, rule", [
    ({"upright_s": 1.0, "activity_g": 0.2, "since_impact_s": 9.5}, "get_up"),
    ({"walking_s": 3.0, "step_rhythm": 0.7, "since_impact_s": 9.5}, "steps"),
    ({"active_peaks": 2.0, "since_impact_s": 9.5}, "arm_at_work"),
    ({"height_m": 1.4, "seconds_after_fall": 9.5}, "radar_up")])
def test_the_centre_is_told_which_detector_rule_withdrew_a_suspected_fall(evidence, rule):
    """A wearer standing up and an arm hitting hard again are different reasons to stand
    down; the centre sees which one (and may call back on the one it trusts less)."""
    from detectors.base import Detection
    from gateway.alarm_flow import AlarmFlow
    made: list[tuple[str, dict]] = []

    def make(type_name, det, ref):
        made.append((type_name, dict(det.evidence)))
        return f"e{len(made)}"
    flow = AlarmFlow(30.0, make)
    flow.handle(Detection("fall_suspected", T0, "band", confidence=0.9))
    flow.handle(Detection("fall_cancelled", T0 + 9.5, "band", evidence=evidence))
    flow.advance(T0 + 60)
    assert [t for t, _ in made] == ["fall_suspected", "alarm_cancelled"]
    ev = made[1][1]
    assert ev[f"cancelled_by_{rule}"] == 1.0 and ev["seconds_after_impact"] == 9.5
    assert ev["by_button"] == 0.0 and not any(k.startswith("witness_") for k in ev)
    assert sum(k.startswith("cancelled_by_") for k in ev) == 1
