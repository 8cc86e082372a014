"""The local escalation clock: raise `alarm_unacknowledged` and run the hook on time.

WHY its own task and not the uplink's: the escalation must fire when the centre cannot
be reached at all (broker down from the start, credentials refused and the uplink
stopped retrying), which is when no session, drain loop or PUBACK exists to count
attempts. The outbox knows each alarm's creation time; this loop only asks it, on the
monotonic clock, which alarms are due and hands each one to the daemon once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from drivers.pacing import next_tick, sleep_until
from gateway.outbox import Entry, Outbox

log = logging.getLogger("safehome.escalation")

POLL_S = 1.0   # a new alarm's escalation is at least ack_timeout (>= 1 s) away; the checks
               # fall on the whole seconds of the loop's clock, with the daemon's tick


async def watch(outbox: Outbox, escalate: Callable[[Entry], None]) -> None:
    """Run forever: call `escalate(entry)` for each alarm whose time has come."""
    while True:
        for entry in outbox.to_escalate():
            log.warning("alarm %s not acknowledged %.0f s after it was raised (%d copies reached "
                        "the broker): escalating locally", entry.event.id,
                        outbox.escalate_after or 0.0, entry.attempts)
            try:
                escalate(entry)
            except Exception:  # one failed escalation must not stop the next
                log.exception("escalating alarm %s failed", entry.event.id)
        wait = outbox.next_escalation_in()
        tick = next_tick(POLL_S)   # the daemon's tick wakes the loop then anyway
        loop = asyncio.get_running_loop()
        if wait is None or loop.time() + wait >= tick:
            await sleep_until(tick)
        else:   # an alarm is due before the next tick: on time, not at the tick
            await asyncio.sleep(max(wait, 0.005))
