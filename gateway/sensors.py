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
from gateway.config import HomeConfig

log = logging.getLogger("safehome.sensors")


@dataclass(frozen=True)
class KnownSensor:
    meta: SensorMeta
    timeout: float
    parent: str | None = None  # the config entry of a bridged device


def expand(config: HomeConfig) -> list[KnownSensor]:
    out: list[KnownSensor] = []
    for s in config.sensors:
        out.append(KnownSensor(SensorMeta(s.id, s.type, s.room, s.placement, s.role), s.timeout))
        try:
            cls = driver_registry.load(s.type)
            if cls.sub_sensors is Driver.sub_sensors:
                continue  # not a bridge: it serves only itself
            driver = cls(SensorInfo(s.id, s.room, s.type, s.placement),
                         config.driver_settings(s))
            subs = driver.sub_sensors()
        except Exception:  # noqa: BLE001 - e.g. a trace replayed without driver settings
            continue
        for sub in subs:
            if sub.id != s.id:
                out.append(KnownSensor(SensorMeta(sub.id, sub.type, sub.room, sub.placement), s.timeout,
                                       parent=s.id))
    return out
