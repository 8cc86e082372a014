"""Wake-ups on a shared grid of the event loop's clock, so that periodic work coalesces.

Why: an idle gateway's CPU is mostly the cost of waking up, not of the work (issue 25:
the demo home woke its loop about 40 times a second for 12 readings, while the pipeline
itself used 0.12 % of a core). Timers that are due at exactly the same loop time run in
the same loop turn, after one wake-up; timers a few microseconds apart each take their
own. `asyncio.sleep(d)` adds `d` to the loop's clock at the moment it is called, so two
tasks that both mean "at the next second" end up microseconds apart. `next_tick` gives
every caller the same float for the same grid point, and `sleep_until` waits for exactly
that loop time.

Used by the daemon's once-a-second tick and escalation check, and by the simulated
driver's batches (simulator/live.py). Real drivers do not wait on it: a frame from the
radar or a press of the SOS button is handed on when it arrives.
"""

from __future__ import annotations

import asyncio
import math


def next_tick(period: float, after: float | None = None) -> float:
    """The first multiple of `period` on the running loop's clock later than `after`
    (default: now)."""
    now = asyncio.get_running_loop().time() if after is None else after
    return (math.floor(now / period) + 1) * period


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def sleep_until(when: float) -> None:
    """Sleep until the running loop's clock reads `when` (at once if it has passed)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(when, _wake, fut)
    try:
        await fut
    finally:
        handle.cancel()
