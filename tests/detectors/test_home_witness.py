"""The home as a second witness: each rule of detectors/home_witness.py, its hazards, and
the verdicts reaching the centre through the real pipeline and cancel window."""

from __future__ import annotations

import itertools

import pytest

from detectors.base import Detection, SensorMeta
from detectors.home_witness import HomeWitness, HomeWitnessSettings
from gateway.config import parse_config
from gateway.pipeline import Pipeline
from sensordata.readings import Button, Contact, Motion, Presence, RadarTargets, Target

T0 = 1_790_000_000.0
KEY = "window-1"

SENSORS = {
    "band": SensorMeta("band", "polar_pmd", None, "wrist"),
    "belt": SensorMeta("belt", "polar_pmd", None, "waist"),
    "pir-living": SensorMeta("pir-living", "zigbee2mqtt", "living"),
    "pir-kitchen": SensorMeta("pir-kitchen", "zigbee2mqtt", "kitchen"),
    "door-bath": SensorMeta("door-bath", "zigbee2mqtt", "bath"),
    "door-front": SensorMeta("door-front", "zigbee2mqtt", "hall", role="outer_door"),
    "radar-living": SensorMeta("radar-living", "ti_mmwave", "living", "wall"),
    "radar-kitchen": SensorMeta("radar-kitchen", "ti_mmwave", "kitchen", "wall"),
    "ld-living": SensorMeta("ld-living", "ld2410", "living"),
}
ALONE = HomeWitnessSettings(residents=1, pets=False)


def wrist_fall(t: float = T0, sensor: str = "band") -> Detection:
    return Detection("fall_suspected", t, sensor, None, 0.7, {"peak_g": 3.0}, f"{sensor}:{t}")


def frames(sensor: str, t0: float, t1: float, top: float | None, hz: float = 10.0,
           walk: float = 0.0) -> list[RadarTargets]:
    """A radar's frames from t0 to t1 with one person whose top is `top` (None: nobody),
    walking across the room at `walk` m/s (0: standing still)."""
    n = int(round((t1 - t0) * hz))
    return [RadarTargets(sensor, t0 + i / hz, i,
                         () if top is None else (Target(1, walk * i / hz, 2.0, top * 0.55, vx=walk,
                                                        height=top),))
            for i in range(n)]


def witness(settings: HomeWitnessSettings = ALONE, before: list | None = None,
            t: float = T0) -> HomeWitness:
    """A witness that saw `before` (default: the wearer moving in the living room 20 s
    before the impact) and then the wrist's suspected fall at `t`."""
    w = HomeWitness(settings, SENSORS)
    w.observe(before if before is not None else [Motion("pir-living", t - 20, True)])
    w.suspected(KEY, wrist_fall(t), first=True)
    return w


def test_motion_in_another_room_cancels_when_the_wearer_lives_alone():
    w = witness()
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    v = w.verdict(KEY, T0 + 10)
    assert v is not None and v.type == "fall_cancelled" and v.ref == KEY
    assert v.occurred_at == T0 + 9.0 and v.sensor == "pir-kitchen" and v.room == "living"
    assert v.evidence["by_home"] == 1 and v.evidence["witness_motion_elsewhere"] == 1
    assert w.verdict(KEY, T0 + 20) is None, "one verdict per window"


def test_a_verdict_waits_for_its_time_however_the_readings_were_batched():
    w = witness()
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    assert w.verdict(KEY, T0 + 8.9) is None, "evidence after `upto` is not used yet"
    assert w.verdict(KEY, T0 + 9.0) is not None


@pytest.mark.parametrize("settings, why", [
    (HomeWitnessSettings(), "residents unknown: the safe side"),
    (HomeWitnessSettings(residents=2, pets=False), "someone else may be walking about"),
    (HomeWitnessSettings(residents=1), "pets assumed: a cat sets off a PIR"),
])
def test_motion_elsewhere_does_not_cancel_unless_it_can_only_be_the_wearer(settings, why):
    w = witness(settings)
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    assert w.verdict(KEY, T0 + 30) is None, why


