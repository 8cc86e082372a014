"""Measure a radar's mounting (height above the floor, elevation tilt) from what it sees.

The math lives in `sensordata/radar_mounting.py` (the radar fall detector measures its own
mounting with the same estimator, and detectors may import only sensordata); this module
keeps the driver-side names that `safehome doctor`, `decode` and the evaluation use.

Input: sensor-frame points (decode without a mounting, or undo the configured one with
`room_to_sensor`). Pure: no I/O, no clock.
"""

from __future__ import annotations

from sensordata.radar_mounting import (
    BIN_M,
    MAX_PER_BIN,
    MIN_BIN_POINTS,
    MIN_BINS,
    MIN_SPEED_MPS,
    PERSON_MIDDLE_M,
    MountingEstimate,
    MountingEstimator,
    room_to_sensor,
)

__all__ = ["BIN_M", "MAX_PER_BIN", "MIN_BINS", "MIN_BIN_POINTS", "MIN_SPEED_MPS",
           "PERSON_MIDDLE_M", "MountingEstimate", "MountingEstimator", "room_to_sensor"]
