"""Reading a driver's stream in tests, the way the supervisor does, with a time limit."""

from __future__ import annotations

import asyncio
from typing import Any


async def first_readings(driver: Any, n: int, timeout: float = 5.0) -> list:
    """The first `n` readings `driver.readings()` yields; TimeoutError if they do not come."""
    out: list = []

    async def run() -> None:
        async for r in driver.readings():
            out.append(r)
            if len(out) >= n:
                return

    await asyncio.wait_for(run(), timeout)
    return out
