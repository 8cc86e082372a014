"""End-to-end acknowledgement: an alarm is re-sent until the centre says a person has it."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3

import aiomqtt

from tests.support.gateway_proc import GatewayProcess, Listener, write_config

ACK = "safehome/v1/gw-test-01/ack"
NO_SUCH_ALARM = "01a2159e-61d8-71de-8b9f-000000000000"   # an event id no alarm has


async def test_unacknowledged_alarm_is_resent_with_the_same_id_until_acked(mosquitto, tmp_path):
    marker = tmp_path / "buzzer-ran"
    cfg = write_config(
        tmp_path, mosquitto.url, sensor_settings="sos_after = 1",
        extra=f'[alarm]\nack_timeout = 1\nmax_attempts = 3\n'
              f'unacknowledged_hook = ["sh", "-c", "echo $SAFEHOME_ALARM_ID > {marker}"]\n')
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            sends = await centre.wait_for("alarm", 3, timeout=20)
            first = sends[0]
            assert [s["id"] for s in sends[:3]] == [first["id"]] * 3
            assert [s["attempt"] for s in sends[:3]] == [1, 2, 3]
            # After max_attempts the gateway tells the centre and runs the local hook.
            escalations = [e for e in await centre.wait_for("event", 2, timeout=10)
                           if e["type"] == "alarm_unacknowledged"]
            assert escalations and escalations[0]["ref"] == first["id"]
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
                await c.publish(ACK, json.dumps({"id": first["id"], "by": "op-1",
                                                 "at": "2026-11-26T10:00:00Z"}), qos=1)
                await asyncio.sleep(0.5)
                count = len(centre.on("alarm"))
                await asyncio.sleep(2.5)
                assert len(centre.on("alarm")) == count, "an ack stops the re-sending"
                # A duplicate ack and an unknown ack are ignored, logged once each.
                for _ in range(3):
                    await c.publish(ACK, json.dumps({"id": first["id"], "by": "op-1"}), qos=1)
                    await c.publish(ACK, json.dumps({"id": NO_SUCH_ALARM, "by": "op-1"}), qos=1)
                await c.publish(ACK, b"not json", qos=1)
                await asyncio.sleep(0.5)
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    assert marker.read_text().strip() == first["id"]
    out = gw.output()
    assert out.count(f"duplicate ack for {first['id']}") == 1
    assert out.count(f"unknown ack for {NO_SUCH_ALARM}") == 1
    assert out.count("malformed ack") == 1
    with sqlite3.connect(tmp_path / "gw-test-01.db") as db:
        state, attempts, by = db.execute("SELECT state, attempts, acked_by FROM events WHERE id = ?",
                                         (first["id"],)).fetchone()
    assert (state, by) == ("acknowledged", "op-1") and attempts >= 3


async def test_mqtt5_alarms_name_the_ack_topic_as_response_topic(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1")
    gw = GatewayProcess(cfg).start()
    try:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port,
                                  protocol=aiomqtt.ProtocolVersion.V5) as c:
            # (the gateway speaks MQTT 5 by default; its CONNECT is p5 in the broker log)
            await c.subscribe("safehome/v1/gw-test-01/alarm", qos=1)
            async with asyncio.timeout(20):
                async for m in c.messages:
                    body = json.loads(m.payload)
                    assert m.properties.ResponseTopic == ACK
                    assert m.properties.CorrelationData == body["id"].encode()
                    assert m.properties.ContentType == "application/json"
                    break
    finally:
        gw.signal(signal.SIGTERM)
        gw.wait()


async def test_mqtt_3_1_1_is_selectable(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1",
                       mqtt_extra='protocol = "3.1.1"')
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            await centre.wait_for("alarm", 1, timeout=20)
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    gateway_lines = [ln for ln in mosquitto.log_text().splitlines()
                     if "New client connected" in ln and "safehome-gw-test-01" in ln]
    assert gateway_lines and all("(p2," in ln for ln in gateway_lines), gateway_lines  # p2 = 3.1.1
