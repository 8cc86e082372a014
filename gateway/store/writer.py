"""The store's one writer: owns the connection, batches what is queued, commits, and keeps
what a failed disk could not take until it can.

Why one task: it owns the connection, so there is never "database is locked", and a batch
is one transaction, so an SD card sees one commit where a naive design does hundreds. The
failure rules (what waits in memory, what is dropped as refused, when the disk is probed)
are in the package docstring (gateway/store/__init__.py); this file is where they happen.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.events import Event
from gateway.inbound import RateLimitedLog
from gateway.store.operations import (
    UPDATES,
    Flush,
    Insert,
    Operation,
    Probe,
    Prune,
    Stop,
    Update,
    check,
    subject,
    update_key,
    waiter,
)
from gateway.store.schema import migrate, row
from gateway.store.statements import ROW_ERRORS, apply_update, insert_rows, probe, prune

log = logging.getLogger("safehome.store")

WAL_LIMIT_BYTES = 1024 * 1024  # the WAL is checkpointed at, and cut back to, about this size
WAL_CHECKPOINT_PAGES = 256  # x 4 KiB pages = WAL_LIMIT_BYTES (SQLite's default is 1000)
REOPEN_EVERY_S = 10.0  # a store that could not open tries again this often
PROBE_EVERY_S = 2.0  # a failed store tries its backlog (or a probe write) this often
BATCH_MAX = 500  # operations in one transaction


class Writer:
    """The connection and everything written through it. `run()` is the writer task."""

    def __init__(self, path: Path, batch_s: float, on_failure: Callable[[str], None] | None,
                 on_recovery: Callable[[], None] | None) -> None:
        self.path = path
        self.batch_s = batch_s
        self.on_failure = on_failure
        self.on_recovery = on_recovery
        self.db: aiosqlite.Connection | None = None
        self.ready = False  # opened, migrated and checked
        self.failed: str | None = None  # reason, while degraded
        self.commits = 0
        self.writer_errors = 0  # unexpected (non-SQLite) errors the writer survived
        self.rows_refused = 0  # writes dropped because SQLite refused their values
        self._queue: asyncio.Queue[Operation] = asyncio.Queue()
        self._unpersisted: dict[str, Event] = {}  # events accepted while degraded
        self._unapplied: dict[tuple[str, str], Update] = {}  # updates asked while degraded
        self._last_connect = 0.0
        self._refusals = RateLimitedLog(interval=60.0)

    # -- the connection ---------------------------------------------------------------------
    async def connect(self) -> None:
        """Open and check the database. A store that could not open is tried again (at most
        every REOPEN_EVERY_S, by the writer), so a first boot on a full or read-only disk
        starts writing when the disk is fixed, without a restart."""
        self._last_connect = time.monotonic()
        await self.disconnect()  # a half-open connection from an earlier try
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = await aiosqlite.connect(self.path, isolation_level=None)
            # Before the first WAL access: the wal-index then lives in this process's heap,
            # not in a mmap'ed `-shm` file. A `-shm` that turns unwritable (read-only remount,
            # immutable flag) would otherwise kill the gateway with SIGBUS on its next write.
            # The price: no other process reads the database while the gateway runs.
            await self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
            await self.db.execute("PRAGMA journal_mode=WAL")
            await self.db.execute("PRAGMA synchronous=FULL")
            await self.db.execute("PRAGMA busy_timeout=5000")
            await self.db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            await self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            await self.checkpoint()  # a WAL left large by a full disk is folded in and cut
            await migrate(self.db)
            await self.db.execute("PRAGMA quick_check")
            self.ready = True
        except (sqlite3.Error, OSError) as exc:
            self.fail(f"cannot open {self.path}: {exc}")

    async def disconnect(self) -> None:
        if self.db is not None:
            try:
                await self.db.close()
            except sqlite3.Error:
                pass
            self.db = None
            self.ready = False

    async def checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it; harmless when it cannot."""
        if self.db is None:
            return
        try:
            await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.debug("WAL checkpoint failed: %s", exc)

    async def _rollback(self) -> None:
        assert self.db is not None
        try:
            await self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            log.error("event store failed, alarms continue from memory: %s", reason)
            if self.on_failure:
                self.on_failure(reason)

    # -- what is asked --------------------------------------------------------------------
    def put(self, op: Operation) -> None:
        """Queue `op` for the next batch; anything but an operation is a TypeError, here."""
        self._queue.put_nowait(check(op))

    def remember(self, event: Event) -> None:
        self._unpersisted.setdefault(event.id, event)

    # -- the writer task --------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._apply(batch)
            except Exception as exc:  # the writer must outlive any bug
                self.writer_errors += 1
                log.exception("event store writer error (writer continues)")
                for op in batch:
                    fut = waiter(op)
                    if fut is not None and not fut.done():
                        fut.set_exception(exc)
            if isinstance(batch[-1], Stop):
                return

    async def _collect(self) -> list[Operation]:
        """The next batch: everything already waiting joins it; then it lingers briefly for
        more. Under load, whatever arrives during a commit forms the next, larger batch."""
        if self.failed is None or not self._queue.empty():
            batch: list[Operation] = [await self._queue.get()]
        else:  # failed and idle: probe the disk now and then, with the backlog
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
            # arrives with the timeout, and a writer that outlives its cancel hangs a stop
            try:
                async with asyncio.timeout(PROBE_EVERY_S):
                    batch = [await self._queue.get()]
            except TimeoutError:
                batch = [Probe()]
        deadline = time.monotonic() + self.batch_s
        while len(batch) < BATCH_MAX and not isinstance(batch[-1], (Stop, Flush)):
            try:
                batch.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                async with asyncio.timeout(timeout):
                    batch.append(await self._queue.get())
            except TimeoutError:
                break
        return batch

    async def _apply(self, batch: list[Operation]) -> None:
        rows, bad = self._serialise(batch)
        # Updates asked while the store was failed come first, in the order they were asked.
        updates = [*self._unapplied.items()]
        updates += [(update_key(op), op) for op in batch if isinstance(op, UPDATES)]
        if not self.ready and time.monotonic() - self._last_connect >= REOPEN_EVERY_S:
            await self.connect()
        ok, results, refused = await self._commit(rows, updates, batch)
        if ok and self.failed is not None:
            log.warning("event store recovered after: %s (%d events and %d updates written)",
                        self.failed, len(self._unpersisted), len(self._unapplied))
            self.failed = None
            if self.on_recovery:
                self.on_recovery()
        if ok:
            self._unpersisted.clear()
            self._unapplied.clear()
            for i, op in enumerate(batch):
                if isinstance(op, Insert) and op.event.id in refused:
                    bad[i] = refused[op.event.id]
        else:
            for key, update in updates:
                self._unapplied.pop(key, None)  # re-insert: the latest ask goes last
                self._unapplied[key] = update
        self._answer(batch, ok, bad, results)

    def _serialise(self, batch: list[Operation]) -> tuple[dict[str, tuple[Any, ...]], dict[int, Exception]]:
        """The rows to insert (the events kept from a failed disk, then the batch's). An
        event that cannot be serialised fails its own insert, not the batch."""
        rows = {ev.id: row(ev) for ev in self._unpersisted.values()}
        bad: dict[int, Exception] = {}
        for i, op in enumerate(batch):
            if isinstance(op, Insert):
                try:
                    rows[op.event.id] = row(op.event)
                except (TypeError, ValueError) as exc:
                    bad[i] = exc
                    log.error("event %s %s cannot be stored: %s", op.event.type, op.event.id, exc)
        return rows, bad

    async def _commit(self, rows: dict[str, tuple[Any, ...]], updates: list[tuple[tuple[str, str], Update]],
                      batch: list[Operation]) -> tuple[bool, dict[int, Any], dict[str, Exception]]:
        """One transaction: inserts, updates, prunes and probes. Returns whether it committed,
        the prunes' answers (by index in the batch) and the events SQLite refused."""
        results: dict[int, Any] = {}
        refused: dict[str, Exception] = {}  # event id -> why SQLite refused its row
        db = self.db
        if db is None or not self.ready:
            return False, results, refused
        try:
            await db.execute("BEGIN IMMEDIATE")
            # Inserts first, in one statement: an update in the same batch may name them.
            refused = await insert_rows(db, list(rows.values()), self._refuse)
            for _, update in updates:
                try:
                    await apply_update(db, update)
                except ROW_ERRORS as exc:  # this write's values, not the disk
                    self._refuse(update.kind, subject(update), exc)
            for i, op in enumerate(batch):
                match op:
                    case Prune(max_age_days, max_size_mb):
                        results[i] = await prune(db, max_age_days, max_size_mb)
                    case Probe():
                        await probe(db)
            await db.execute("COMMIT")
            self.commits += 1
            return True, results, refused
        except (sqlite3.Error, OSError) as exc:
            await self._rollback()
            self.fail(str(exc))
            await self.checkpoint()  # do not let failed transactions grow the WAL
            return False, results, refused
        except BaseException:  # a bug: never leave the transaction open for the next batch
            await self._rollback()
            raise

    def _answer(self, batch: list[Operation], ok: bool, bad: dict[int, Exception],
                results: dict[int, Any]) -> None:
        """Resolve the waiters; keep in memory the events a failed commit did not write."""
        for i, op in enumerate(batch):
            if not ok and isinstance(op, Insert) and i not in bad:
                self._unpersisted[op.event.id] = op.event
            fut = waiter(op)
            if fut is None or fut.done():
                continue
            if i in bad:
                fut.set_exception(bad[i])
            else:
                fut.set_result(results.get(i, ok) if isinstance(op, Prune) else ok)

    def _refuse(self, kind: str, what: str, exc: Exception) -> None:
        """A write SQLite refused for its values: dropped (it would fail forever), counted,
        and logged at most once a minute per kind of write."""
        self.rows_refused += 1
        self._refusals(kind, log.error, "event store refused %s %s (%s: %s); the store stays "
                       "healthy", kind, what[:80], type(exc).__name__, str(exc)[:200])
