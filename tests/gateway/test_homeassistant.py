"""Home Assistant MQTT discovery (issue 14, beyond the brief): the gateway's status, each
sensor's health and the last alarm appear as entities on the home's own broker, never raw
sensor data, and never on the alarm centre's broker unless asked."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiomqtt
import pytest

from gateway.catalogue import render
from gateway.config import ConfigError, parse_config
from gateway.events import Event, new_event_id
from gateway.homeassistant import HomeAssistantBridge

T0 = 1_790_000_000.0
HEALTH = {"wearable": {"state": "ok", "battery": 81, "last_seen": "2026-09-21T10:00:00Z",
                       "rssi": -60},
          "pir-hall": {"state": "silent", "battery": None, "last_seen": None, "rssi": None}}


def home(**ha: Any) -> Any:
    return parse_config({"gateway_id": "gw-ha-1", "site_id": "site-1",
                         "mqtt": {"url": "mqtts://alarms.example.org:8883"},
                         "homeassistant": {"discovery": True, **ha}}, env={})


def test_the_alarm_centres_broker_is_refused_unless_asked() -> None:
    with pytest.raises(ConfigError) as err:
        home(broker="mqtts://alarms.example.org:8883")
    assert any("homeassistant.broker is the alarm centre's broker" in line
               for line in err.value.lines)
    assert home(broker="mqtts://alarms.example.org", allow_alarm_broker=True)
    assert home(broker="mqtt://127.0.0.1:1883").homeassistant.discovery


async def test_entities_appear_on_the_homes_broker_without_readings(mosquitto) -> None:
    cfg = home(broker=mosquitto.url, interval=5, language="en")
    bridge = HomeAssistantBridge(cfg, lambda: HEALTH, "0.1.0")
    seen: dict[str, Any] = {}
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sub:
        await sub.subscribe("homeassistant/#", qos=1)
        await sub.subscribe("safehome/#", qos=1)
        task = asyncio.create_task(bridge.run())
        await asyncio.wait_for(bridge.connected.wait(), 10)
        bridge.alarm(Event(new_event_id(), 7, "fall", "critical", T0, T0 + 1,
                           render("fall", {"room": "bath"}), room="bath", confidence=0.9))

        async def collect() -> None:
            async for msg in sub.messages:
                seen[str(msg.topic)] = msg.payload.decode()
                if "safehome/gw-ha-1/last_alarm" in seen and len(seen) >= 7:
                    return
        await asyncio.wait_for(collect(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    node = "homeassistant/{}/safehome_gw_ha_1/{}/config"
    status = json.loads(seen[node.format("binary_sensor", "status")])
    assert status["device_class"] == "connectivity" and status["state_topic"] == "safehome/gw-ha-1/status"
    for sensor in ("wearable", "pir_hall"):
        entity = json.loads(seen[node.format("sensor", f"{sensor}_health")])
        assert entity["state_topic"] == "safehome/gw-ha-1/health"
        assert entity["device"]["identifiers"] == ["safehome_gw-ha-1"]
    assert seen["safehome/gw-ha-1/status"] == "online"
    health = json.loads(seen["safehome/gw-ha-1/health"])
    assert health == {"wearable": {"state": "ok", "battery": 81,
                                   "last_seen": "2026-09-21T10:00:00Z"},
                      "pir-hall": {"state": "silent", "battery": None, "last_seen": None}}
    alarm = json.loads(seen["safehome/gw-ha-1/last_alarm"])
    assert (alarm["type"], alarm["room"], alarm["severity"]) == ("fall", "bath", "critical")
    assert alarm["text"] == render("fall", {"room": "bath"})["en"]
    assert not any(k in json.dumps(seen) for k in ("xyz", "accel", "samples", "rssi"))


async def test_gateway_shows_offline_when_the_bridge_stops(mosquitto) -> None:
    bridge = HomeAssistantBridge(home(broker=mosquitto.url), lambda: HEALTH)
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.connected.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sub:
        await sub.subscribe("safehome/gw-ha-1/status", qos=1)
        msg = await asyncio.wait_for(anext(aiter(sub.messages)), 10)   # retained
        assert msg.payload == b"offline"
