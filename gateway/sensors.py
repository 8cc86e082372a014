"""The sensors a home really has: the config's entries, plus the devices a bridge driver
speaks for (Zigbee2MQTT in bridge mode serves many devices from one entry).

Detectors need each device's room, and the health monitor needs to watch each device, so
both read this expanded list rather than the raw `[[sensors]]` entries. A device behind a
bridge inherits the bridge entry's silence timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from detectors.base import SensorMeta
from drivers import registry as driver_registry
from drivers.base import Driver, SensorInfo
from gateway.config import HomeConfig, SensorConfig
from sensordata.radar_mounting import Mounting

log = logging.getLogger("safehome.sensors")
_reported: set[tuple[str, str]] = set()  # (entry, problem) already logged: expand runs twice


@dataclass(frozen=True)
class KnownSensor:
    meta: SensorMeta
    timeout: float
    parent: str | None = None  # the config entry of a bridged device


def expand(config: HomeConfig) -> list[KnownSensor]:
    out: list[KnownSensor] = []
    for s in config.sensors:
        out.append(KnownSensor(SensorMeta(s.id, s.type, s.room, s.placement, s.role,
                                          mounting=_room_mounting(config, s)), s.timeout))
        try:
            cls = driver_registry.load(s.type)
        except driver_registry.UnknownDriver:
            # a replayed trace's stream type (csv, umafall) is not a driver; a live config
            # with an unknown type was refused when it was loaded, so this is no bridge
            continue
        if cls.sub_sensors is Driver.sub_sensors:
            continue  # not a bridge: it serves only itself
        try:
            settings = config.driver_settings(s)
        except ValueError:
            # no settings: a replayed trace's home (HomeConfig.for_replay), where every
            # device behind a bridge was recorded as a stream, so a sensor, of its own;
            # a loaded config always has them (invalid ones were refused at load)
            continue
        try:
            driver = cls(SensorInfo(s.id, s.room, s.type, s.placement), settings)
            subs = driver.sub_sensors()
        except Exception as exc:  # noqa: BLE001 - a bridge that cannot say what is behind it
            problem = f"{type(exc).__name__}: {exc}"
            if (s.id, problem) not in _reported:
                _reported.add((s.id, problem))
                log.error("sensor %s (%s): cannot list the devices behind this bridge, so they have"
                          " no room and no silence check: %s; fix [sensors.settings] of %s",
                          s.id, s.type, problem, s.id)
            continue
        for sub in subs:
            if sub.id != s.id:
                out.append(KnownSensor(SensorMeta(sub.id, sub.type, sub.room, sub.placement), s.timeout,
                                       parent=s.id))
    return out


def _room_mounting(config: HomeConfig, s: SensorConfig) -> Mounting | None:
    """The mounting a radar driver puts points in the room frame with (TI: the chirp
    config's sensorPosition or the settings' overrides); None for other sensors, and for
    a replayed trace without driver settings (its detector then keeps the points as given)."""
    try:
        settings = config.driver_settings(s)
        get = getattr(settings, "room_mounting", None)
        got = get() if callable(get) else None
    except Exception:  # noqa: BLE001 - a trace replay has no driver settings: nothing to undo
        return None
    return got if isinstance(got, Mounting) else None
