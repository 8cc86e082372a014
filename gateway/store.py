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
  again on the next batch so the store recovers by itself when space returns.
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

log = logging.getLogger("safehome.store")

PENDING, SENT, ACKNOWLEDGED, EXPIRED = "pending", "sent", "acknowledged", "expired"

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


class Store:
    def __init__(self, path: str | Path, *, batch_ms: float = 5.0,
                 on_failure: Callable[[str], None] | None = None,
                 on_recovery: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.batch_s = batch_ms / 1000.0
        self.on_failure = on_failure
        self.on_recovery = on_recovery
        self._db: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...], asyncio.Future | None]] = asyncio.Queue()
        self._writer: asyncio.Task | None = None
        self.failed: str | None = None  # reason, while degraded
        self._unpersisted: dict[str, Event] = {}  # events accepted while degraded
        self.commits = 0

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=FULL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._migrate()
            await self._db.execute("PRAGMA quick_check")
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"cannot open {self.path}: {exc}")
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")

    async def close(self) -> None:
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

    def _fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            log.error("event store failed, alarms continue from memory: %s", reason)
            if self.on_failure:
                self.on_failure(reason)

    # -- reads (startup) ----------------------------------------------------------------
    async def last_seq(self) -> int:
        if self._db is None or self.failed:
            return 0
        try:
            async with self._db.execute(
                    "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='last_seq'), 0),"
                    " COALESCE((SELECT MAX(seq) FROM events), 0)") as cur:
                a, b = await cur.fetchone()  # type: ignore[misc]
            return max(int(a), int(b))
        except sqlite3.Error as exc:
            self._fail(str(exc))
            return 0

    async def undelivered(self) -> list[StoredEvent]:
        """Events still owed to the centre: unsent ones, and alarms sent but not acknowledged."""
        if self._db is None or self.failed:
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

    async def load_detector_state(self) -> dict[str, Any]:
        if self._db is None or self.failed:
            return {}
        async with self._db.execute("SELECT name, state FROM detector_state") as cur:
            return {n: json.loads(s) for n, s in await cur.fetchall()}

    # -- writes (through the writer task) -----------------------------------------------
    async def insert(self, event: Event) -> bool:
        """Queue `event` and wait until it is committed. True when durable, False when the
        store is degraded (the caller keeps the event in memory and sends it anyway)."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put(("insert", (event,), fut))
        return await fut

    def mark_sent(self, event_id: str, attempts: int, is_alarm: bool) -> None:
        self._queue.put_nowait(("sent", (event_id, attempts, is_alarm, time.time()), None))

    def mark_acked(self, event_id: str, by: str | None, at: float) -> None:
        self._queue.put_nowait(("acked", (event_id, by, at), None))

    def mark_expired(self, event_id: str) -> None:
        self._queue.put_nowait(("expired", (event_id,), None))

    def save_detector_state(self, name: str, state: dict[str, Any]) -> None:
        self._queue.put_nowait(("dstate", (name, json.dumps(state, separators=(",", ":")), time.time()), None))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed (or failed)."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put(("flush", (), fut))
        await fut

    async def prune(self, max_age_days: float, max_size_mb: float) -> int:
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put(("prune", (max_age_days, max_size_mb), fut))
        return await fut

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
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
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            await self._apply(batch)
            if batch[-1][0] == "stop":
                return

    async def _apply(self, batch: list[tuple[str, tuple[Any, ...], asyncio.Future | None]]) -> None:
        ok = False
        results: dict[int, Any] = {}
        if self._db is not None:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                # Inserts first, in one statement: an update in the same batch may name them.
                await self._insert_rows([*self._unpersisted.values(),
                                         *(a[0] for op, a, _ in batch if op == "insert")])
                for i, (op, args, _) in enumerate(batch):
                    if op != "insert":
                        results[i] = await self._do(op, args)
                await self._db.execute("COMMIT")
                ok = True
                self.commits += 1
            except (sqlite3.Error, OSError) as exc:
                try:
                    await self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._fail(str(exc))
        if ok and self.failed is not None:
            log.warning("event store recovered after: %s", self.failed)
            self.failed = None
            if self.on_recovery:
                self.on_recovery()
        if ok:
            self._unpersisted.clear()
        for i, (op, args, fut) in enumerate(batch):
            if not ok and op == "insert":
                self._unpersisted[args[0].id] = args[0]
            if fut is not None and not fut.done():
                fut.set_result(results.get(i, ok) if op != "insert" else ok)

    async def _insert_rows(self, events: list[Event]) -> None:
        if not events:
            return
        assert self._db is not None
        await self._db.executemany(
            "INSERT INTO events (id, seq, type, is_alarm, state, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            [(ev.id, ev.seq, ev.type, int(ev.is_alarm), PENDING,
              json.dumps(ev.to_row(), separators=(",", ":")), ev.detected_at) for ev in events])
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET"
            " value = MAX(CAST(value AS INTEGER), excluded.value)", (max(ev.seq for ev in events),))

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

