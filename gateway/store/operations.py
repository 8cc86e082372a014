"""What can be asked of the store's writer: one frozen dataclass per operation.

Why typed messages and not `("sent", (id, attempts, ...), fut)` tuples: a misspelt tag was
a write silently dropped by an if/elif chain, and the fields of each kind lived only in
the order of a tuple. Here every operation names its fields, the writer dispatches with
`match` (mypy checks that every kind is handled), and `check()` refuses anything else with
a TypeError when it is queued, not when (or never, when) it is written.

Kinds of operation:
- `Insert` (an event, with the future `insert()` waits on) and the updates `MarkSent`,
  `MarkAcked`, `MarkExpired`, `SaveDetectorState`, `ReserveSeq`: the writes. An update
  asked while the store is failed is kept in memory, once per `update_key` (the latest ask
  wins), and written by the first commit that succeeds.
- `Prune` and `Flush`: asked by a caller that waits for the answer.
- `Probe` (the writer's own disk test while failed) and `Stop` (close the writer).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from gateway.events import Event


@dataclass(frozen=True, slots=True)
class Insert:
    event: Event
    done: asyncio.Future[bool]
    kind: ClassVar[str] = "insert"


@dataclass(frozen=True, slots=True)
class MarkSent:
    event_id: str
    attempts: int
    is_alarm: bool
    at: float
    kind: ClassVar[str] = "sent"


@dataclass(frozen=True, slots=True)
class MarkAcked:
    event_id: str
    by: str | None
    at: float
    kind: ClassVar[str] = "acked"


@dataclass(frozen=True, slots=True)
class MarkExpired:
    event_id: str
    kind: ClassVar[str] = "expired"


@dataclass(frozen=True, slots=True)
class SaveDetectorState:
    name: str
    state: str  # the state, already encoded as JSON
    at: float
    kind: ClassVar[str] = "dstate"


@dataclass(frozen=True, slots=True)
class ReserveSeq:
    upto: int
    release: bool = False  # a clean stop gives the unused block back (never below a committed seq)
    kind: ClassVar[str] = "reserve"


@dataclass(frozen=True, slots=True)
class Prune:
    max_age_days: float
    max_size_mb: float
    done: asyncio.Future[Any]
    kind: ClassVar[str] = "prune"


@dataclass(frozen=True, slots=True)
class Flush:
    done: asyncio.Future[Any]
    kind: ClassVar[str] = "flush"


@dataclass(frozen=True, slots=True)
class Probe:
    kind: ClassVar[str] = "probe"


@dataclass(frozen=True, slots=True)
class Stop:
    kind: ClassVar[str] = "stop"


Update = MarkSent | MarkAcked | MarkExpired | SaveDetectorState | ReserveSeq
Operation = Insert | Update | Prune | Flush | Probe | Stop
UPDATES = (MarkSent, MarkAcked, MarkExpired, SaveDetectorState, ReserveSeq)
OPERATIONS = (Insert, *UPDATES, Prune, Flush, Probe, Stop)


def check(op: object) -> Operation:
    """`op` itself when it is an operation; a TypeError naming it otherwise."""
    if not isinstance(op, OPERATIONS):
        raise TypeError(f"the store's writer takes {', '.join(t.__name__ for t in OPERATIONS)};"
                        f" not {type(op).__name__} {op!r:.80}")
    return op


def subject(op: Update) -> str:
    """What the update is about, for the log: an event id, a detector name or a seq."""
    match op:
        case MarkSent(event_id=i) | MarkAcked(event_id=i) | MarkExpired(event_id=i):
            return i
        case SaveDetectorState(name=name):
            return name
        case ReserveSeq(upto=upto):
            return str(upto)


def update_key(op: Update) -> tuple[str, str]:
    """Updates with one key replace each other while they wait: the latest ask is written.
    There is one seq high-water mark, so every `ReserveSeq` shares a key."""
    return (op.kind, "" if isinstance(op, ReserveSeq) else subject(op))


def waiter(op: Operation) -> asyncio.Future[Any] | None:
    """The future the asker waits on, for the operations that have one."""
    match op:
        case Insert(done=done) | Prune(done=done) | Flush(done=done):
            return done
    return None
