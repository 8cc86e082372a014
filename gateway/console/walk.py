"""The walk test's one question: does this reading show that the sensor saw a person?

Why per kind: a PIR says so with `active`, a radar with a tracked target (or, without a
tracker, a cloud of points), a door contact by opening, a wearable by moving. A heart
rate proves the wearable is worn, not that it is carried through the home, so it does not
count; neither do battery or link reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_POINTS = 8            # a person's cloud in one frame; a few stray points are clutter
MOVING_STD_G = 0.05       # spread of |a| while walking (standing still is ~0.01 g)


def sees_someone(reading: Any) -> bool:
    kind = reading.kind
    if kind == "motion":
        return bool(reading.active)
    if kind == "presence":
        return bool(reading.present)
    if kind == "radar_targets":
        return len(reading.targets) > 0
    if kind == "radar_points":
        return len(reading.points) >= MIN_POINTS
    if kind == "contact":
        return bool(reading.open)
    if kind == "button":
        return True
    if kind == "fall_flag":
        return bool(reading.fall)
    if kind == "accel":
        if len(reading) < 5:
            return False
        magnitude = np.linalg.norm(np.asarray(reading.xyz, dtype=float), axis=1)
        return float(magnitude.std()) > MOVING_STD_G
    return False
