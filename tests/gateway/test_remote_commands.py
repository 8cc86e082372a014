"""Specification of the centre's commands (gateway/remote_commands.py, docs/mqtt-api.md).

The gateway side here is a plain object implementing the two-method GatewayState
protocol: the class under test is pure logic, the transport is tested elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gateway.catalogue import CATALOGUE, render
from gateway.events import iso
from gateway.remote_commands import SILENCEABLE_TYPES, RemoteCommands

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
NOW = 1_790_000_000.0


class Home:
    def __init__(self) -> None:
        self.snapshots = 0

    def status_snapshot(self):
        self.snapshots += 1
        return {"schema": 1, "gateway_id": "gw-A", "seq": self.snapshots, "sensors": {}}

    def sensor_ids(self):
        return {"radar-1", "pir-hall"}


def cmd(**body) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture
def rc() -> RemoteCommands:
    return RemoteCommands(Home())


def validate(schema_name: str, obj) -> None:
    schema = json.loads((SCHEMAS / schema_name).read_text())
    Draft202012Validator(schema).validate(obj)


def test_test_alarm_raises_one_test_event_and_names_it_in_the_result(rc):
    out = rc.handle("test_alarm", cmd(id="c-1"), retained=False, now=NOW)
    assert out.ok and not out.duplicate and not out.ignored
    [ev] = out.events
    assert (ev.type, ev.test, ev.ref, ev.occurred_at) == ("test_alarm", True, "c-1", NOW)
    answer = json.loads(out.result_payload)
    assert answer == {"id": "c-1", "ok": True, "result": {"event_id": ev.event_id}}
    validate("command_result.json", answer)
    assert out.result_topic("safehome/v1", "gw-A") == "safehome/v1/gw-A/cmd/test_alarm/result"


def test_same_id_twice_answers_the_same_and_has_no_second_effect(rc):
    first = rc.handle("test_alarm", cmd(id="c-1"), False, NOW)
    again = rc.handle("test_alarm", cmd(id="c-1"), False, NOW + 5)
    assert again.duplicate and again.events == ()
    assert again.result_payload == first.result_payload


def test_a_failed_command_repeated_raises_its_error_event_only_once(rc):
    first = rc.handle("reboot", cmd(id="c-9"), False, NOW)
    again = rc.handle("reboot", cmd(id="c-9"), False, NOW + 1)
    assert len(first.events) == 1 and again.events == ()
    assert again.result_payload == first.result_payload


def test_retained_commands_are_ignored_and_not_remembered(rc):
    out = rc.handle("test_alarm", cmd(id="c-2"), retained=True, now=NOW)
    assert out.ignored and out.events == () and not out.ok
    fresh = rc.handle("test_alarm", cmd(id="c-2"), retained=False, now=NOW)
    assert not fresh.duplicate and len(fresh.events) == 1


@pytest.mark.parametrize("name, payload, problem", [
    ("reboot", cmd(id="c-3"), "unknown command 'reboot'"),
    ("test_alarm", b"{not json", "not valid JSON"),
    ("test_alarm", b"\xff\xfe", "not valid JSON"),
    ("test_alarm", b"[1, 2]", "must be a JSON object"),
    ("test_alarm", cmd(), "'id' is missing"),
    ("test_alarm", cmd(id=""), "'id' is missing"),
    ("test_alarm", cmd(id=7), "'id' is missing"),
    ("test_alarm", cmd(id="x" * 200), "longer than"),
    ("test_alarm", cmd(id="c-4", extra=1), "unexpected field(s): extra"),
    ("silence_sensor", cmd(id="c-5", until="2030-01-01T00:00:00Z"), "'sensor'"),
    ("silence_sensor", cmd(id="c-6", sensor="ghost", until="2030-01-01T00:00:00Z"),
     "unknown sensor 'ghost'"),
    ("silence_sensor", cmd(id="c-7", sensor="radar-1"), "'until'"),
    ("silence_sensor", cmd(id="c-8", sensor="radar-1", until="tomorrow"), "not an ISO 8601"),
    ("silence_sensor", cmd(id="c-9", sensor="radar-1", until="2026-09-21T12:00:00"),
     "time zone"),
    ("silence_sensor", cmd(id="c-10", sensor="radar-1", until=iso(NOW + 31 * 86400)),
     "30 days"),
])
def test_bad_commands_answer_an_error_and_raise_a_command_error_naming_it(rc, name, payload,
                                                                           problem):
    out = rc.handle(name, payload, False, NOW)
    assert not out.ok and problem in out.error
    answer = json.loads(out.result_payload)
    assert answer["ok"] is False and problem in answer["error"]
    validate("command_result.json", answer)
    [ev] = out.events
    assert ev.type == "command_error"
    texts = render(ev.type, ev.text_values())
    for lang in ("fi", "sv", "en"):
        assert name in texts[lang] and problem in texts[lang]
    assert rc.silenced(NOW) == {}


def test_status_returns_the_snapshot_and_asks_for_a_status_publish(rc):
    out = rc.handle("status", cmd(id="s-1"), False, NOW)
    assert out.ok and out.publish_status and out.events == ()
    assert json.loads(out.result_payload)["result"]["gateway_id"] == "gw-A"


def test_silence_sensor_mutes_technical_events_until_the_given_time_never_alarms(rc):
    until = NOW + 3600
    out = rc.handle("silence_sensor", cmd(id="m-1", sensor="radar-1", until=iso(until)),
                    False, NOW)
    assert out.ok and out.result == {"sensor": "radar-1", "silenced": True, "until": iso(until)}
    assert rc.is_silenced("radar-1", NOW + 10)
    assert not rc.is_silenced("pir-hall", NOW + 10)
    assert rc.suppresses("sensor_silent", "radar-1", NOW + 10)
    assert rc.suppresses("battery_low", "radar-1", NOW + 10)
    assert rc.suppresses("wearable_out_of_range", "radar-1", NOW + 10)
    assert not rc.suppresses("sensor_restored", "radar-1", NOW + 10)
    assert not rc.suppresses("fall", "radar-1", NOW + 10)
    assert not rc.suppresses("sos", "radar-1", NOW + 10)
    assert all(CATALOGUE[t].kind != "alarm" for t in SILENCEABLE_TYPES)
    assert not rc.is_silenced("radar-1", until)          # ends by itself
    assert not rc.suppresses("sensor_silent", "radar-1", until + 1)


def test_a_time_in_the_past_lifts_a_silence(rc):
    rc.handle("silence_sensor", cmd(id="m-1", sensor="pir-hall", until=iso(NOW + 600)), False, NOW)
    assert rc.silenced(NOW + 1) == {"pir-hall": pytest.approx(NOW + 600, abs=0.001)}
    out = rc.handle("silence_sensor", cmd(id="m-2", sensor="pir-hall", until=iso(NOW - 1)),
                    False, NOW + 2)
    assert out.ok and out.result["silenced"] is False
    assert not rc.is_silenced("pir-hall", NOW + 3)


def test_the_id_memory_is_bounded_oldest_forgotten_first():
    rc = RemoteCommands(Home(), memory=3)
    for i in range(4):
        rc.handle("test_alarm", cmd(id=f"c-{i}"), False, NOW + i)
    assert rc.handle("test_alarm", cmd(id="c-3"), False, NOW).duplicate
    assert not rc.handle("test_alarm", cmd(id="c-0"), False, NOW).duplicate


def test_only_the_commands_own_result_topic_may_be_the_response_topic():
    rc = RemoteCommands(Home(), base="safehome/v1/gw-A")
    ok = rc.handle("status", cmd(id="c-1"), False, NOW,
                   response_topic="safehome/v1/gw-A/cmd/status/result")
    assert ok.ok
    for topic in ("safehome/v1/gw-A/alarm", "safehome/v1/gw-A/ack",
                  "safehome/v1/gw-A/cmd/status/result", "centre/replies"):
        out = rc.handle("test_alarm", cmd(id=f"c-{topic}"), False, NOW, response_topic=topic)
        assert not out.ok and "refused" in out.error and topic in out.error
        assert [e.type for e in out.events] == ["command_error"], "no test alarm, an error event"
