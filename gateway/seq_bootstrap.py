"""Where the gateway's event numbering (seq) starts: above every number given out before.

Why its own module: the centre orders and de-duplicates a gateway's events by seq, so a
number given out twice is a lost or a shadowed alarm. Getting the first number right is
one decision with one failure mode (a store that cannot write), and it is easier to read
and to test alone than as ten lines of the daemon's start.

The store keeps a high-water mark `SEQ_BLOCK` numbers ahead of the numbers given out
(`SeqReservation`, gateway/store.py); a start continues above the last reservation. When
the store cannot keep the new reservation (it failed at open), a crash before it mends
would let the next start hand the same numbers out again, so the numbering starts from
the wall clock instead: milliseconds since 2026, above any earlier run's numbers.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from gateway.store import SeqReservation, Store

log = logging.getLogger("safehome.daemon")

SEQ_BLOCK = 1000  # seqs reserved ahead in the store; topped up when half is used
SEQ_CLOCK_EPOCH = 1767225600.0  # 2026-01-01T00:00Z: seq floor = milliseconds since then


def seq_floor_from_clock(now: float) -> int:
    """A seq above every number given out before `now`, for a start whose store cannot keep
    a reservation: at most one event per millisecond is ever raised, so the milliseconds
    since 2026 outrun any earlier run's numbering (unless the wall clock went back)."""
    return int((now - SEQ_CLOCK_EPOCH) * 1000)


async def first_seq(store: Store, seqs: SeqReservation,
                    clock: Callable[[], float] = time.time) -> int:
    """The last seq given out before this start (the pipeline numbers from the next one),
    with the first block reserved in `store` before any number is given out."""
    seq_start = await store.last_seq()
    seqs.used(seq_start + 1)
    await store.flush()
    if store.failed:
        floor = seq_floor_from_clock(clock())
        if floor > seq_start:
            log.warning("the store cannot keep the seq reservation (%s); numbering from %d "
                        "(the wall clock) so that no seq is ever given out twice",
                        store.failed, floor)
            seq_start = floor
            seqs.used(seq_start + 1)
    return seq_start
