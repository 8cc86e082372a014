"""What the real daemon publishes obeys docs/schemas/, and the centre's commands work
end to end (issue 3, items 4 and 5).

The real `safehome run` runs in a child process against a real mosquitto; the
reference centre (`gateway.centre.receiver.Centre`, auto-ack) is its peer, and a raw subscriber
records every message so each one can be validated against the schema for its topic.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import aiomqtt
from jsonschema import Draft202012Validator, FormatChecker

from gateway.centre.receiver import Centre
from gateway.events import iso
from tests.support.gateway_proc import GatewayProcess, Listener, write_config

GW = "gw-test-01"
BASE = f"safehome/v1/{GW}"
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def schema_for(topic: str) -> str:
    leaf = topic[len(BASE) + 1:]
    if leaf in ("alarm", "event"):
        return "event.json"
    if leaf.startswith("cmd/") and leaf.endswith("/result"):
        return "command_result.json"
    if leaf.startswith("cmd/"):
        return f"command_{leaf[4:]}.json"
    return f"{leaf}.json"


def validators() -> dict[str, Draft202012Validator]:
    return {p.name: Draft202012Validator(json.loads(p.read_text()), format_checker=FormatChecker())
            for p in SCHEMAS.glob("*.json")}


async def test_every_payload_validates_and_commands_work_end_to_end(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1")
    async with Listener(mosquitto.host, mosquitto.port) as wire, \
            Centre(mosquitto.url, auto_ack=True, ack_by="op-1") as centre:
        # A retained command is stale state the broker replays on every subscribe, not an
        # instruction: the gateway, subscribing after it was left there, must ignore it.
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as stale:
            await stale.publish(f"{BASE}/cmd/test_alarm", b'{"id": "retained-1"}', qos=1,
                                retain=True)
        gw = GatewayProcess(cfg).start()
        try:
            sos = await centre.wait_for_alarm(lambda a: a.type == "sos", timeout=20)
            await wire.wait_for("heartbeat")

            result = await centre.send_command(GW, "test_alarm", {"id": "t-1"})
            assert result["ok"] is True, result
            test = await centre.wait_for_alarm(lambda a: a.id == result["result"]["event_id"])
            assert test.payload["test"] is True and test.payload["ref"] == "t-1"
            assert test.payload["code"]["contact_id"] == 601
            again = await centre.send_command(GW, "test_alarm", {"id": "t-1"})
            assert again == result                                   # idempotent

            silence = await centre.send_command(GW, "silence_sensor", {
                "id": "m-1", "sensor": "pendant", "until": iso(time.time() + 3600)})
            assert silence["ok"] is True and silence["result"]["silenced"] is True
            status = await centre.send_command(GW, "status", {"id": "s-1"})
            assert status["ok"] and status["result"]["sensors"]["pendant"]["state"] == "silenced"

            bad = await centre.send_command(GW, "reboot", {"id": "b-1"})
            assert bad["ok"] is False and "reboot" in bad["error"]
            error = await centre.wait_until(lambda: next(
                (e for e in centre.state.events if e["type"] == "command_error"), None))
            assert error["ref"] == "b-1" and "reboot" in error["text"]["fi"]
            await centre.wait_until(lambda: sos.acked_by and test.acked_by)
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0, gw.output()

    assert not [r for r in centre.state.results if r.get("id") == "retained-1"]
    assert not [a for a in centre.alarms if a.payload.get("ref") == "retained-1"]
    assert len([a for a in centre.alarms if a.payload.get("ref") == "t-1"]) == 1

    check = validators()
    seen: set[str] = set()
    for topic, body, retained in wire.messages:
        if (retained and topic.endswith("/cmd/test_alarm")) or topic.endswith("/cmd/reboot"):
            continue                          # the stale and the unknown command we sent
        name = schema_for(topic)
        check[name].validate(body)
        seen.add(name)
        if retained:
            assert topic.endswith("/status"), topic     # only the status is retained
    assert {"status.json", "heartbeat.json", "event.json", "ack.json", "command_result.json",
            "command_test_alarm.json", "command_status.json",
            "command_silence_sensor.json"} <= seen
