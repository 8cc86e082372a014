"""Devices behind a bridge entry are sensors of the home in their own right."""

from __future__ import annotations

from gateway.config import parse_config
from gateway.health import HealthMonitor
from gateway.pipeline import sensor_meta
from gateway.sensors import expand
from sensordata.readings import Motion

HOME = {
    "gateway_id": "gw-1", "site_id": "site-1",
    "rooms": [{"id": "hall"}, {"id": "kitchen"}],
    "sensors": [{"id": "zigbee", "type": "zigbee2mqtt", "room": "hall", "timeout": 3600,
                 "settings": {"devices": [
                     {"friendly_name": "kitchen_pir", "role": "motion", "room": "kitchen"},
                     {"friendly_name": "front_door", "role": "contact", "id": "door"}]}}],
}


def test_bridged_devices_get_their_rooms_and_the_bridge_timeout():
    cfg = parse_config(HOME, env={})
    known = {k.meta.id: k for k in expand(cfg)}
    assert set(known) == {"zigbee", "kitchen_pir", "door"}
    assert known["kitchen_pir"].meta.room == "kitchen"
    assert known["door"].meta.room == "hall", "a device without a room is where its bridge is"
    assert known["door"].timeout == 3600 and known["door"].parent == "zigbee"
    assert sensor_meta(cfg)["kitchen_pir"].room == "kitchen"


def test_a_bridged_device_reading_keeps_the_bridge_alive_and_restores_both():
    clock = [0.0]
    health = HealthMonitor(mono=lambda: clock[0], wall=lambda: 1e9 + clock[0])
    health.add("zigbee", 60)
    health.add("kitchen_pir", 60, parent="zigbee")
    clock[0] = 61
    assert {h.id for h, _ in health.newly_silent()} == {"zigbee", "kitchen_pir"}
    assert sorted(health.seen(Motion("kitchen_pir", 1e9 + 61, True))) == ["kitchen_pir", "zigbee"]
    assert health.summary()["zigbee"]["state"] == "ok"



def test_a_bridge_entry_whose_devices_cannot_be_listed_is_reported_once_by_name(caplog, monkeypatch):
    from drivers import registry

    def broken(self):
        raise RuntimeError("device table unreadable")

    monkeypatch.setattr(registry.load("zigbee2mqtt"), "sub_sensors", broken)
    cfg = parse_config({**HOME, "sensors": [{**HOME["sensors"][0], "id": "zigbee-broken"}]}, env={})
    with caplog.at_level("ERROR", logger="safehome.sensors"):
        known = [k.meta.id for k in expand(cfg)] + [k.meta.id for k in expand(cfg)]
    assert known == ["zigbee-broken", "zigbee-broken"]
    lines = [r.getMessage() for r in caplog.records if "zigbee-broken" in r.getMessage()]
    assert len(lines) == 1, "named once, not once per expand"
    assert "device table unreadable" in lines[0] and "no room and no silence check" in lines[0]


def test_a_replayed_traces_devices_are_its_sensors_and_no_bridge_error_is_logged(caplog):
    """A trace records each device behind a bridge as a stream of its own, and its home
    (HomeConfig.for_replay) has no driver settings: nothing to list, nothing to report."""
    from gateway.config import HomeConfig

    cfg = HomeConfig.for_replay([
        {"id": "pir-hall", "type": "zigbee2mqtt", "room": "hall"},
        {"id": "door-front", "type": "zigbee2mqtt", "room": "hall"},
        {"id": "rec", "type": "csv", "placement": "wrist"}])
    with caplog.at_level("DEBUG", logger="safehome.sensors"):
        known = [k.meta.id for k in expand(cfg)]
    assert known == ["pir-hall", "door-front", "rec"]
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")], caplog.text