def test_motion_too_soon_after_the_impact_or_in_the_same_room_does_not_cancel():
    w = witness()
    w.observe([Motion("pir-kitchen", T0 + 1.5, True),     # nobody gets there in 1.5 s
               Motion("pir-living", T0 + 12.0, True)])    # struggling on the floor
    assert w.verdict(KEY, T0 + 30) is None


def test_without_a_fresh_room_for_the_wearer_nothing_is_cancelled():
    w = witness(before=[Motion("pir-living", T0 - 600, True)])   # last seen 10 min ago
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    assert w.verdict(KEY, T0 + 30) is None


def test_an_inner_door_elsewhere_cancels_even_with_pets_but_the_outer_door_never_does():
    w = witness(HomeWitnessSettings(residents=1))
    w.observe([Contact("door-bath", T0 + 7.0, True)])
    v = w.verdict(KEY, T0 + 30)
    assert v is not None and v.evidence["witness_inner_door"] == 1
    w = witness(HomeWitnessSettings(residents=1))
    w.observe([Contact("door-front", T0 + 7.0, True)])
    assert w.verdict(KEY, T0 + 30) is None


def test_a_visitor_who_came_in_blocks_every_cancel():
    w = witness(before=[Contact("door-front", T0 - 300, True), Motion("pir-living", T0 - 20, True)])
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    assert w.verdict(KEY, T0 + 30) is None
    w = witness()
    w.observe([Contact("door-front", T0 + 5.0, True), Contact("door-bath", T0 + 9.0, True)])
    assert w.verdict(KEY, T0 + 30) is None, "the one who came in is not the wearer"


def test_a_radar_tracking_someone_walking_about_cancels():
    before = frames("radar-living", T0 - 5, T0 + 0.05, 1.6, walk=0.5)
    w = witness(before=before)
    w.observe(frames("radar-living", T0 + 0.1, T0 + 10, 1.6, walk=0.5))
    v = w.verdict(KEY, T0 + 10)
    assert v is not None and v.type == "fall_cancelled"
    assert v.evidence["witness_radar_up"] == 1 and v.evidence["walked_m"] >= 0.5
    # counted from t0 + settle_s (2 s) for up_s (3 s)
    assert v.occurred_at == pytest.approx(T0 + 5.0, abs=0.11)


def test_a_ghost_track_standing_still_neither_places_the_wearer_nor_cancels():
    """Static reflections make trackers report a still "person" for hours."""
    ghost = frames("radar-kitchen", T0 - 30, T0 + 30, 1.5)
    w = witness(before=ghost[:300] + [Motion("pir-living", T0 - 50, True)])
    w.observe(ghost[300:])
    assert w.verdict(KEY, T0 + 30) is None
    assert w.place(T0) == ("living", "pir-living", 50.0), "the ghost is not where the wearer is"


def test_a_radar_that_saw_the_descent_confirms_early_and_blocks_every_cancel():
    w = witness(before=frames("radar-living", T0 - 5, T0 - 0.3, 1.6))
    w.observe(frames("radar-living", T0 - 0.3, T0 + 20, 0.35)
              + [Motion("pir-kitchen", T0 + 4.0, True), Contact("door-bath", T0 + 4.5, True)])
    v = w.verdict(KEY, T0 + 20)
    assert v is not None and v.type == "fall_confirmed" and v.sensor == "radar-living"
    assert v.evidence["witness_radar_low"] == 1
    assert v.occurred_at == pytest.approx(T0 - 0.3 + 5.0, abs=0.11), "low for low_s (5 s)"


def test_a_confirmation_needs_no_resident_count():
    w = witness(HomeWitnessSettings(), before=frames("radar-kitchen", T0 - 5, T0 - 0.3, 1.6))
    # seen low for half a second, then lost: trackers drop a motionless person
    w.observe(frames("radar-kitchen", T0 - 0.3, T0 + 0.2, 0.35) + frames("radar-kitchen", T0 + 0.2, T0 + 8, None))
    v = w.verdict(KEY, T0 + 8)
    assert v is not None and v.type == "fall_confirmed"


