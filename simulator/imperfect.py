"""What real sensors and radios do to readings: lost, doubled and late packets, clocks
that drift, batteries that run down, sensors that fall silent.

Applied per packet after generation, so every generator stays ideal and simple, and a
scenario can switch each imperfection on per sensor to test that detectors and the
pipeline cope.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sensordata.readings import shifted
from simulator.scenario import Imperfection

LATENCY_S = {"accel": 0.08, "heart_rate": 0.08, "battery": 0.1, "radar_targets": 0.02,
             "radar_points": 0.02, "motion": 0.3, "contact": 0.3, "button": 0.2}


def battery_left(imp: Imperfection, t: float, start: float) -> float:
    return imp.battery_start - imp.battery_per_day * (t - start) / 86400.0


def apply(packets: list[tuple[float, Any]], imp: Imperfection | None, start: float,
          rng: np.random.Generator) -> list[tuple[float, Any]]:
    """(true time, reading) -> (arrival time, reading as the sensor stamped it)."""
    out: list[tuple[float, Any]] = []
    if imp is None:
        return [(t + LATENCY_S.get(r.kind, 0.05), r) for t, r in packets]
    skew = imp.clock_skew_ppm * 1e-6
    resync = imp.resync_s

    def error(t: float) -> float:
        """The sensor clock's error at true time t: drift since the last resync (a
        driver re-aligns a device clock when it reconnects) plus a fixed offset."""
        return imp.clock_offset_s + ((t - start) % resync if resync else (t - start)) * skew
    skewed = bool(skew or imp.clock_offset_s)
    n = len(packets)
    u = rng.random((n, 3))
    for i, (t, r) in enumerate(packets):
        if any(a <= t < b for a, b in imp.silent):
            continue
        if imp.battery_per_day and battery_left(imp, t, start) <= 0:
            continue
        if u[i, 0] < imp.dropout:
            continue
        arrival = t + LATENCY_S.get(r.kind, 0.05)
        if u[i, 1] < imp.reorder:
            arrival += float(rng.uniform(0.3, 2.5))
        stamped = shifted(r, error(t)) if skewed else r
        out.append((arrival, stamped))
        if u[i, 2] < imp.duplicate:
            out.append((arrival + 0.03, stamped))
    return out


def saturate(xyz: np.ndarray, range_g: float | None) -> np.ndarray:
    return xyz if range_g is None else np.clip(xyz, -range_g, range_g)
