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
from sensordata.readings import Battery, Button, HeartRate, Motion, Reading


class DemoSettings(DriverSettings):
    sos_after: float | None = Field(20.0, ge=0, title="Seconds after start of the SOS press (none: never)")
    sos_every: float | None = Field(None, gt=0, title="Seconds between further SOS presses")
    sos_count: int | None = Field(None, ge=1, title="Stop pressing after this many presses")
    motion_every: float = Field(7.0, gt=0, title="Seconds between motion readings")
    heart_rate: bool = Field(True, title="Also emit a heart rate once a second")
    stop_after: float | None = Field(None, gt=0, title="Go silent after this many seconds (fault demo)")
    seed: int = Field(1, title="Random seed for the heart rate")


class DemoDriver(Driver[DemoSettings]):
    type_name = "demo"
    Settings = DemoSettings
    expected_rate_hz = 1.0

    async def readings(self) -> AsyncIterator[Reading]:
        s = self.settings
        rng = random.Random(s.seed)
        start = time.monotonic()
        sid = self.sensor.id
        presses = 0
        yield Battery(sid, time.time(), 87.0)
        # Each stream has its next due time (seconds after start); sleep until the earliest.
        due: dict[str, float | None] = {"heart": 0.0 if s.heart_rate else None, "motion": 0.0,
                                        "sos": s.sos_after}
        while True:
            elapsed = time.monotonic() - start
            if s.stop_after is not None and elapsed >= s.stop_after:
                await asyncio.Event().wait()  # silent, but alive: the health monitor notices
            now = time.time()
            if (heart := due["heart"]) is not None and elapsed >= heart:
                yield HeartRate(sid, now, 68 + rng.randint(-4, 4))
                due["heart"] = heart + 1.0
            if (motion := due["motion"]) is not None and elapsed >= motion:
                yield Motion(sid, now, True)
                due["motion"] = motion + s.motion_every
            if (sos := due["sos"]) is not None and elapsed >= sos:
                yield Button(sid, now, "sos")
                presses += 1
                more = s.sos_every is not None and (s.sos_count is None or presses < s.sos_count)
                due["sos"] = sos + s.sos_every if more and s.sos_every is not None else None
            nxt = min(v for v in due.values() if v is not None)
            if s.stop_after is not None:
                nxt = min(nxt, s.stop_after)
            await asyncio.sleep(max(0.0, nxt - (time.monotonic() - start)))
