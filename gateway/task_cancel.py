"""Ending tasks for sure: cancel, wait, and cancel again whatever is still running.

Why: on Python 3.11 `asyncio.wait_for` returns the result instead of raising when a
cancellation arrives in the same loop turn as that result (fixed in 3.12, where wait_for
became `asyncio.timeout`). aiomqtt awaits every PUBACK and SUBACK with wait_for, so a
heartbeat loop cancelled just as its PUBACK comes in carries on to its next sleep, and a
plain `gather` of the cancelled tasks waits for it forever: the uplink never stops, and
systemd has to kill the daemon before it says `offline`. One more cancel reaches the loop
at its next await, so cancelling again until everything has ended is enough.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("safehome.tasks")

AGAIN_AFTER_S = 0.5   # a swallowed cancel shows within a loop turn; this is generous


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], *,
                          again_after: float = AGAIN_AFTER_S) -> None:
    """Cancel `tasks` and return once every one of them has ended (results and exceptions
    are left on the tasks for the caller). A task that swallowed its cancellation is
    cancelled again every `again_after` seconds; the first time, the log names it."""
    every = list(tasks)
    pending = {t for t in every if not t.done()}
    again = False
    while pending:
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_after)
        if pending and not again:
            again = True
            log.debug("tasks %s outlived their cancellation; cancelling them again",
                      ", ".join(t.get_name() if isinstance(t, asyncio.Task) else repr(t)
                                for t in pending))
    for t in every:          # retrieve the outcomes so none is reported "never retrieved"
        if not t.cancelled():
            t.exception()
