"""The centre's record of received alarms: one row per alarm id, CSV or SQLite.

WHY exactly once by id, across restarts: the gateway re-sends an alarm until it is
acknowledged, and QoS 1 may duplicate any message, so copies are normal. A record
that counted copies as alarms would mislead whoever audits the service. The log keeps
its own id set (loaded from the file at start), independent of the live view, so a
restarted centre still shows an unacknowledged alarm again but never logs it twice.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any, Mapping

from gateway.events import iso

COLUMNS = ("received_at", "gateway_id", "site_id", "id", "seq", "type", "severity",
           "contact_id", "occurred_at", "attempt", "test", "text_fi", "text_sv", "text_en",
           "payload")


def row_for(payload: Mapping[str, Any], gateway_id: str, received_at: float) -> dict[str, Any]:
    text = payload.get("text") or {}
    return {
        "received_at": iso(received_at), "gateway_id": gateway_id,
        "site_id": payload.get("site_id"), "id": payload.get("id"), "seq": payload.get("seq"),
        "type": payload.get("type"), "severity": payload.get("severity"),
        "contact_id": (payload.get("code") or {}).get("contact_id"),
        "occurred_at": payload.get("occurred_at"), "attempt": payload.get("attempt"),
        "test": bool(payload.get("test")), "text_fi": text.get("fi"), "text_sv": text.get("sv"),
        "text_en": text.get("en"),
        "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    }


class AlarmLog:
    """Append-only alarm log. `.csv` -> CSV with a header; `.sqlite`/`.db` -> SQLite."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.sqlite = self.path.suffix.lower() in (".sqlite", ".sqlite3", ".db")
        if not self.sqlite and self.path.suffix.lower() != ".csv":
            raise ValueError(f"alarm log {self.path}: use a .csv or .sqlite file")
        self._ids: set[str] = set()
        if self.sqlite:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            cols = ", ".join(f"{c} TEXT" if c != "id" else "id TEXT PRIMARY KEY" for c in COLUMNS)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS alarms ({cols})")
            self._db.commit()
        else:
            if self.path.exists() and self.path.stat().st_size:
                with self.path.open(newline="", encoding="utf-8") as f:
                    self._ids = {r["id"] for r in csv.DictReader(f) if r.get("id")}
            self._file = self.path.open("a", newline="", encoding="utf-8")
            self._csv = csv.DictWriter(self._file, fieldnames=COLUMNS)
            if self._file.tell() == 0:
                self._csv.writeheader()
                self._file.flush()

    def add(self, payload: Mapping[str, Any], gateway_id: str, received_at: float) -> bool:
        """Record an alarm unless its id is already there. True when a row was written."""
        row = row_for(payload, gateway_id, received_at)
        if not row["id"] or row["id"] in self._ids:
            return False
        if self.sqlite:
            cur = self._db.execute(
                f"INSERT OR IGNORE INTO alarms ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in COLUMNS)})",
                [None if row[c] is None else str(row[c]) for c in COLUMNS])
            self._db.commit()
            written = cur.rowcount == 1
        else:
            self._csv.writerow(row)
            self._file.flush()
            written = True
        self._ids.add(row["id"])
        return written

    def rows(self) -> list[dict[str, Any]]:
        """Everything logged so far (for tests and `--once-json`)."""
        if self.sqlite:
            cur = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM alarms ORDER BY rowid")
            return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]
        self._file.flush()
        with self.path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def close(self) -> None:
        if self.sqlite:
            self._db.close()
        else:
            self._file.close()
