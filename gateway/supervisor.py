"""Runs each driver in its own task and restarts it with backoff when it fails.

No sensor can take the daemon down: whatever a driver raises is logged (once per distinct
message, so a radar unplugged overnight does not fill the SD card) and the driver is
started again after an exponential backoff with jitter, capped at `max_delay`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from drivers.base import Driver, DriverUnavailable
from gateway.backoff import backoff_delay

log = logging.getLogger("safehome.supervisor")


async def supervise(make: Callable[[], Driver[Any]], deliver: Callable[[Any], Awaitable[None] | None],
                    *, on_failure: Callable[[str], None] | None = None,
                    min_delay: float = 1.0, max_delay: float = 60.0) -> None:
    failures = 0
    last_error: str | None = None
    while True:
        driver = make()
        name = f"{driver.sensor.id} ({driver.type_name})"
        got_reading = False
        try:
            await driver.connect()
            async for reading in driver.readings():
                got_reading = True
                res = deliver(reading)
                if res is not None:
                    await res
            error = "reading stream ended"
        except asyncio.CancelledError:
            await _disconnect(driver)
            raise
        except DriverUnavailable as exc:
            error = str(exc)
            failures = max(failures, 5)  # a missing library or device: do not hammer
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            error = f"{type(exc).__name__}: {exc}"
        await _disconnect(driver)
        if got_reading:
            failures = 0
        failures += 1
        if error != last_error:
            log.warning("sensor %s stopped: %s; restarting with backoff", name, error)
            last_error = error
        if on_failure:
            on_failure(error)
        delay = backoff_delay(failures, min_delay, max_delay)
        await asyncio.sleep(delay)


async def _disconnect(driver: Driver[Any]) -> None:
    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that arrives as
    # the inner call finishes, and the supervisor would then outlive the daemon's shutdown.
    try:
        async with asyncio.timeout(5):
            await driver.disconnect()
    except Exception as exc:  # noqa: BLE001 - includes TimeoutError
        log.debug("disconnect of %s failed: %s", driver.sensor.id, exc)
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