def test_someone_lying_low_all_along_is_no_descent_and_getting_up_again_confirms_nothing():
    w = witness(before=frames("radar-living", T0 - 5, T0, 0.4))          # on the sofa
    w.observe(frames("radar-living", T0, T0 + 20, 0.4))
    assert w.verdict(KEY, T0 + 20) is None
    w = witness(HomeWitnessSettings(), before=frames("radar-living", T0 - 5, T0 - 0.3, 1.6))
    w.observe(frames("radar-living", T0 - 0.3, T0 + 2, 0.35) + frames("radar-living", T0 + 2, T0 + 20, 1.6))
    assert w.verdict(KEY, T0 + 20) is None, "down and up again: the window decides"


def test_a_radar_fall_in_the_same_window_blocks_every_cancel():
    w = witness()
    w.suspected(KEY, Detection("fall_suspected", T0 + 3, "radar-living", "living", 0.8), first=False)
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    assert w.verdict(KEY, T0 + 30) is None


def test_presence_still_in_the_wearers_room_confirms():
    w = witness()
    w.observe([Presence("ld-living", T0 + 1, True, moving=False)])
    assert w.verdict(KEY, T0 + 15.9) is None
    v = w.verdict(KEY, T0 + 16.0)
    assert v is not None and v.type == "fall_confirmed" and v.evidence["witness_presence_still"] == 1
    w = witness()
    w.observe([Presence("ld-living", T0 + 1, True, moving=False),
               Presence("ld-living", T0 + 8, True, moving=True)])
    assert w.verdict(KEY, T0 + 30) is None


def test_only_the_configured_placements_are_witnessed_and_a_new_window_forgets_the_old():
    w = HomeWitness(ALONE, SENSORS)
    w.observe([Motion("pir-living", T0 - 20, True), Motion("pir-kitchen", T0 + 9, True)])
    w.suspected(KEY, wrist_fall(sensor="belt"), first=True)
    assert w.verdict(KEY, T0 + 30) is None, "waist falls are not witnessed by default"
    w = witness()
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    assert w.verdict("another-window", T0 + 30) is None
    assert w.verdict(KEY, T0 + 30) is None


# --- through the pipeline and the cancel window ------------------------------------------

def pipeline(witness_table: dict | None = None) -> Pipeline:
    cfg = parse_config({
        "gateway_id": "gw-1", "site_id": "site-1",
        "rooms": [{"id": "living"}, {"id": "kitchen"}],
        "sensors": [{"id": "band", "type": "demo", "placement": "wrist"},
                    {"id": "pir-living", "type": "demo", "room": "living"},
                    {"id": "pir-kitchen", "type": "demo", "room": "kitchen"},
                    {"id": "radar-living", "type": "demo", "room": "living"},
                    {"id": "button", "type": "demo", "room": "living"}],
        "detectors": {"fusion": {"home_witness": {"residents": 1, "pets": False} if witness_table is None else witness_table}},
    }, env={})
    ids = (f"id-{i}" for i in itertools.count(1))
    return Pipeline(cfg, clock=lambda: T0, id_factory=lambda: next(ids))


def open_window(p: Pipeline, readings: list) -> list:
    """The wrist's suspected fall at T0 (as the wearable detector would hand it over)."""
    p.witness.observe(readings)
    p._handle([wrist_fall()])
    return p._take()


