"""Helpers for routine-detector tests: local clock times, a home's sensors, and a small
seeded generator of ordinary days (real gateway reading types, nothing faked)."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any, Callable, Iterable

from detectors.base import SensorMeta
from detectors.localtime import LocalClock
from sensordata.readings import Battery, Contact, HeartRate, Motion, Presence

TZ = "Europe/Helsinki"
CLOCK = LocalClock(TZ)
DAY0 = dt.date(2026, 3, 2).toordinal()   # a Monday; DST starts on day 27 (2026-03-29)

SENSORS = {
    "pir_hall": SensorMeta("pir_hall", "zigbee2mqtt", room="hall"),
    "pir_kitchen": SensorMeta("pir_kitchen", "zigbee2mqtt", room="kitchen"),
    "pir_bath": SensorMeta("pir_bath", "zigbee2mqtt", room="bathroom"),
    "pir_bed": SensorMeta("pir_bed", "zigbee2mqtt", room="bedroom"),
    "door": SensorMeta("door", "zigbee2mqtt", room="hall", role="outer_door"),
    "fridge": SensorMeta("fridge", "zigbee2mqtt", room="kitchen"),
    "radar_bath": SensorMeta("radar_bath", "ld2410", room="bathroom"),
    "band": SensorMeta("band", "polar_pmd", room=None, placement="wrist"),
}


def at(day: int, hhmm: str, seconds: float = 0.0) -> float:
    """Unix time of local HH:MM on DAY0 + day."""
    h, m = hhmm.split(":")
    return CLOCK.at(DAY0 + day, int(h) * 60 + int(m)) + seconds


def motion(sensor: str, t: float) -> Motion:
    return Motion(sensor, t, True)


def door(t: float) -> list[Contact]:
    """The outer door opened and closed ten seconds later."""
    return [Contact("door", t, True), Contact("door", t + 10, False)]


def heartbeat_noise(t0: float, t1: float, every: float = 600.0) -> list[Battery]:
    """Non-activity readings that keep sensor time moving (a battery report every 10 min)."""
    out, t = [], t0
    while t < t1:
        out.append(Battery("pir_hall", t, 90.0))
        t += every
    return out


def ordinary_day(day: int, rng: random.Random, wake: str = "07:00", jitter_min: float = 15.0) -> list[Any]:
    """A plain day: up around `wake`, kitchen, bathroom visits, bed at 22:30, one night trip."""
    h, m = map(int, wake.split(":"))
    up = at(day, f"{h:02d}:{m:02d}") + rng.uniform(-jitter_min, jitter_min) * 60
    r: list[Any] = [motion("pir_bed", up), motion("pir_bath", up + 120),
                    Presence("radar_bath", up + 125, True, True),
                    Presence("radar_bath", up + 400, False), motion("pir_kitchen", up + 420),
                    Contact("fridge", up + 600, True), Contact("fridge", up + 620, False)]
    t = up + 1800
    end = at(day, "22:30")
    while t < end:
        r.append(motion(rng.choice(["pir_hall", "pir_kitchen", "pir_bed"]), t))
        if rng.random() < 0.1:
            r += [motion("pir_bath", t + 60), Presence("radar_bath", t + 65, True, True),
                  Presence("radar_bath", t + 360, False), motion("pir_hall", t + 370)]
        t += rng.uniform(600, 2400)
    r.append(motion("pir_bed", end))
    r += heartbeat_noise(end + 1, at(day + 1, "04:00"), every=1800)
    trip = at(day + 1, "03:00") + rng.uniform(0, 40) * 60
    r += [motion("pir_bath", trip), motion("pir_bed", trip + 400)]
    r.append(HeartRate("band", up + 60, 70, contact=True))
    return sorted(r, key=lambda x: x.t)


def days(n: int, seed: int = 1, **kw: Any) -> list[Any]:
    rng = random.Random(seed)
    out: list[Any] = []
    for d in range(n):
        out += ordinary_day(d, rng, **kw)
    return sorted(out, key=lambda x: x.t)


def run(det: Any, readings: Iterable[Any], batch: int | None = None) -> list[Any]:
    """Feed readings in batches of `batch` (all at once when None)."""
    items = list(readings)
    if batch is None:
        return list(det.feed(items))
    out: list[Any] = []
    for i in range(0, len(items), batch):
        out += det.feed(items[i:i + batch])
    return out


def restart(make: Callable[[], Any], det: Any) -> Any:
    """A fresh detector restored from `det`'s state after a JSON round trip (SQLite)."""
    fresh = make()
    fresh.restore(json.loads(json.dumps(det.state())))
    return fresh


def of_type(dets: Iterable[Any], type_name: str) -> list[Any]:
    return [d for d in dets if d.type == type_name]


def near(t: float, tol: float = 0.01):
    """Equality for Unix times: pytest.approx's relative tolerance is ~30 min at 1.7e9."""
    import pytest
    return pytest.approx(t, abs=tol)
