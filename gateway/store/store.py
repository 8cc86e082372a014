"""The event store: SQLite in WAL mode, written by exactly one task, in batches.

Why this shape:
- One writer task owns the connection, so there is never "database is locked".
- Writes are batched (all that waits, lingering `batch_ms`, at most 500 per transaction): an SD card
  sees one commit where a naive design would do hundreds, and throughput stays high.
- `synchronous=FULL`: a committed alarm survives a power cut, not only a crash.
- `insert()` resolves only after the batch holding the event is committed, so the
  caller (and the uplink) never sends an alarm the store could still lose.
- When the database fails (corrupt, read-only, disk full) the store logs one clear line,
  calls `on_failure` once (the gateway raises a `storage_failure` event) and answers
  "not durable" from then on; alarms keep flowing from memory, and every write is tried
  again on the next batch so the store recovers by itself when space returns. Nothing
  asked of a failed store is dropped: inserts, sent marks and acks wait in memory and are
  written, in order, by the first commit that succeeds.
- The WAL stays small (checkpointed at about 1 MiB and cut back to it), and on a failure
  it is checkpointed and truncated, so on a full disk it does not hold the space the
  database needs; a store that could not even open tries again every 10 s.
- `seq` never goes back: the store keeps a high-water mark (`meta.seq_reserved`) a block
  ahead of the numbers in use. Numbers given out while the store cannot write are inside
  the block, so a restart starts above them (see `reserve_seq`).
- The writer task survives anything: an event that cannot be serialised fails its own
  `insert()`, an unexpected error fails the batch's waiters, and the loop goes on.
- "Failed" is a property of the disk, never of one row (issue 26: an ack whose `by` was
  a JSON object switched the store off for good, because the refused update was retried
  with every later batch). A statement SQLite refuses because of the values in it
  (a type it cannot bind, an integer beyond 64 bits, text that is not UTF-8, a
  constraint) drops that one write, logged at most once a minute per kind, and the rest
  of the transaction commits. A store that did fail probes the disk every
  PROBE_EVERY_S while it is failed, so the backlog is written, and the store recovers,
  when the disk works again, also when nothing new is asked of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import aiosqlite

from gateway.events import Event
from gateway.inbound import RateLimitedLog

log = logging.getLogger("safehome.store")

PENDING, SENT, ACKNOWLEDGED, EXPIRED = "pending", "sent", "acknowledged", "expired"
UPDATE_OPS = ("sent", "acked", "expired", "dstate", "reserve")  # kept while the store is failed
WAL_LIMIT_BYTES = 1024 * 1024  # the WAL is checkpointed at, and cut back to, about this size
WAL_CHECKPOINT_PAGES = 256  # x 4 KiB pages = WAL_LIMIT_BYTES (SQLite's default is 1000)
REOPEN_EVERY_S = 10.0  # a store that could not open tries again this often
PROBE_EVERY_S = 2.0  # a failed store tries its backlog (or a probe write) this often
# Errors SQLite raises for the values in one statement, not for the disk: that write is
# dropped, the transaction goes on. (sqlite3.OperationalError, "disk I/O error", "database
# or disk is full", "attempt to write a readonly database", is the disk, never in here.)
ROW_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.DataError, sqlite3.IntegrityError,
    OverflowError, TypeError, ValueError)


def _json_default(value: Any) -> Any:
    """numpy scalars (np.float32, np.int64, np.bool_) and the like: their Python value."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON serialisable")


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_json_default)

