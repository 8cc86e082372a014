"""The bridge's durable queue: every message stays on disk until the receiver ACKs it.

WHY SQLite and a commit before sending: the bridge acknowledges an alarm to the
gateway only after the receiver's DC-09 ACK, so a bridge crash or a receiver outage must
not lose what was taken from MQTT. Rows are kept after delivery (for `prune_after`) so
that a copy of an alarm already delivered (the gateway missed our MQTT ack) is acked
again at once instead of being sent to the receiver twice.

An alarm the receiver ACKed while the broker was away owes its MQTT ack (`mqtt_acked` 0):
it is published as soon as the bridge is connected again.

Order: alarms before other events, each oldest first (by the event's `occurred_at`), so
after an outage the receiver gets the oldest alarm first.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PENDING, DELIVERED, REFUSED = "pending", "delivered", "refused"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outgoing (
    id TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL,
    is_alarm INTEGER NOT NULL,
    type TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    received_at REAL NOT NULL,
    account TEXT NOT NULL,
    data TEXT NOT NULL,
    response_topic TEXT,
    correlation BLOB,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    done_at REAL,
    problem TEXT,
    mqtt_acked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outgoing_order ON outgoing (state, is_alarm DESC, occurred_at);
"""


@dataclass(frozen=True)
class Item:
    id: str
    gateway_id: str
    is_alarm: bool
    type: str
    occurred_at: float
    account: str
    data: str                     # the ADM-CID data field, e.g. "#1234|1120 01 003"
    response_topic: str | None = None
    correlation: bytes | None = None
    attempts: int = 0


_COLS = "id, gateway_id, is_alarm, type, occurred_at, account, data, response_topic, correlation, attempts"


class Queue:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL, not FULL: with WAL it never corrupts and survives a crash of the bridge; a
        # power cut may roll back the last commits, which costs at most a second DC-09 send
        # (a delivery mark lost) or a row the gateway sends again anyway (an alarm is never
        # acked on MQTT before the receiver ACKed it, so the gateway keeps re-sending it).
        # FULL would cost an fsync per message (about 4x the bridge's delay here).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def add(self, item: Item, now: float | None = None) -> str:
        """Store a new item; for an id already there return its state (nothing changes)."""
        cur = self._db.execute(
            f"INSERT OR IGNORE INTO outgoing ({_COLS}, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (item.id, item.gateway_id, int(item.is_alarm), item.type, item.occurred_at,
             item.account, item.data, item.response_topic, item.correlation, 0,
             time.time() if now is None else now))
        if cur.rowcount == 1:
            return "new"
        return self.state(item.id) or "new"

    def state(self, item_id: str) -> str | None:
        row = self._db.execute("SELECT state FROM outgoing WHERE id = ?", (item_id,)).fetchone()
        return row[0] if row else None

    def item(self, item_id: str) -> Item | None:
        row = self._db.execute(f"SELECT {_COLS} FROM outgoing WHERE id = ?", (item_id,)).fetchone()
        return _item(row) if row else None

    def next_pending(self) -> Item | None:
        row = self._db.execute(
            f"SELECT {_COLS} FROM outgoing WHERE state = 'pending' "
            "ORDER BY is_alarm DESC, occurred_at, rowid LIMIT 1").fetchone()
        return _item(row) if row else None

    def attempted(self, item_id: str, problem: str | None = None) -> None:
        self._db.execute("UPDATE outgoing SET attempts = attempts + 1, problem = ? WHERE id = ?",
                         (problem, item_id))

    def delivered(self, item_id: str, at: float) -> None:
        self._db.execute("UPDATE outgoing SET state = 'delivered', done_at = ?, problem = NULL, "
                         "attempts = attempts + 1 WHERE id = ?", (at, item_id))

    def refused(self, item_id: str, at: float, problem: str) -> None:
        self._db.execute("UPDATE outgoing SET state = 'refused', done_at = ?, problem = ? "
                         "WHERE id = ?", (at, problem, item_id))

    def mqtt_acked(self, item_id: str) -> None:
        self._db.execute("UPDATE outgoing SET mqtt_acked = 1 WHERE id = ?", (item_id,))

    def acks_owed(self) -> list[tuple[Item, float]]:
        """Alarms the receiver ACKed whose MQTT ack could not be published yet (the broker
        was away): published on the next connect."""
        rows = self._db.execute(
            f"SELECT {_COLS}, done_at FROM outgoing WHERE state = 'delivered' AND is_alarm = 1 "
            "AND mqtt_acked = 0 ORDER BY done_at").fetchall()
        return [(_item(r[:-1]), r[-1]) for r in rows]

    def pending(self) -> int:
        return int(self._db.execute(
            "SELECT COUNT(*) FROM outgoing WHERE state = 'pending'").fetchone()[0])

    def oldest_pending_at(self) -> float | None:
        row = self._db.execute(
            "SELECT MIN(received_at) FROM outgoing WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def prune(self, older_than: float) -> int:
        """Forget delivered/refused rows finished before `older_than` (Unix seconds)."""
        cur = self._db.execute("DELETE FROM outgoing WHERE state != 'pending' AND done_at < ?",
                               (older_than,))
        return cur.rowcount

    def rows(self) -> list[dict[str, object]]:
        cur = self._db.execute("SELECT * FROM outgoing ORDER BY rowid")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        self._db.close()


def _item(row: tuple[Any, ...]) -> Item:
    return Item(row[0], row[1], bool(row[2]), row[3], row[4], row[5], row[6], row[7],
                row[8], row[9])
