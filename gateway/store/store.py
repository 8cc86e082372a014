"""`Store`: what the rest of the gateway asks of the event store (the facade).

Reads go straight through the writer's connection (at start-up, and for the console);
writes become typed operations (operations.py) queued for the one writer task
(writer.py). `from gateway.store import Store, SeqReservation, StoredEvent` is the way in;
why the store is shaped as it is, is in the package docstring.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.events import Event
from gateway.store.operations import (
    Flush,
    Insert,
    MarkAcked,
    MarkExpired,
    MarkSent,
    Operation,
    Prune,
    ReserveSeq,
    SaveDetectorState,
    Stop,
)
from gateway.store.schema import PENDING, SENT, encode
from gateway.store.writer import Writer

log = logging.getLogger("safehome.store")


@dataclass
class StoredEvent:
    event: Event
    state: str
    attempts: int


class SeqReservation:
    """Keeps the store's seq high-water mark `block` numbers ahead of the numbers given out
    (topped up when half is used), so a restart after a crash, even a crash while the store
    could not write, starts above every number already used. Cost: after an unclean stop
    the seq jumps forward (a gap of up to `block`); a clean stop gives the rest back."""

    def __init__(self, store: "Store", block: int) -> None:
        self.store = store
        self.block = block
        self.reserved = 0

    def used(self, seq: int) -> None:
        if seq > self.reserved - self.block // 2:
            self.reserved = seq + self.block
            self.store.reserve_seq(self.reserved)


class Store:
    def __init__(self, path: str | Path, *, batch_ms: float = 5.0,
                 on_failure: Callable[[str], None] | None = None,
                 on_recovery: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.writer = Writer(self.path, batch_ms / 1000.0, on_failure, on_recovery)
        self._writer: asyncio.Task[Any] | None = None  # the writer task

    # -- what the writer knows --------------------------------------------------------------
    @property
    def failed(self) -> str | None:
        """Why the store cannot write, while it cannot; None when it is healthy."""
        return self.writer.failed

    @property
    def commits(self) -> int:
        return self.writer.commits

    @property
    def writer_errors(self) -> int:
        """Unexpected (non-SQLite) errors the writer survived."""
        return self.writer.writer_errors

    @property
    def rows_refused(self) -> int:
        """Writes dropped because SQLite refused their values."""
        return self.writer.rows_refused

    def _fail(self, reason: str) -> None:
        self.writer.fail(reason)

    @property
    def _db(self) -> aiosqlite.Connection | None:
        return self.writer.db

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        await self.writer.connect()
        self._writer = asyncio.create_task(self.writer.run(), name="store-writer")

    async def close(self) -> None:
        if self._writer is not None and self._writer.done():
            self._writer = None  # cannot happen by design; never wait on a dead writer
        if self._writer is not None:
            self.writer.put(Stop())
            await self._writer
            self._writer = None
        await self.writer.disconnect()

    # -- reads (startup) ----------------------------------------------------------------
    async def last_seq(self) -> int:
        """The highest seq this database has seen: committed, or reserved ahead (a restart
        after a crash starts above it, so no number is ever given out twice). A failed
        store is still read: a read-only or full disk usually reads fine."""
        if self.writer.db is None or not self.writer.ready:
            return 0
        try:
            async with self.writer.db.execute(
                    "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='last_seq'), 0),"
                    " COALESCE((SELECT MAX(seq) FROM events), 0),"
                    " COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='seq_reserved'), 0)"
                    ) as cur:
                a, b, c = await cur.fetchone()  # type: ignore[misc]
            return max(int(a), int(b), int(c))
        except sqlite3.Error as exc:
            self.writer.fail(str(exc))
            return 0

    async def undelivered(self) -> list[StoredEvent]:
        """Events still owed to the centre: unsent ones, and alarms sent but not acknowledged.
        Read from a failed store too: a backlog on a full disk is still owed."""
        if self.writer.db is None or not self.writer.ready:
            return []
        try:
            async with self.writer.db.execute(
                    "SELECT body, state, attempts FROM events WHERE state = ? OR (is_alarm = 1 AND state = ?)"
                    " ORDER BY seq", (PENDING, SENT)) as cur:
                rows = await cur.fetchall()
        except sqlite3.Error as exc:
            self.writer.fail(str(exc))
            return []
        return [StoredEvent(Event.from_row(json.loads(b)), s, a) for b, s, a in rows]

    async def recent(self, limit: int) -> list[tuple[Any, ...]]:
        """The newest events with their delivery state, newest first, for people to read
        (the installer's console). Through the store's own connection: the database is held
        exclusively while the gateway runs, so no other connection can read it."""
        if self.writer.db is None or not self.writer.ready:
            return []
        try:
            async with self.writer.db.execute(
                    "SELECT body, state, attempts, sent_at, acked_at, acked_by FROM events "
                    "ORDER BY seq DESC LIMIT ?", (limit,)) as cur:
                return [tuple(r) for r in await cur.fetchall()]
        except sqlite3.Error as exc:
            log.warning("could not read recent events: %s", exc)
            return []

    async def load_detector_state(self) -> dict[str, Any]:
        if self.writer.db is None or not self.writer.ready:
            return {}
        try:
            async with self.writer.db.execute("SELECT name, state FROM detector_state") as cur:
                return {n: json.loads(s) for n, s in await cur.fetchall()}
        except sqlite3.Error as exc:
            self.writer.fail(str(exc))
            return {}

    async def has_closing_event(self, suspected_id: str) -> bool:
        """Whether the fall or the cancel that closes this suspected fall's window is stored."""
        if self.writer.db is None or not self.writer.ready:
            return False
        try:
            async with self.writer.db.execute(
                    "SELECT 1 FROM events WHERE type IN ('fall', 'alarm_cancelled')"
                    " AND json_extract(body, '$.ref') = ? LIMIT 1", (suspected_id,)) as cur:
                return await cur.fetchone() is not None
        except sqlite3.Error as exc:
            self.writer.fail(str(exc))
            return False

    # -- writes (through the writer task) -----------------------------------------------
    async def insert(self, event: Event) -> bool:
        """Queue `event` and wait until it is committed. True when durable, False when the
        store is degraded (the caller keeps the event in memory and sends it anyway)."""
        return await self.enqueue(event)

    def enqueue(self, event: Event) -> "asyncio.Future[bool]":
        """Queue `event` now (no await between several calls: they share one commit); the
        future resolves as `insert()` does, or with the error that kept it out of the store."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.writer.put(Insert(event, fut))
        return fut

    def submit(self, op: Operation) -> None:
        """Queue any operation (a TypeError, here, for anything that is not one)."""
        self.writer.put(op)

    def mark_sent(self, event_id: str, attempts: int, is_alarm: bool) -> None:
        self.writer.put(MarkSent(event_id, attempts, is_alarm, time.time()))

    def mark_acked(self, event_id: str, by: str | None, at: float) -> None:
        self.writer.put(MarkAcked(event_id, by, at))

    def mark_expired(self, event_id: str) -> None:
        self.writer.put(MarkExpired(event_id))

    def save_detector_state(self, name: str, state: dict[str, Any]) -> None:
        self.writer.put(SaveDetectorState(name, encode(state), time.time()))

    def reserve_seq(self, upto: int) -> None:
        """Raise the seq high-water mark to `upto` (never lowers it)."""
        self.writer.put(ReserveSeq(upto))

    def release_seq(self, last: int) -> None:
        """A clean stop: the high-water mark goes back to the last number really used, so a
        clean restart leaves no gap. Never below a committed seq."""
        self.writer.put(ReserveSeq(last, release=True))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (or failed)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.writer.put(Flush(fut))
        await fut

    async def prune(self, max_age_days: float, max_size_mb: float) -> int:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.writer.put(Prune(max_age_days, max_size_mb, fut))
        return int(await fut)

    def remember(self, event: Event) -> None:
        """An event that went out from memory without `insert()` (the `storage_failure`
        event itself): written with the next commit that succeeds."""
        self.writer.remember(event)