# Each migration moves the schema from version i to i+1 (PRAGMA user_version).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        is_alarm INTEGER NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        sent_at REAL,
        acked_at REAL,
        acked_by TEXT
    );
    CREATE INDEX events_undelivered ON events (state, is_alarm, seq);
    CREATE INDEX events_created ON events (created_at);
    CREATE INDEX events_seq ON events (seq);
    CREATE TABLE detector_state (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at REAL NOT NULL);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


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
        self.batch_s = batch_ms / 1000.0
        self.on_failure = on_failure
        self.on_recovery = on_recovery
        self._db: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...], asyncio.Future[Any] | None]] = asyncio.Queue()
        self._writer: asyncio.Task[Any] | None = None
        self.failed: str | None = None  # reason, while degraded
        self._unpersisted: dict[str, Event] = {}  # events accepted while degraded
        self._unapplied: dict[tuple[str, str], tuple[Any, ...]] = {}  # updates asked while degraded
        self.commits = 0
        self.writer_errors = 0  # unexpected (non-SQLite) errors the writer survived
        self._ready = False  # opened, migrated and checked
        self._last_connect = 0.0
        self.rows_refused = 0  # writes dropped because SQLite refused their values
        self._refusals = RateLimitedLog(interval=60.0)

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        await self._connect()
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")

    async def _connect(self) -> None:
        """Open and check the database. A store that could not open is tried again (at most
        every REOPEN_EVERY_S, by the writer), so a first boot on a full or read-only disk
        starts writing when the disk is fixed, without a restart."""
        self._last_connect = time.monotonic()
        if self._db is not None:  # a half-open connection from an earlier try
            try:
                await self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            # Before the first WAL access: the wal-index then lives in this process's heap,
            # not in a mmap'ed `-shm` file. A `-shm` that turns unwritable (read-only remount,
            # immutable flag) would otherwise kill the gateway with SIGBUS on its next write.
            # The price: no other process reads the database while the gateway runs.
            await self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=FULL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            await self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            await self._checkpoint()  # a WAL left large by a full disk is folded in and cut
            await self._migrate()
            await self._db.execute("PRAGMA quick_check")
            self._ready = True
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"cannot open {self.path}: {exc}")

    async def close(self) -> None:
        if self._writer is not None and self._writer.done():
            self._writer = None  # cannot happen by design; never wait on a dead writer
        if self._writer is not None:
            await self._queue.put(("stop", (), None))
            await self._writer
            self._writer = None
        if self._db is not None:
            try:
                await self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
            self._ready = False

    async def _migrate(self) -> None:
        assert self._db is not None
        async with self._db.execute("PRAGMA user_version") as cur:
            (version,) = await cur.fetchone()  # type: ignore[misc]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this gateway's {SCHEMA_VERSION}")
        for v in range(version, SCHEMA_VERSION):
            await self._db.executescript("BEGIN;" + MIGRATIONS[v] + f";PRAGMA user_version={v + 1};COMMIT;")
            log.info("event store schema migrated to version %d", v + 1)

    async def _checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it; harmless when it cannot."""
        if self._db is None:
            return
        try:
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.debug("WAL checkpoint failed: %s", exc)

    def _fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            log.error("event store failed, alarms continue from memory: %s", reason)
            if self.on_failure:
                self.on_failure(reason)

    # -- reads (startup) ----------------------------------------------------------------
    async def last_seq(self) -> int:
        """The highest seq this database has seen: committed, or reserved ahead (a restart
        after a crash starts above it, so no number is ever given out twice). A failed
        store is still read: a read-only or full disk usually reads fine."""
        if self._db is None or not self._ready:
            return 0
        try:
            async with self._db.execute(
                    "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='last_seq'), 0),"
                    " COALESCE((SELECT MAX(seq) FROM events), 0),"
                    " COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='seq_reserved'), 0)"
                    ) as cur:
                a, b, c = await cur.fetchone()  # type: ignore[misc]
            return max(int(a), int(b), int(c))
        except sqlite3.Error as exc:
            self._fail(str(exc))
            return 0

    async def undelivered(self) -> list[StoredEvent]:
        """Events still owed to the centre: unsent ones, and alarms sent but not acknowledged.
        Read from a failed store too: a backlog on a full disk is still owed."""
        if self._db is None or not self._ready:
            return []
        try:
            async with self._db.execute(
                    "SELECT body, state, attempts FROM events WHERE state = ? OR (is_alarm = 1 AND state = ?)"
                    " ORDER BY seq", (PENDING, SENT)) as cur:
                rows = await cur.fetchall()
        except sqlite3.Error as exc:
            self._fail(str(exc))
            return []
        return [StoredEvent(Event.from_row(json.loads(b)), s, a) for b, s, a in rows]

    async def recent(self, limit: int) -> list[tuple[Any, ...]]:
        """The newest events with their delivery state, newest first, for people to read
        (the installer's console). Through the store's own connection: the database is held
        exclusively while the gateway runs, so no other connection can read it."""
        if self._db is None or not self._ready:
            return []
        try:
            async with self._db.execute(
                    "SELECT body, state, attempts, sent_at, acked_at, acked_by FROM events "
                    "ORDER BY seq DESC LIMIT ?", (limit,)) as cur:
                return [tuple(r) for r in await cur.fetchall()]
        except sqlite3.Error as exc:
            log.warning("could not read recent events: %s", exc)
            return []

    async def load_detector_state(self) -> dict[str, Any]:
        if self._db is None or not self._ready:
            return {}
        try:
            async with self._db.execute("SELECT name, state FROM detector_state") as cur:
                return {n: json.loads(s) for n, s in await cur.fetchall()}
        except sqlite3.Error as exc:
            self._fail(str(exc))
            return {}

    async def has_closing_event(self, suspected_id: str) -> bool:
        """Whether the fall or the cancel that closes this suspected fall's window is stored."""
        if self._db is None or not self._ready:
            return False
        try:
            async with self._db.execute(
                    "SELECT 1 FROM events WHERE type IN ('fall', 'alarm_cancelled')"
                    " AND json_extract(body, '$.ref') = ? LIMIT 1", (suspected_id,)) as cur:
                return await cur.fetchone() is not None
        except sqlite3.Error as exc:
            self._fail(str(exc))
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
        self._queue.put_nowait(("insert", (event,), fut))
        return fut

    def mark_sent(self, event_id: str, attempts: int, is_alarm: bool) -> None:
        self._queue.put_nowait(("sent", (event_id, attempts, is_alarm, time.time()), None))

    def mark_acked(self, event_id: str, by: str | None, at: float) -> None:
        self._queue.put_nowait(("acked", (event_id, by, at), None))

    def mark_expired(self, event_id: str) -> None:
        self._queue.put_nowait(("expired", (event_id,), None))

    def save_detector_state(self, name: str, state: dict[str, Any]) -> None:
        self._queue.put_nowait(("dstate", (name, encode(state), time.time()), None))

    def reserve_seq(self, upto: int) -> None:
        """Raise the seq high-water mark to `upto` (never lowers it)."""
        self._queue.put_nowait(("reserve", (upto, False), None))

    def release_seq(self, last: int) -> None:
        """A clean stop: the high-water mark goes back to the last number really used, so a
        clean restart leaves no gap. Never below a committed seq."""
        self._queue.put_nowait(("reserve", (last, True), None))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (or failed)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(("flush", (), fut))
        await fut

    async def prune(self, max_age_days: float, max_size_mb: float) -> int:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(("prune", (max_age_days, max_size_mb), fut))
        return int(await fut)

    async def _write_loop(self) -> None:
        while True:
            if self.failed is None or not self._queue.empty():
                batch = [await self._queue.get()]
            else:  # failed and idle: probe the disk now and then, with the backlog
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # arrives with the timeout, and a writer that outlives its cancel hangs a stop
                try:
                    async with asyncio.timeout(PROBE_EVERY_S):
                        batch = [await self._queue.get()]
                except TimeoutError:
                    batch = [("probe", (), None)]
            # Everything already waiting joins this commit; then linger briefly for more.
            # Under load, whatever arrives during a commit forms the next, larger batch.
            deadline = time.monotonic() + self.batch_s
            while len(batch) < 500 and batch[-1][0] not in ("stop", "flush"):
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
            try:
                await self._apply(batch)
            except Exception as exc:  # the writer must outlive any bug
                self.writer_errors += 1
                log.exception("event store writer error (writer continues)")
                for _, _, fut in batch:
                    if fut is not None and not fut.done():
                        fut.set_exception(exc)
            if batch[-1][0] == "stop":
                return

    async def _apply(self, batch: list[tuple[str, tuple[Any, ...], asyncio.Future[Any] | None]]) -> None:
        # Serialise first: an event that cannot be written fails its own insert, not the batch.
        rows: dict[str, tuple[Any, ...]] = {}
        bad: dict[int, Exception] = {}
        for ev in self._unpersisted.values():
            rows[ev.id] = self._row(ev)
        for i, (op, args, _) in enumerate(batch):
            if op == "insert":
                try:
                    rows[args[0].id] = self._row(args[0])
                except (TypeError, ValueError) as exc:
                    bad[i] = exc
                    log.error("event %s %s cannot be stored: %s", args[0].type, args[0].id, exc)
        # Updates asked while the store was failed come first, in the order they were asked.
        updates = [*self._unapplied.items()]
        for op, args, _ in batch:
            if op in UPDATE_OPS:
                updates.append(((op, self._update_key(op, args)), args))
        ok = False
        results: dict[int, Any] = {}
        refused: dict[str, Exception] = {}  # event id -> why SQLite refused its row
        if not self._ready and time.monotonic() - self._last_connect >= REOPEN_EVERY_S:
            await self._connect()
        if self._db is not None and self._ready:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                # Inserts first, in one statement: an update in the same batch may name them.
                refused = await self._insert_rows(list(rows.values()))
                for (op, _), args in updates:
                    try:
                        await self._do(op, args)
                    except ROW_ERRORS as exc:  # this write's values, not the disk
                        self._refuse(op, args, exc)
                for i, (op, args, _) in enumerate(batch):
                    if op == "prune":
                        results[i] = await self._do(op, args)
                    elif op == "probe":
                        await self._db.execute(
                            "INSERT INTO meta (key, value) VALUES ('probed_at', ?) ON CONFLICT(key)"
                            " DO UPDATE SET value = excluded.value", (str(time.time()),))
                await self._db.execute("COMMIT")
                ok = True
                self.commits += 1
            except (sqlite3.Error, OSError) as exc:
                await self._rollback()
                self._fail(str(exc))
                await self._checkpoint()  # do not let failed transactions grow the WAL
            except BaseException:  # a bug: never leave the transaction open for the next batch
                await self._rollback()
                raise
        if ok and self.failed is not None:
            log.warning("event store recovered after: %s (%d events and %d updates written)",
                        self.failed, len(self._unpersisted), len(self._unapplied))
            self.failed = None
            if self.on_recovery:
                self.on_recovery()
        if ok:
            self._unpersisted.clear()
            self._unapplied.clear()
            for i, (op, args, _) in enumerate(batch):
                if op == "insert" and args[0].id in refused:
                    bad[i] = refused[args[0].id]
        else:
            for key, args in updates:
                self._unapplied.pop(key, None)  # re-insert: the latest ask goes last
                self._unapplied[key] = args
        for i, (op, args, fut) in enumerate(batch):
            if not ok and op == "insert" and i not in bad:
                self._unpersisted[args[0].id] = args[0]
            if fut is None or fut.done():
                continue
            if i in bad:
                fut.set_exception(bad[i])
            else:
                fut.set_result(results.get(i, ok) if op == "prune" else ok)

    @staticmethod
    def _update_key(op: str, args: tuple[Any, ...]) -> str:
        return "" if op == "reserve" else str(args[0])  # event id, or detector name

    @staticmethod
    def _row(ev: Event) -> tuple[Any, ...]:
        return (ev.id, ev.seq, ev.type, int(ev.is_alarm), PENDING, encode(ev.to_row()), ev.detected_at)

    def remember(self, event: Event) -> None:
        """An event that went out from memory without `insert()` (the `storage_failure`
        event itself): written with the next commit that succeeds."""
        self._unpersisted.setdefault(event.id, event)

    async def _rollback(self) -> None:
        assert self._db is not None
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _refuse(self, op: str, args: tuple[Any, ...], exc: Exception) -> None:
        """A write SQLite refused for its values: dropped (it would fail forever), counted,
        and logged at most once a minute per kind of write."""
        self.rows_refused += 1
        self._refusals(op, log.error, "event store refused %s %s (%s: %s); the store stays "
                       "healthy", op, str(args[0])[:80] if args else "", type(exc).__name__,
                       str(exc)[:200])

    async def _insert_rows(self, rows: list[tuple[Any, ...]]) -> dict[str, Exception]:
        """Insert the rows; the ones SQLite refuses for their values are left out and
        returned (event id -> error), the others are written."""
        if not rows:
            return {}
        assert self._db is not None
        sql = ("INSERT INTO events (id, seq, type, is_alarm, state, body, created_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING")
        refused: dict[str, Exception] = {}
        try:
            await self._db.execute("SAVEPOINT rows")
            await self._db.executemany(sql, rows)
            await self._db.execute("RELEASE rows")
        except ROW_ERRORS:  # one row's values: write them one by one, without that one
            await self._db.execute("ROLLBACK TO rows")
            await self._db.execute("RELEASE rows")
            kept = []
            for row in rows:
                try:
                    await self._db.execute(sql, row)
                    kept.append(row)
                except ROW_ERRORS as exc:
                    refused[str(row[0])] = exc
                    self._refuse("insert", row, exc)
            rows = kept
        if rows:
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET"
                " value = MAX(CAST(value AS INTEGER), excluded.value)", (max(r[1] for r in rows),))
        return refused

    async def _do(self, op: str, args: tuple[Any, ...]) -> Any:
        db = self._db
        assert db is not None
        if op == "sent":
            event_id, attempts, is_alarm, now = args
            await db.execute(
                "UPDATE events SET state = CASE WHEN state = ? THEN ? ELSE ? END, attempts = MAX(attempts, ?),"
                " sent_at = COALESCE(sent_at, ?) WHERE id = ? AND state IN (?, ?)",
                (PENDING, SENT, SENT, attempts, now, event_id, PENDING, SENT))
        elif op == "acked":
            event_id, by, at = args
            await db.execute("UPDATE events SET state = ?, acked_at = ?, acked_by = ? WHERE id = ?",
                             (ACKNOWLEDGED, at, by, event_id))
        elif op == "expired":
            await db.execute("UPDATE events SET state = ? WHERE id = ? AND state != ?",
                             (EXPIRED, args[0], ACKNOWLEDGED))
        elif op == "dstate":
            await db.execute("INSERT INTO detector_state (name, state, updated_at) VALUES (?, ?, ?)"
                             " ON CONFLICT(name) DO UPDATE SET state = excluded.state,"
                             " updated_at = excluded.updated_at", args)
        elif op == "reserve":
            upto, release = args
            if release:  # back to the last number used, never below a committed one
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) ON CONFLICT(key) DO UPDATE"
                    " SET value = excluded.value", (upto,))
            else:
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) ON CONFLICT(key) DO UPDATE"
                    " SET value = MAX(CAST(value AS INTEGER), excluded.value)", (upto,))
        elif op == "prune":
            return await self._prune(*args)
        return None

    async def _prune(self, max_age_days: float, max_size_mb: float) -> int:
        """Delete delivered events only: acknowledged alarms and sent non-alarm events."""
        db = self._db
        assert db is not None
        delivered = f"(state = '{ACKNOWLEDGED}' OR (is_alarm = 0 AND state = '{SENT}'))"
        cur = await db.execute(f"DELETE FROM events WHERE {delivered} AND created_at < ?",
                               (time.time() - max_age_days * 86400,))
        removed = cur.rowcount
        async with db.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") as c:
            (size,) = await c.fetchone()  # type: ignore[misc]
        limit = max_size_mb * 1024 * 1024
        if size > limit:
            async with db.execute("SELECT COUNT(*) FROM events") as c:
                (n,) = await c.fetchone()  # type: ignore[misc]
            per_row = max(1.0, size / max(1, n))
            excess_rows = int((size - limit) / per_row) + 1
            cur = await db.execute(
                f"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE {delivered}"
                " ORDER BY seq LIMIT ?)", (excess_rows,))
            removed += cur.rowcount
        return removed

