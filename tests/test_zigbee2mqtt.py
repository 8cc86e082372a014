"""zigbee2mqtt driver against a real mosquitto, fed the JSON Zigbee2MQTT publishes."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from drivers.base import SensorInfo
from drivers.zigbee2mqtt import Settings, Zigbee2MqttDriver, message_time, parse_availability
from gateway.readings import Availability, Battery, Button, Contact, LinkQuality, Motion

DEVICES = [
    {"friendly_name": "hall_motion", "role": "motion", "room": "hall"},
    {"friendly_name": "front_door", "role": "contact", "room": "hall", "id": "door"},
    {"friendly_name": "sos/pendant", "role": "sos_button"},
]


def make_driver(broker) -> Zigbee2MqttDriver:
    return Zigbee2MqttDriver(SensorInfo("zigbee", None, "zigbee2mqtt"),
                             Settings(broker=broker.url, devices=DEVICES))


async def publish(broker, topic: str, payload, retain: bool = False) -> None:
    if not isinstance(payload, (str, bytes)):
        payload = json.dumps(payload)
    async with aiomqtt.Client(broker.host, broker.port, identifier="z2m-fake") as c:
        await c.publish(topic, payload, qos=1, retain=retain)


async def next_readings(it, n: int, timeout: float = 5.0) -> list:
    out = []

    async def run() -> None:
        while len(out) < n:
            out.append(await it.__anext__())

    await asyncio.wait_for(run(), timeout)
    return out


async def test_devices_states_availability_and_retained_handling(mosquitto):
    # what the bridge left on the broker before the gateway started
    await publish(mosquitto, "zigbee2mqtt/front_door/availability", "online", retain=True)
    await publish(mosquitto, "zigbee2mqtt/front_door",
                  {"contact": False, "battery": 91, "linkquality": 120}, retain=True)
    await publish(mosquitto, "zigbee2mqtt/sos/pendant", {"action": "emergency"}, retain=True)
    drv = make_driver(mosquitto)
    await drv.connect()
    it = drv.readings().__aiter__()
    try:
        first = await next_readings(it, 2)
        # retained facts about now are reported, the old open door and old SOS are not
        assert sorted(type(r).__name__ for r in first) == ["Availability", "Battery"]
        assert all(r.sensor == "door" for r in first)

        await publish(mosquitto, "zigbee2mqtt/hall_motion",
                      {"occupancy": True, "battery": 100, "linkquality": 87})
        got = await next_readings(it, 3)
        assert [type(r) for r in got] == [Battery, LinkQuality, Motion]
        assert got[2].active and got[2].sensor == "hall_motion" and got[1].lqi == 87

        # same occupancy again: only the link quality is news
        await publish(mosquitto, "zigbee2mqtt/hall_motion", {"occupancy": True, "linkquality": 90})
        await publish(mosquitto, "zigbee2mqtt/front_door", {"contact": True})
        await publish(mosquitto, "zigbee2mqtt/front_door", {"contact": False, "battery": 19,
                                                            "battery_low": True})
        got = await next_readings(it, 4)
        assert isinstance(got[0], LinkQuality) and got[0].lqi == 90
        # the retained state said open; closing is a change and is reported
        assert isinstance(got[1], Contact) and got[1].open is False and got[1].sensor == "door"
        assert isinstance(got[2], Battery) and (got[2].percent, got[2].low) == (19.0, True)
        assert isinstance(got[3], Contact) and got[3].open is True

        await publish(mosquitto, "zigbee2mqtt/sos/pendant", {"action": "emergency", "battery": 80})
        got = await next_readings(it, 2)
        assert [type(r) for r in got] == [Battery, Button] and got[1].action == "sos"

        await publish(mosquitto, "zigbee2mqtt/hall_motion/availability", '{"state": "offline"}')
        (off,) = await next_readings(it, 1)
        assert off == Availability("hall_motion", off.t, False)

        # the bridge itself goes away: every device not already offline goes offline
        await publish(mosquitto, "zigbee2mqtt/bridge/state", "offline")
        got = await next_readings(it, 2)
        assert [(r.sensor, r.online) for r in got] == [("door", False), ("sos/pendant", False)]
        # back: devices return to what they last said (no report of their own: online)
        await publish(mosquitto, "zigbee2mqtt/bridge/state", "online")
        got = await next_readings(it, 2)
        assert [(r.sensor, r.online) for r in got] == [("door", True), ("sos/pendant", True)]

        await publish(mosquitto, "zigbee2mqtt/front_door", b"not json")
        await publish(mosquitto, "zigbee2mqtt/front_door", {"contact": True})
        (closed,) = await next_readings(it, 1)
        assert isinstance(closed, Contact) and closed.open is False
        assert drv.stats["bad_payloads"] == 1
    finally:
        await drv.disconnect()


@pytest.mark.slow
async def test_broker_restart_raises_then_reconnect_resubscribes(mosquitto):
    drv = make_driver(mosquitto)
    await drv.connect()
    it = drv.readings().__aiter__()
    await publish(mosquitto, "zigbee2mqtt/hall_motion", {"occupancy": True})
    (m,) = await next_readings(it, 1)
    assert m.active
    mosquitto.stop()
    with pytest.raises(Exception):
        await next_readings(it, 1, timeout=10)
    await drv.disconnect()
    mosquitto.start()  # no persistence: the broker forgot every subscription
    await drv.connect()
    it = drv.readings().__aiter__()
    try:
        await publish(mosquitto, "zigbee2mqtt/hall_motion", {"occupancy": False})
        (m,) = await next_readings(it, 1)
        assert isinstance(m, Motion) and m.active is False
    finally:
        await drv.disconnect()


def test_settings_reject_duplicates_bad_roles_and_urls():
    with pytest.raises(ValueError, match="listed twice"):
        Settings(devices=[DEVICES[0], DEVICES[0]])
    with pytest.raises(ValueError):
        Settings(devices=[{"friendly_name": "x", "role": "smoke"}])
    with pytest.raises(ValueError):
        Settings(broker="http://x", devices=DEVICES)


def test_availability_and_last_seen_parsing():
    assert parse_availability(b"online") is True
    assert parse_availability(b'{"state":"offline"}') is False
    assert parse_availability(b"maybe") is None
    assert message_time({"last_seen": 1_700_000_000_123}, 5.0) == pytest.approx(1_700_000_000.123)
    assert message_time({"last_seen": "2023-11-14T22:13:20+00:00"}, 5.0) == 1_700_000_000.0
    assert message_time({}, 5.0) == 5.0
