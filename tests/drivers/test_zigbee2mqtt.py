"""zigbee2mqtt driver against a real mosquitto, fed the JSON Zigbee2MQTT publishes."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from drivers.base import SensorInfo
from drivers.zigbee2mqtt import Settings, Zigbee2MqttDriver, message_time, parse_availability
from sensordata.readings import Availability, Battery, Button, Contact, LinkQuality, Motion

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
    with pytest.raises((ConnectionError, aiomqtt.MqttError)):   # not a timeout: the stream ends
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


async def test_one_device_per_sensor_entry_uses_the_sensor_id_and_room(mosquitto):
    drv = Zigbee2MqttDriver(SensorInfo("kitchen_pir", "kitchen", "zigbee2mqtt"),
                            Settings(broker=mosquitto.url, friendly_name="0x00158d0001a2b3c4",
                                     role="motion"))
    assert [(s.id, s.room) for s in drv.sub_sensors()] == [("kitchen_pir", "kitchen")]
    await drv.connect()
    it = drv.readings().__aiter__()
    try:
        await publish(mosquitto, "zigbee2mqtt/0x00158d0001a2b3c4", {"occupancy": True})
        (m,) = await next_readings(it, 1)
    finally:
        await drv.disconnect()
    assert m == Motion("kitchen_pir", m.t, True)


def test_settings_reject_duplicates_bad_roles_and_urls():
    with pytest.raises(ValueError, match="either friendly_name and device"):
        Settings()
    with pytest.raises(ValueError, match="either friendly_name and device"):
        Settings(friendly_name="x", role="motion", devices=DEVICES)
    with pytest.raises(ValueError, match="both friendly_name and device"):
        Settings(friendly_name="x")
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


@pytest.mark.slow
async def test_daemon_end_to_end_zigbee_sos_button_becomes_an_alarm(mosquitto, tmp_path):
    """The real `safehome run` with a zigbee2mqtt bridge on the home's broker (here the same
    mosquitto as the centre's): a retained old emergency is ignored, a fresh press raises
    one sos alarm."""
    import signal

    from tests.support.gateway_proc import GatewayProcess, Listener, write_home

    await publish(mosquitto, "zigbee2mqtt/sos_pendant", {"action": "emergency"}, retain=True)
    cfg = write_home(tmp_path, mosquitto.url, f"""\
        gateway_id = "gw-z2m"
        site_id = "site-test"
        [[rooms]]
        id = "hall"
        [[sensors]]
        id = "pendant"
        type = "zigbee2mqtt"
        room = "hall"
        timeout = 3600
        [sensors.settings]
        broker = "{mosquitto.url}"
        friendly_name = "sos_pendant"
        role = "sos_button"
    """)
    async with Listener(mosquitto.host, mosquitto.port) as centre:
        gw = GatewayProcess(cfg).start()
        try:
            # the daemon is up once it publishes (status or heartbeat); give the driver,
            # started alongside, a moment more to subscribe and see the retained press
            deadline = asyncio.get_running_loop().time() + 20
            while not centre.messages and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)
            assert centre.on("alarm") == []
            await publish(mosquitto, "zigbee2mqtt/sos_pendant",
                          {"action": "emergency", "battery": 90, "linkquality": 70})
            alarms = await centre.wait_for("alarm", 1, timeout=20)
            await asyncio.sleep(1.0)
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0, gw.output()
    assert [a["type"] for a in centre.on("alarm")] == ["sos"], alarms
    assert set(alarms[0]["text"]) == {"fi", "sv", "en"}
    assert "pendant" in str(alarms[0]) and "hall" in str(alarms[0])


def test_a_button_press_can_mean_i_am_fine_but_never_both():
    drv = Zigbee2MqttDriver(SensorInfo("ok-button", "living", "zigbee2mqtt"),
                            Settings(friendly_name="ok_button", device="sos_button",
                                     sos_actions=["hold"], cancel_actions=["single"]))
    got = drv.handle("zigbee2mqtt/ok_button", b'{"action": "single"}', False, 1.0)
    assert [(r.sensor, r.action) for r in got] == [("ok-button", "cancel")]
    got = drv.handle("zigbee2mqtt/ok_button", b'{"action": "hold"}', False, 2.0)
    assert [r.action for r in got] == ["sos"]
    assert drv.handle("zigbee2mqtt/ok_button", b'{"action": "single"}', True, 3.0) == [], \
        "a retained press is not a press now"
    with pytest.raises(ValueError, match="a call for help must never cancel one"):
        Settings(friendly_name="b", device="sos_button", sos_actions=["single"],
                 cancel_actions=["single"])
