"""A scripted stand-in sensor for the demo and for tests: no hardware, real timing.

It emits what a small home produces (motion now and then, a heart rate each second, a
battery level) and presses its SOS button `sos_after` seconds after it starts, then every
`sos_every` seconds if set. For full simulated homes with falls and daily routines use
the `simulated` driver, which plays a scenario or a recorded trace.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import AsyncIterator

from pydantic import Field

from drivers.base import Driver, DriverSettings
from gateway.readings import Battery, Button, HeartRate, Motion, Reading


class DemoSettings(DriverSettings):
    sos_after: float | None = Field(20.0, ge=0, title="Seconds after start of the SOS press (none: never)")
    sos_every: float | None = Field(None, gt=0, title="Seconds between further SOS presses")
    motion_every: float = Field(7.0, gt=0, title="Seconds between motion readings")
    heart_rate: bool = Field(True, title="Also emit a heart rate once a second")
    stop_after: float | None = Field(None, gt=0, title="Go silent after this many seconds (fault demo)")
    seed: int = Field(1, title="Random seed for the heart rate")


class DemoDriver(Driver):
    type = "demo"
    Settings = DemoSettings
    expected_rate_hz = 1.0

    async def readings(self) -> AsyncIterator[Reading]:
        s: DemoSettings = self.settings  # type: ignore[assignment]
        rng = random.Random(s.seed)
        start = time.monotonic()
        next_sos = s.sos_after
        next_motion = 0.0
        sid = self.sensor.id
        yield Battery(sid, time.time(), 87.0)
        while True:
            elapsed = time.monotonic() - start
            if s.stop_after is not None and elapsed >= s.stop_after:
                await asyncio.Event().wait()  # silent, but alive: the health monitor notices
            now = time.time()
            if s.heart_rate:
                yield HeartRate(sid, now, 68 + rng.randint(-4, 4))
            if elapsed >= next_motion:
                yield Motion(sid, now, True)
                next_motion += s.motion_every
            if next_sos is not None and elapsed >= next_sos:
                yield Button(sid, now, "sos")
                next_sos = next_sos + s.sos_every if s.sos_every else None
            await asyncio.sleep(1.0 - (time.monotonic() - start) % 1.0)
