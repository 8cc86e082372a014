"""What the gateway still owes the alarm centre, in memory, mirrored from the store.

The outbox is the uplink's work list. An event enters after the store has committed it
(or failed to, in which case memory is all there is). Non-alarm events leave when the
broker acknowledges them (PUBACK). Alarms stay until the centre acknowledges them
end to end: every `ack_timeout` they are due again with the same id and a growing
`attempt`, until acknowledged or expired.

Escalation: an alarm not acknowledged `escalate_after` seconds (max_attempts x
ack_timeout) after it entered the outbox is handed out once by `to_escalate()`, timed
on the monotonic clock from its creation whether or not any copy reached the broker:
the buzzer matters most exactly when the centre is unreachable. With a reachable but
silent centre, attempt k goes out at (k-1) x ack_timeout, so the last attempt still
gets its whole ack window before the escalation.

Order: alarms before other events, each oldest first (by seq), so after an outage the
centre hears about the fall before it hears that a door sensor's battery is low.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.events import Event


@dataclass
class Entry:
    event: Event
    attempts: int = 0            # publishes the broker acknowledged
    next_due: float = 0.0        # monotonic time it is due (again)
    first_sent: float | None = None
    in_flight: bool = False
    escalated: bool = False      # alarm_unacknowledged already raised
    created: float = 0.0         # monotonic time it entered the outbox (escalation clock)

    def sort_key(self) -> tuple[int, int]:
        return (0 if self.event.is_alarm else 1, self.event.seq)


@dataclass
class Outbox:
    ack_timeout: float = 30.0
    expire_after: float = 24 * 3600.0
    escalate_after: float | None = None   # seconds from creation; None: never escalate
    clock: Callable[[], float] = time.monotonic
    entries: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.changed = asyncio.Event()

    def add(self, event: Event, attempts: int = 0) -> None:
        if event.id not in self.entries:
            now = self.clock()
            self.entries[event.id] = Entry(event, attempts, next_due=now, created=now)
            self.changed.set()

    def due(self, limit: int | None = None) -> list[Entry]:
        now = self.clock()
        ready = [e for e in self.entries.values() if not e.in_flight and e.next_due <= now]
        ready.sort(key=Entry.sort_key)
        return ready if limit is None else ready[:limit]

    def next_due_in(self) -> float | None:
        """Seconds until the next re-send is due, None when nothing waits."""
        waiting = [e.next_due for e in self.entries.values() if not e.in_flight]
        return None if not waiting else max(0.0, min(waiting) - self.clock())

    def published(self, event_id: str) -> Entry | None:
        """The broker acknowledged one publish. Returns the entry (None if gone)."""
        e = self.entries.get(event_id)
        if e is None:
            return None
        e.in_flight = False
        e.attempts += 1
        now = self.clock()
        if e.first_sent is None:
            e.first_sent = now
        if e.event.is_alarm:
            e.next_due = now + self.ack_timeout
        else:
            del self.entries[event_id]
        return e

    def failed(self, event_id: str) -> None:
        """The publish did not complete (connection lost): try again as soon as possible."""
        e = self.entries.get(event_id)
        if e is not None:
            e.in_flight = False
            e.next_due = self.clock()

    def acknowledged(self, event_id: str) -> Entry | None:
        return self.entries.pop(event_id, None)

    def expired(self) -> list[Entry]:
        """Alarms that have been re-sent for `expire_after` without an ack: stop trying."""
        now = self.clock()
        gone = [e for e in self.entries.values()
                if e.first_sent is not None and not e.in_flight and now - e.first_sent >= self.expire_after]
        for e in gone:
            del self.entries[e.event.id]
        return gone

    def to_escalate(self) -> list[Entry]:
        """Alarms whose escalation time has come, each handed out once (marked escalated).
        They stay in the outbox: re-sending goes on until the centre acknowledges."""
        if self.escalate_after is None:
            return []
        now = self.clock()
        due = sorted((e for e in self.entries.values() if e.event.is_alarm and not e.escalated
                      and now - e.created >= self.escalate_after), key=Entry.sort_key)
        for e in due:
            e.escalated = True
        return due

    def next_escalation_in(self) -> float | None:
        """Seconds until the next alarm must be escalated, None when none waits."""
        if self.escalate_after is None:
            return None
        waiting = [e.created + self.escalate_after for e in self.entries.values()
                   if e.event.is_alarm and not e.escalated]
        return None if not waiting else max(0.0, min(waiting) - self.clock())

    @property
    def pending(self) -> int:
        return sum(1 for e in self.entries.values() if e.attempts == 0)

    @property
    def unacknowledged(self) -> int:
        return sum(1 for e in self.entries.values() if e.event.is_alarm and e.attempts > 0)
