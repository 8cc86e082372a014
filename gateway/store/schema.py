"""The event store's schema, its migrations and how an event becomes a row.

Why apart: the tables are the store's contract with every earlier and later gateway
version (a database outlives the code that wrote it); what is written, and how it is
encoded, changes far less often than how it is written.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

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


def _json_default(value: Any) -> Any:
    """numpy scalars (np.float32, np.int64, np.bool_) and the like: their Python value."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON serialisable")


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def row(ev: Event) -> tuple[Any, ...]:
    """The `events` row of a new event (TypeError or ValueError when it cannot be encoded)."""
    return (ev.id, ev.seq, ev.type, int(ev.is_alarm), PENDING, encode(ev.to_row()), ev.detected_at)


async def migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        (version,) = await cur.fetchone()  # type: ignore[misc]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"schema version {version} is newer than this gateway's {SCHEMA_VERSION}")
    for v in range(version, SCHEMA_VERSION):
        await db.executescript("BEGIN;" + MIGRATIONS[v] + f";PRAGMA user_version={v + 1};COMMIT;")
        log.info("event store schema migrated to version %d", v + 1)