def test_the_centre_sees_the_suspicion_and_a_cancel_with_its_reason():
    p = pipeline()
    (suspected,) = open_window(p, [Motion("pir-living", T0 - 20, True)])
    assert suspected.type == "fall_suspected"
    events = p.feed([Motion("pir-kitchen", T0 + 9, True)])
    assert [e.type for e in events] == ["alarm_cancelled"]
    c = events[0]
    assert c.ref == suspected.id and c.sensor == "pir-kitchen" and c.occurred_at == T0 + 9
    assert c.evidence["by_home"] == 1 and c.evidence["witness_motion_elsewhere"] == 1
    assert c.evidence["seconds_after_suspected"] == 9 and c.evidence["by_button"] == 0
    assert p.tick(T0 + 60) == [] and p.finish() == []


def test_an_early_confirmation_raises_the_fall_before_the_window_ends():
    p = pipeline()
    (suspected,) = open_window(p, frames("radar-living", T0 - 5, T0 - 0.3, 1.6))
    events = p.feed(frames("radar-living", T0 - 0.3, T0 + 6, 0.35))
    assert [e.type for e in events] == ["fall"]
    fall = events[0]
    assert fall.ref == suspected.id and fall.occurred_at == T0
    assert fall.evidence["witness_radar_low"] == 1 and fall.evidence["confirmed_after_s"] < 5
    assert p.feed([Button("button", T0 + 10, "cancel")]) == [], "a cancel never retracts an alarm"
    assert p.tick(T0 + 60) == [] and p.finish() == []


def test_a_batch_holding_the_window_and_later_events_decides_as_one_by_one():
    """The home's cancel at +9 s comes before the window's end at +30 s even when a single
    batch of readings reaches past the deadline (replay feeds ~50 s at a time)."""
    p = pipeline()
    open_window(p, [Motion("pir-living", T0 - 20, True)])
    events = p.feed([Motion("pir-kitchen", T0 + 9, True), Motion("pir-kitchen", T0 + 45, False)])
    assert [e.type for e in events] == ["alarm_cancelled"]


def test_without_residents_the_window_runs_out_into_the_alarm_as_before():
    p = pipeline({})
    open_window(p, [Motion("pir-living", T0 - 20, True)])
    assert p.feed([Motion("pir-kitchen", T0 + 9, True)]) == []
    assert [e.type for e in p.tick(T0 + 30)] == ["fall"]


def test_a_window_the_radar_opened_and_the_wrist_joined_is_confirmed_but_never_cancelled():
    w = HomeWitness(ALONE, SENSORS)
    w.observe(frames("radar-living", T0 - 5, T0 - 0.3, 1.6) + [Motion("pir-living", T0 - 20, True)])
    w.suspected(KEY, Detection("fall_suspected", T0 - 0.3, "radar-living", "living", 0.8), first=True)
    w.suspected(KEY, wrist_fall(), first=False)
    w.observe(frames("radar-living", T0 - 0.3, T0 + 2, 0.35) + [Motion("pir-kitchen", T0 + 4, True)])
    assert w.verdict(KEY, T0 + 4.5) is None, "the radar saw the fall: no cancel from the home"
    w.observe(frames("radar-living", T0 + 2, T0 + 8, 0.35))
    v = w.verdict(KEY, T0 + 8)
    assert v is not None and v.type == "fall_confirmed"


def test_a_window_closed_by_a_button_is_forgotten_by_the_witness():
    p = pipeline()
    open_window(p, [Motion("pir-living", T0 - 20, True)])
    assert [e.type for e in p.feed([Button("button", T0 + 2, "cancel")])] == ["alarm_cancelled"]
    assert p.witness._watch is None, "nothing keeps collecting readings for a closed window"
    assert p.feed([Motion("pir-kitchen", T0 + 9, True)]) == []


def test_a_second_worn_sensor_joining_is_no_radar_and_blocks_nothing():
    w = witness()
    placed = Detection("fall_suspected", T0 + 1, "belt", "living", 0.6,
                       {"room_inferred": 1}, "belt:1")
    w.suspected(KEY, placed, first=False)
    w.observe([Motion("pir-kitchen", T0 + 9.0, True)])
    v = w.verdict(KEY, T0 + 10)
    assert v is not None and v.type == "fall_cancelled"
