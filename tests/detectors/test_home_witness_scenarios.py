"""The home as a second witness, both ways, in simulated homes replayed through the real
pipeline (`safehome simulate` + `safehome replay`'s code): a wrist knock on the way to
the kitchen is cancelled by the kitchen's motion sensor or the living room's radar; a
fall nobody gets up from is alarmed, early where the radar saw the person go down."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gateway.trace.replay import config_for_streams, replay
from sensordata.timefmt import parse_iso
from sensordata.trace.reader import TraceReader
from simulator.engine import simulate_to
from simulator.scenario import scenario_from_dict

SCENARIO = Path(__file__).resolve().parents[2] / "simulator" / "scenarios" / "wrist-home.toml"


# The wrist's own "steps resumed" evidence (detectors/wearable_fall.py) cancels a knock
# whose wearer walks on by itself; switched off here so the home is the only witness.
WRIST_ALONE = {"wrist": {"walk_s": 0}}


def scenario(incidents: list[dict], wrist_steps: bool = False, **witness: object) -> dict:
    data = tomllib.loads(SCENARIO.read_text(encoding="utf-8"))
    data["scenario"]["duration"] = "20m"
    data["incidents"] = incidents
    if not wrist_steps:
        data["gateway"]["detectors"]["wearable_fall"] = WRIST_ALONE
    if witness:
        data["gateway"]["detectors"]["fusion"]["home_witness"] = witness
    return data


def run(tmp: Path, data: dict, name: str, **witness: object) -> list:
    path = tmp / f"{name}.mcap"
    simulate_to(str(path), scenario_from_dict(data, str(SCENARIO)), seed=0)
    config = None
    if witness:
        config = config_for_streams(TraceReader(str(path)).streams(),
                                    {"detectors": {"fusion": {"home_witness": witness},
                                                  "wearable_fall": WRIST_ALONE}})
    return replay(str(path), config).events


def story(events: list, at: float) -> list[str]:
    """The types of the suspected fall near `at` and of what closed its window."""
    sus = [e for e in events if e.type == "fall_suspected" and at - 2 <= e.occurred_at <= at + 10]
    assert sus, f"no fall_suspected near the incident: {[e.type for e in events]}"
    return ["fall_suspected"] + [e.type for e in events if e.ref == sus[0].id]


KNOCK = {"at": "+3m", "what": "knock", "room": "hall", "to": "kitchen", "hold": "45s"}
FALL = {"at": "+10m", "what": "fall", "kind": "forward", "room": "living", "after": "lie_still",
        "lasts": "4m"}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> tuple[list, list, float]:
    """The two incidents with the scenario's own gateway table (residents 1, no pets), and
    the same trace replayed with the home witness switched off."""
    tmp = tmp_path_factory.mktemp("witness")
    data = scenario([KNOCK, FALL])
    start = scenario_from_dict(data).start
    on = run(tmp, data, "on")
    off = run(tmp, data, "on", enabled=False)
    return on, off, start


def test_a_wrist_knock_on_the_way_to_the_kitchen_is_cancelled_by_the_kitchen(shipped):
    on, off, start = shipped
    knock = start + 180
    assert story(on, knock) == ["fall_suspected", "alarm_cancelled"]
    cancel = next(e for e in on if e.type == "alarm_cancelled")
    assert cancel.sensor == "pir-kitchen" and cancel.evidence["witness_motion_elsewhere"] == 1
    assert cancel.evidence["by_home"] == 1 and cancel.room == "hall"
    assert cancel.evidence["seconds_after_suspected"] < 30
    assert story(off, knock) == ["fall_suspected", "fall"], \
        "without the home the held hand looks like lying still: a false alarm"


def test_a_fall_seen_by_the_radar_is_alarmed_early(shipped):
    on, off, start = shipped
    fall_at = start + 600
    assert story(on, fall_at) == ["fall_suspected", "fall"]
    alarm = next(e for e in on if e.type == "fall")
    assert alarm.evidence["witness_radar_low"] == 1 and alarm.evidence["sensors"] == 2
    assert alarm.evidence["confirmed_after_s"] < 10, "well before the 30 s window ends"
    assert story(off, fall_at) == ["fall_suspected", "fall"]
    late = next(e for e in off if e.type == "fall")
    assert "confirmed_after_s" not in late.evidence and late.evidence["cancel_window_s"] == 30


def test_a_fall_in_a_room_without_a_radar_is_alarmed_when_the_window_ends(tmp_path):
    fall = {**FALL, "room": "kitchen", "at": "+5m"}
    data = scenario([fall])
    events = run(tmp_path, data, "kitchen")
    start = scenario_from_dict(data).start
    assert story(events, start + 300) == ["fall_suspected", "fall"]
    alarm = next(e for e in events if e.type == "fall")
    assert alarm.evidence["cancel_window_s"] == 30 and alarm.room == "kitchen"


def test_the_knock_is_not_cancelled_when_the_home_may_have_another_person(tmp_path):
    data = scenario([KNOCK], residents=2, pets=False)
    events = run(tmp_path, data, "two")
    start = scenario_from_dict(data).start
    assert story(events, start + 180) == ["fall_suspected", "fall"]


def test_with_its_steps_evidence_the_wrist_cancels_the_knock_by_itself_even_with_two_residents(tmp_path):
    data = scenario([KNOCK], wrist_steps=True, residents=2, pets=False)
    events = run(tmp_path, data, "steps")
    start = scenario_from_dict(data).start
    assert story(events, start + 180) == ["fall_suspected", "alarm_cancelled"]
    cancel = next(e for e in events if e.type == "alarm_cancelled")
    assert "by_home" not in cancel.evidence and cancel.evidence["by_button"] == 0


def test_the_alarm_texts_name_the_room_the_home_saw(shipped):
    on, _, _ = shipped
    sus = [e for e in on if e.type == "fall_suspected"]
    assert [e.room for e in sus][:2] == ["hall", "living"]
    assert all(parse_iso(e.payload("gw", "s")["occurred_at"]) == pytest.approx(e.occurred_at, abs=1e-3)
               for e in sus)
