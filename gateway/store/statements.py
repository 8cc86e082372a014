"""The SQL of every write, inside the writer's open transaction: one function per job.

Why apart: the writer decides when and in which transaction a write happens, and what a
failure means; this file only says what each write does to the tables. `apply_update`
dispatches the typed operations with `match`, so a kind without its SQL is a mypy error.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, assert_never

import aiosqlite

from gateway.store.operations import MarkAcked, MarkExpired, MarkSent, ReserveSeq, SaveDetectorState, Update
from gateway.store.schema import ACKNOWLEDGED, EXPIRED, PENDING, SENT

# Errors SQLite raises for the values in one statement, not for the disk: that write is
# dropped, the transaction goes on. (sqlite3.OperationalError, "disk I/O error", "database
# or disk is full", "attempt to write a readonly database", is the disk, never in here.)
ROW_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.DataError, sqlite3.IntegrityError,
    OverflowError, TypeError, ValueError)

INSERT_EVENT = ("INSERT INTO events (id, seq, type, is_alarm, state, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING")


async def apply_update(db: aiosqlite.Connection, op: Update) -> None:
    match op:
        case MarkSent(event_id, attempts, _, at):
            await db.execute(
                "UPDATE events SET state = CASE WHEN state = ? THEN ? ELSE ? END, attempts = MAX(attempts, ?),"
                " sent_at = COALESCE(sent_at, ?) WHERE id = ? AND state IN (?, ?)",
                (PENDING, SENT, SENT, attempts, at, event_id, PENDING, SENT))
        case MarkAcked(event_id, by, at):
            await db.execute("UPDATE events SET state = ?, acked_at = ?, acked_by = ? WHERE id = ?",
                             (ACKNOWLEDGED, at, by, event_id))
        case MarkExpired(event_id):
            await db.execute("UPDATE events SET state = ? WHERE id = ? AND state != ?",
                             (EXPIRED, event_id, ACKNOWLEDGED))
        case SaveDetectorState(name, state, at):
            await db.execute("INSERT INTO detector_state (name, state, updated_at) VALUES (?, ?, ?)"
                             " ON CONFLICT(name) DO UPDATE SET state = excluded.state,"
                             " updated_at = excluded.updated_at", (name, state, at))
        case ReserveSeq(upto, release=True):  # back to the last number used
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) ON CONFLICT(key) DO UPDATE"
                " SET value = excluded.value", (upto,))
        case ReserveSeq(upto):  # never lowers the mark
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) ON CONFLICT(key) DO UPDATE"
                " SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", (upto,))
        case _:
            assert_never(op)


async def insert_rows(db: aiosqlite.Connection, rows: list[tuple[Any, ...]],
                      refuse: Callable[[str, str, Exception], None]) -> dict[str, Exception]:
    """Insert the rows; the ones SQLite refuses for their values are left out, reported to
    `refuse(kind, id, error)` and returned (event id -> error), the others are written."""
    if not rows:
        return {}
    refused: dict[str, Exception] = {}
    try:
        await db.execute("SAVEPOINT rows")
        await db.executemany(INSERT_EVENT, rows)
        await db.execute("RELEASE rows")
    except ROW_ERRORS:  # one row's values: write them one by one, without that one
        await db.execute("ROLLBACK TO rows")
        await db.execute("RELEASE rows")
        kept = []
        for r in rows:
            try:
                await db.execute(INSERT_EVENT, r)
                kept.append(r)
            except ROW_ERRORS as exc:
                refused[str(r[0])] = exc
                refuse("insert", str(r[0]), exc)
        rows = kept
    if rows:
        await db.execute(
            "INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET"
            " value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", (max(r[1] for r in rows),))
    return refused


async def probe(db: aiosqlite.Connection) -> None:
    """A write that tests the disk, for a failed store that has nothing else to write."""
    await db.execute(
        "INSERT INTO meta (key, value) VALUES ('probed_at', ?) ON CONFLICT(key)"
        " DO UPDATE SET value = excluded.value", (str(time.time()),))


async def prune(db: aiosqlite.Connection, max_age_days: float, max_size_mb: float) -> int:
    """Delete delivered events only: acknowledged alarms and sent non-alarm events."""
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
