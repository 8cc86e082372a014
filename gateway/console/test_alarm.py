"""The test alarm as the installer sees it: committed, sent, acknowledged (and by whom).

Why the real path: the installer must see that an alarm raised here reaches the centre
and comes back, so the test alarm is made by the pipeline (`test: true`, catalogue type
`test_alarm`), committed by the store and sent by the uplink like any alarm; this module
only watches its steps. "Committed" is the store's answer (False while the store is
degraded: the alarm is then held in memory and still sent), "sent" is the broker's PUBACK
read from the outbox entry, "acknowledged" is the centre's ack with its `by`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.events import iso
from gateway.outbox import Entry

KEEP = 5


@dataclass
class SentTestAlarm:
    event_id: str
    seq: int
    requested_at: float
    committed: bool | None = None       # None: not yet answered by the store
    committed_at: float | None = None
    entry: Entry | None = None          # the outbox entry (kept after the outbox lets go)
    sent_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    def to_json(self, mono: float, wall: float) -> dict[str, Any]:
        attempts = self.entry.attempts if self.entry is not None else 0
        sent_at = self.sent_at
        if sent_at is None and self.entry is not None and self.entry.first_sent is not None:
            sent_at = wall - (mono - self.entry.first_sent)
        if self.acknowledged_at is not None:  # acked before the PUBACK was seen: it was sent
            sent_at = self.acknowledged_at if sent_at is None else min(sent_at, self.acknowledged_at)
        step = ("acknowledged" if self.acknowledged_at is not None else "sent" if sent_at
                else "committed" if self.committed is not None else "requested")

        def at(t: float | None) -> str | None:
            return iso(t) if t is not None else None

        return {"event_id": self.event_id, "seq": self.seq, "step": step,
                "requested_at": at(self.requested_at), "committed": self.committed,
                "committed_at": at(self.committed_at), "sent_at": at(sent_at),
                "attempts": attempts, "acknowledged_at": at(self.acknowledged_at),
                "acknowledged_by": self.acknowledged_by}


class SentTestAlarms:
    """The last few test alarms raised from the console, newest first."""

    def __init__(self, mono: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.mono, self.wall = mono, wall
        self.items: deque[SentTestAlarm] = deque(maxlen=KEEP)
        self.version = 0

    def requested(self, event_id: str, seq: int) -> SentTestAlarm:
        item = SentTestAlarm(event_id, seq, self.wall())
        self.items.appendleft(item)
        self.version += 1
        return item

    def committed(self, item: SentTestAlarm, durable: bool, entry: Entry | None) -> None:
        item.committed, item.committed_at, item.entry = durable, self.wall(), entry
        self.version += 1

    def acknowledged(self, event_id: str, by: str | None, at: float) -> None:
        """The uplink's ack hook: called for every acknowledged alarm."""
        for item in self.items:
            if item.event_id == event_id and item.acknowledged_at is None:
                item.acknowledged_at, item.acknowledged_by = at, by
                self.version += 1

    def to_json(self) -> list[dict[str, Any]]:
        mono, wall = self.mono(), self.wall()
        return [i.to_json(mono, wall) for i in self.items]
