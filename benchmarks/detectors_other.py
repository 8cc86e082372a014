"""Throughput of the radar, fusion, routine and wearable-health detectors on one core.

Why: a Pi 4 core is about 1/8 of this machine's; the whole home's detection must stay at
a few percent of it. Each detector gets the stream it is built for (a radar at 10 Hz with
two people, a point-cloud radar, a home's motion and door events, a wearable's heart rate
and 50 Hz acceleration blocks), plus a mixed stream it mostly ignores, and the figure
printed is readings per second through `feed` in batches of 64.

    .venv/bin/python benchmarks/detectors_other.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.base import Detection, SensorMeta  # noqa: E402
from detectors.daily_summary import DailySummaryDetector  # noqa: E402
from detectors.dwell import DwellDetector  # noqa: E402
from detectors.fusion import FallFusion  # noqa: E402
from detectors.inactivity import InactivityDetector  # noqa: E402
from detectors.night_door import NightDoorDetector  # noqa: E402
from detectors.radar_fall import RadarFallDetector  # noqa: E402
from detectors.routine import NotUpDetector  # noqa: E402
from detectors.wearable_health import WearableHealthDetector  # noqa: E402
from sensordata.radar_mounting import Mounting  # noqa: E402
from sensordata.readings import AccelBlock, Battery, Contact, HeartRate, Motion, RadarPoints, RadarTargets, Target  # noqa: E402

T0 = 1_772_400_000.0
SENSORS = {
    "radar": SensorMeta("radar", "ti_mmwave", room="living_room"),
    "radar_pc": SensorMeta("radar_pc", "ti_mmwave", room="bedroom"),
    # the same cloud from a wall radar whose mounting the detector checks from the walks
    "radar_wall": SensorMeta("radar_wall", "ti_mmwave", room="bedroom",
                             mounting=Mounting(1.8, 10.0, kind="wall")),
    "door": SensorMeta("door", "zigbee2mqtt", room="hall", role="outer_door"),
    "band": SensorMeta("band", "polar_pmd", placement="wrist"),
    **{f"pir_{r}": SensorMeta(f"pir_{r}", "zigbee2mqtt", room=r)
       for r in ("hall", "kitchen", "bathroom", "bedroom", "living_room")},
}


def radar_targets(seconds: float) -> list[Any]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(int(seconds * 10)):
        t = T0 + i / 10
        g = tuple(Target(k, 2 + np.sin(t / 7 + k), 3 + np.cos(t / 5), 0.9, 0.3, 0.2, 0.0,
                         1.6 + rng.normal(0, 0.03)) for k in (1, 2))
        out.append(RadarTargets("radar", t, i, g))
    return out


def radar_points(seconds: float, sensor: str = "radar_pc") -> list[Any]:
    rng = np.random.default_rng(2)
    out = []
    for i in range(int(seconds * 10)):
        n = 30
        pts = np.column_stack([rng.normal(2, 0.2, n), rng.normal(3, 0.2, n), rng.uniform(0, 1.7, n),
                               rng.normal(0, 0.4, n), rng.uniform(3, 20, n)]).astype(np.float32)
        out.append(RadarPoints(sensor, T0 + i / 10, i, pts))
    return out


def home_events(days: int) -> list[Any]:
    rng = random.Random(3)
    rooms = ["hall", "kitchen", "bathroom", "bedroom", "living_room"]
    out: list[Any] = []
    for d in range(days):
        t = T0 + d * 86400 + 6 * 3600
        while t < T0 + d * 86400 + 22 * 3600:
            out.append(Motion(f"pir_{rng.choice(rooms)}", t, True))
            out.append(Motion(f"pir_{rng.choice(rooms)}", t + 60, False))
            if rng.random() < 0.02:
                out += [Contact("door", t + 5, True), Contact("door", t + 15, False)]
            t += rng.uniform(30, 300)
        out += [Battery("pir_hall", T0 + d * 86400 + h * 3600, 90.0) for h in range(24)]
    return sorted(out, key=lambda r: r.t)


def wearable(seconds: float, rate: float = 50.0) -> list[Any]:
    rng = np.random.default_rng(4)
    out: list[Any] = []
    n = int(rate)
    for s in range(int(seconds)):
        t = T0 + s + np.arange(n) / rate
        out.append(AccelBlock("band", t, np.array([0, 0, 1.0]) + rng.normal(0, 0.05, (n, 3))))
        out.append(HeartRate("band", T0 + s + 0.5, 70 + int(s % 60), contact=True))
    return out


def rate(make: Callable[[], Any], readings: list[Any], batch: int = 64) -> float:
    """Readings per second through feed(), best of two runs."""
    best = 0.0
    for _ in range(2):
        det = make()
        start = time.perf_counter()
        for i in range(0, len(readings), batch):
            det.feed(readings[i:i + batch])
        best = max(best, len(readings) / (time.perf_counter() - start))
    return best


def bench_other_detectors(scale: float = 1.0, out=print) -> dict[str, float]:
    """Print and return readings per second per detector (scale < 1 for a quick run)."""
    def new(cls: type, **kw: Any) -> Callable[[], Any]:
        return lambda: cls(cls.Settings(**kw), SENSORS)

    targets = radar_targets(3600 * scale)
    points = radar_points(600 * scale)
    wall = radar_points(600 * scale, "radar_wall")
    home = home_events(max(1, int(30 * scale)))
    wear = wearable(3600 * scale)
    mixed = sorted(targets[: len(targets) // 2] + home[: len(home) // 2] + wear[: len(wear) // 2],
                   key=lambda r: r.t if not isinstance(r, AccelBlock) else float(r.t[-1]))
    cases = [
        ("radar_fall tracks (2 people, 10 Hz)", new(RadarFallDetector), targets),
        ("radar_fall point cloud (30 pts, 10 Hz)", new(RadarFallDetector), points),
        ("radar_fall point cloud, measuring its mounting", new(RadarFallDetector), wall),
        ("inactivity home events", new(InactivityDetector, windows=["07:00-22:00"], hours=3), home),
        ("not_up home events", new(NotUpDetector), home),
        ("dwell home events", new(DwellDetector), home),
        ("night_door home events", new(NightDoorDetector), home),
        ("daily_summary home events", new(DailySummaryDetector), home),
        ("wearable_health (1 Hz HR + 50 Hz blocks)", new(WearableHealthDetector), wear),
        ("inactivity mixed stream", new(InactivityDetector), mixed),
        ("daily_summary mixed stream", new(DailySummaryDetector), mixed),
    ]
    results: dict[str, float] = {}
    for name, make, readings in cases:
        results[name] = rate(make, readings)
        out(f"{name:45s} {results[name]:>12,.0f} readings/s  ({len(readings):,} readings)")
    dets = [Detection("fall_suspected", T0 + i * 3.0, f"s{i % 3}", None, 0.7, {"x": 1.0}, f"r{i}")
            for i in range(20000)] + [Detection("sos", T0 + i * 3.0 + 1, "b") for i in range(20000)]
    dets.sort(key=lambda d: d.occurred_at)
    fu = FallFusion()
    start = time.perf_counter()
    for i in range(0, len(dets), 16):
        fu.feed(dets[i:i + 16], now=dets[i].occurred_at)
    fu.flush()
    results["fusion"] = len(dets) / (time.perf_counter() - start)
    out(f"{'fusion (detections)':45s} {results['fusion']:>12,.0f} detections/s")
    samples = sum(len(r) for r in wear if isinstance(r, AccelBlock)) + sum(
        1 for r in wear if not isinstance(r, AccelBlock))
    key = "wearable_health (1 Hz HR + 50 Hz blocks)"
    out(f"{'  = wearable_health samples':45s} {results[key] * samples / len(wear):>12,.0f} samples/s")
    return results


if __name__ == "__main__":
    bench_other_detectors(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
