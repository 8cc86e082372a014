"""Commands that arrive while the gateway is connected: retained ones are never obeyed,
and MQTT 5 requesters get their correlation data back."""

from __future__ import annotations

import asyncio
import json
import signal

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support.gateway_proc import GatewayProcess, Listener, write_config

BASE = "safehome/v1/gw-test-01"


async def test_a_retained_command_published_live_is_ignored(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            await centre.wait_for("status", 1, timeout=15)
            await asyncio.sleep(0.5)
            async with aiomqtt.Client(mosquitto.host, mosquitto.port,
                                      protocol=aiomqtt.ProtocolVersion.V5) as c:
                await c.publish(f"{BASE}/cmd/test_alarm", json.dumps({"id": "cmd-r1"}), qos=1,
                                retain=True)
                await c.publish(f"{BASE}/cmd/test_alarm", b"", qos=1, retain=True)  # clear it
            await asyncio.sleep(1.5)
            assert centre.on("alarm") == [], "a retained command is state, not an instruction"
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    assert "retained command test_alarm ignored" in gw.output()


async def test_command_answer_carries_the_correlation_data(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    gw = GatewayProcess(cfg).start()
    try:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port,
                                  protocol=aiomqtt.ProtocolVersion.V5) as c:
            await c.subscribe(f"{BASE}/#", qos=1)
            async with asyncio.timeout(15):
                async for m in c.messages:
                    if str(m.topic).endswith("/status"):
                        break
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = f"{BASE}/cmd/status/result"
            props.CorrelationData = b"req-42"
            await c.publish(f"{BASE}/cmd/status", json.dumps({"id": "cmd-s1"}), qos=1,
                            properties=props)
            async with asyncio.timeout(10):
                async for m in c.messages:
                    if str(m.topic) == f"{BASE}/cmd/status/result":
                        assert json.loads(m.payload)["id"] == "cmd-s1"
                        assert m.properties.CorrelationData == b"req-42"
                        break
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0


async def test_a_response_topic_inside_the_gateways_subtree_is_refused(mosquitto, tmp_path):
    """`.../alarm` would put a command result where the centre expects alarms, `.../ack`
    would feed the gateway its own answer as an ack: both are refused, and the requester
    hears why on the default result topic."""
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            await centre.wait_for("status", 1, timeout=15)
            async with aiomqtt.Client(mosquitto.host, mosquitto.port,
                                      protocol=aiomqtt.ProtocolVersion.V5) as c:
                for i, leaf in enumerate(("alarm", "ack", "cmd/status/result")):
                    props = Properties(PacketTypes.PUBLISH)
                    props.ResponseTopic = f"{BASE}/{leaf}"
                    props.CorrelationData = f"req-{i}".encode()
                    await c.publish(f"{BASE}/cmd/test_alarm", json.dumps({"id": f"cmd-rt{i}"}),
                                    qos=1, properties=props)
            results = await centre.wait_for("cmd/test_alarm/result", 3, timeout=15)
            await asyncio.sleep(1.0)
            alarms = centre.on("alarm")
            acks = centre.on("ack")
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    assert [r["ok"] for r in results] == [False, False, False]
    assert all("response topic" in r["error"] and "refused" in r["error"] for r in results)
    assert "cmd/test_alarm/result" in results[0]["error"], "the error names the topic to use"
    assert alarms == [], "no result on the alarm topic, and a refused command raises no alarm"
    assert acks == [], "no result on the ack topic"
    out = gw.output()
    assert out.count("response topic") >= 3 and "ack for" not in out
