"""Detectors by the name of their `[detectors.NAME]` table in the home's config.

Every detector class has:
- `Settings`: a pydantic model (extra keys forbidden, every field titled) for its table;
- `__init__(self, settings, sensors: Mapping[str, SensorMeta])`;
- `feed(readings) -> list[Detection]`.
A detector whose table is absent from the config runs with its defaults when
`default_on` is true; `enabled = false` in its table switches it off.
"""

from __future__ import annotations

import importlib

DETECTORS: dict[str, str] = {
    "passthrough": "detectors.passthrough:PassThroughDetector",
    "radar_fall": "detectors.radar_fall:RadarFallDetector",
    "inactivity": "detectors.inactivity:InactivityDetector",
    "not_up": "detectors.routine:NotUpDetector",
    "dwell": "detectors.dwell:DwellDetector",
    "night_door": "detectors.night_door:NightDoorDetector",
    "daily_summary": "detectors.daily_summary:DailySummaryDetector",
    "wearable_health": "detectors.wearable_health:WearableHealthDetector",
    "wearable_fall": "detectors.wearable_fall:WearableFallDetector",
}


def load(name: str) -> type:
    module, _, attr = DETECTORS[name].partition(":")
    return getattr(importlib.import_module(module), attr)
