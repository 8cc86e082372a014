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
from drivers.base import SensorInfo
from gateway.config import HomeConfig

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
        out.append(KnownSensor(SensorMeta(s.id, s.type, s.room, s.placement, s.role), s.timeout))
        try:
            cls = driver_registry.load(s.type)
            if not hasattr(cls, "sub_sensors"):
                continue
            driver = cls(SensorInfo(s.id, s.room, s.type, s.placement),
                         cls.Settings.model_validate(s.settings))
            subs = driver.sub_sensors()
        except Exception as exc:  # noqa: BLE001 - e.g. a trace replayed without driver settings
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
