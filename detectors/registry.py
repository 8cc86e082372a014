"""Detectors by the name of their `[detectors.NAME]` table in the home's config.

Built-in detectors are named here as "module:Class" strings and imported when a home
runs them. Third-party detectors register through the `safehome.detectors` entry-point
group, e.g. in their setup.cfg:

    [options.entry_points]
    safehome.detectors =
        stove_left_on = my_package.stove:StoveLeftOnDetector

Every entry is a subclass of `detectors.base.Detector` (see docs/writing-a-detector.md).
A detector whose table is absent from the config runs with its defaults when
`default_on` is true; `enabled = false` in its table switches it off.
"""

from __future__ import annotations

import importlib
import inspect
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Mapping

from detectors.base import Detector, DetectorSettings, SensorMeta
from detectors.home_views import HomeTrackers

ENTRY_POINT_GROUP = "safehome.detectors"

BUILTIN: dict[str, str] = {
    "passthrough": "detectors.passthrough:PassThroughDetector",
    "radar_fall": "detectors.radar_fall:RadarFallDetector",
    "inactivity": "detectors.inactivity:InactivityDetector",
    "not_up": "detectors.routine:NotUpDetector",
    "dwell": "detectors.dwell:DwellDetector",
    "night_door": "detectors.night_door:NightDoorDetector",
    "daily_summary": "detectors.daily_summary:DailySummaryDetector",
    "trends": "detectors.trends:TrendsDetector",
    "sensor_stuck": "detectors.sensor_stuck:SensorStuckDetector",
    "wearable_health": "detectors.wearable_health:WearableHealthDetector",
    "wearable_fall": "detectors.wearable_fall:WearableFallDetector",
}


class UnknownDetector(LookupError):
    pass


@lru_cache(maxsize=None)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_names() -> list[str]:
    """Built-in detectors first (in their documented order), then third-party ones."""
    return list(BUILTIN) + sorted(set(_entry_points()) - set(BUILTIN))


def load(name: str) -> type[Detector[Any]]:
    """The detector class for `name`; UnknownDetector if nothing provides it."""
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
    elif name in _entry_points():
        cls = _entry_points()[name].load()
    else:
        raise UnknownDetector(name)
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"{name!r} does not name a safehome detector class: {cls!r}")
    return cls


def build(name: str, settings: DetectorSettings, sensors: Mapping[str, SensorMeta],
          timezone: str | None, homes: HomeTrackers) -> Detector[Any]:
    """The detector `name`, sharing the home's trackers `homes` (detectors/activity.py).
    A detector whose own constructor does not take `homes` (one written before it, with
    the three arguments) is built without: it gets a tracker pool of its own."""
    cls = load(name)
    if _takes_homes(cls):
        return cls(settings, sensors, timezone, homes=homes)
    return cls(settings, sensors, timezone)


@lru_cache(maxsize=None)
def _takes_homes(cls: type) -> bool:
    params = inspect.signature(cls).parameters.values()
    return any(p.name == "homes" or p.kind is p.VAR_KEYWORD for p in params)
