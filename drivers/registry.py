"""Driver registry keyed by the config's sensor `type`.

Built-in drivers are named here as "module:Class" strings and imported only when a home
uses them, so a Pi without bleak or gpiod still runs its radars. Third-party drivers
register through the `safehome.drivers` entry-point group, e.g. in their setup.cfg:

    [options.entry_points]
    safehome.drivers =
        my_sensor = my_package.driver:MySensorDriver
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from drivers.base import Driver

ENTRY_POINT_GROUP = "safehome.drivers"

BUILTIN: dict[str, str] = {
    "demo": "drivers.demo:DemoDriver",
    "ti_mmwave": "drivers.ti_mmwave.driver:TiMmwaveDriver",
    "hlk_ld2410": "drivers.ld2410.driver:LD2410Driver",
    "seeed_mr60fda2": "drivers.seeed.driver:MR60FDA2Driver",
    "seeed_mr60fda1": "drivers.seeed.driver:MR60FDA1Driver",
    "ble_heart_rate": "drivers.ble.heart_rate:HeartRateDriver",
    "polar_pmd": "drivers.ble.polar:PolarPmdDriver",
    "ble_button": "drivers.ble.button:ButtonDriver",
    "zigbee2mqtt": "drivers.zigbee2mqtt:Zigbee2MqttDriver",
    "gpio_pir": "drivers.gpio_pir:GpioPirDriver",
    "simulated": "simulator.live:SimulatedDriver",
}


class UnknownDriver(LookupError):
    pass


@lru_cache(maxsize=None)
def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_types() -> list[str]:
    return sorted(set(BUILTIN) | set(_entry_points()))


def load(type_name: str) -> type[Driver[Any]]:
    """The driver class for `type_name`; UnknownDriver if nothing provides it."""
    if type_name in BUILTIN:
        module, _, attr = BUILTIN[type_name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
    elif type_name in _entry_points():
        cls = _entry_points()[type_name].load()  # type: ignore[attr-defined]
    else:
        raise UnknownDriver(type_name)
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise TypeError(f"{type_name!r} does not name a safehome driver class: {cls!r}")
    return cls
