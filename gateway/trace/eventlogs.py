"""Reading smart-home event logs line by line: WSU CASAS text logs and Home Assistant
history CSV, plain or gzipped, with local times made absolute.

Why apart from the import: the formats and the clock are one job (what a line says and
when it happened); what the sensors are (sensormap.py) and what the trace gets
(eventimport.py) are others. Every line keeps where it came from (`file:line`) so any
later complaint can name it.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_STEP_BACK_S = 1.0   # hubs merged into one log stamp a few ms out of order, never seconds


class EventLogError(ValueError):
    """Names the file and line (or the map's line); the CLI prints it and exits 2."""


@dataclass(frozen=True)
class Line:
    """One event of the log: where it was, when (Unix seconds), which sensor, its state,
    and the annotation that followed it (empty when none)."""

    where: str
    t: float
    sensor: str
    state: str
    note: str = ""


def _open_text(path: str) -> IO[str]:
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 - wrapped and closed by the caller
    return io.TextIOWrapper(cast(IO[bytes], raw), encoding="utf-8-sig", errors="strict",
                            newline="")


def zone(name: str | None) -> ZoneInfo:
    if name is None:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise EventLogError(f"--timezone {name!r} is not an IANA time zone name "
                            "(e.g. Europe/Helsinki, America/Los_Angeles)") from None


def local_zone() -> ZoneInfo:
    """The system's time zone (the default for logs without one), UTC when unknown."""
    try:
        link = Path("/etc/localtime").resolve()
        if "zoneinfo/" in str(link):
            return ZoneInfo(str(link).split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    try:
        text = Path("/etc/timezone").read_text().strip()
        return ZoneInfo(text) if text else ZoneInfo("UTC")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Clock:
    """Local time text -> Unix seconds; the repeated hour of an autumn clock change is read
    as its second pass when the first would step back (a log written in local time)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.folds = 0

    def seconds(self, text: str, prev: float | None) -> float:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is not None:
            return when.timestamp()
        t = when.replace(tzinfo=self.tz).timestamp()
        if prev is not None and t < prev - MAX_STEP_BACK_S:
            second = when.replace(tzinfo=self.tz, fold=1).timestamp()
            if second != t and second >= prev - MAX_STEP_BACK_S:
                self.folds += 1
                return second
        return t


def casas_lines(path: str, clock: Clock, prev: list[float | None]) -> Iterator[Line]:
    """Canonical `date time<TAB>sensor<TAB>state[<TAB>annotation...]` or the same fields
    separated by spaces. `prev` carries the last time across files."""
    try:
        with _open_text(path) as fh:
            for n, raw in enumerate(fh, 1):
                text = raw.rstrip("\r\n")
                if not text.strip() or text.lstrip().startswith("#"):
                    continue
                where = f"{path}:{n}"
                if "\t" in text:
                    fields = [f.strip() for f in text.split("\t")]
                    head = fields[0].split()
                    fields = head + fields[1:] if len(head) == 2 else fields
                else:
                    fields = text.split()
                if len(fields) < 4 or not fields[2] or not fields[3]:
                    raise EventLogError(f"{where}: {text[:80]!r} is not 'date time<TAB>sensor"
                                        "<TAB>state' (CASAS); found "
                                        f"{len([f for f in fields if f])} fields")
                stamp = f"{fields[0]} {fields[1]}"
                try:
                    t = clock.seconds(stamp, prev[0])
                except ValueError:
                    raise EventLogError(f"{where}: {stamp!r} is not a date and time like "
                                        "2016-07-12 00:00:30.600670") from None
                note = " ".join(f for f in fields[4:] if f)
                yield Line(where, t, fields[2], fields[3], note)
                prev[0] = t
    except UnicodeDecodeError as exc:
        raise EventLogError(f"{path}: not UTF-8 text ({exc.reason}); convert it first, "
                            "e.g. iconv -f latin1 -t utf-8") from None


def ha_lines(path: str, clock: Clock, prev: list[float | None]) -> Iterator[Line]:
    """Home Assistant history CSV: a header with `entity_id,state,last_changed`."""
    try:
        with _open_text(path) as fh:
            rows = csv.reader(fh)
            header = [h.strip() for h in next(rows, [])]
            need = ("entity_id", "state", "last_changed")
            missing = [k for k in need if k not in header]
            if missing:
                raise EventLogError(f"{path}:1: a Home Assistant history CSV needs the columns "
                                    f"{', '.join(need)}; missing {', '.join(missing)} "
                                    f"(header: {','.join(header) or 'empty'})")
            ie, is_, it = (header.index(k) for k in need)
            for n, row in enumerate(rows, 2):
                if not row or not any(c.strip() for c in row):
                    continue
                where = f"{path}:{n}"
                if len(row) <= max(ie, is_, it):
                    raise EventLogError(f"{where}: {len(row)} fields, the header has "
                                        f"{len(header)}")
                try:
                    t = clock.seconds(row[it].strip(), prev[0])
                except ValueError:
                    raise EventLogError(f"{where}: last_changed {row[it]!r} is not an ISO "
                                        "date-time like 2024-03-02T07:15:02.123+00:00") from None
                yield Line(where, t, row[ie].strip(), row[is_].strip())
                prev[0] = t
    except UnicodeDecodeError as exc:
        raise EventLogError(f"{path}: not UTF-8 text ({exc.reason})") from None


def lines(fmt: str, paths: list[str], tz: ZoneInfo, clock: Clock) -> Iterator[Line]:
    prev: list[float | None] = [None]
    reader = casas_lines if fmt == "casas" else ha_lines
    for path in paths:
        yield from reader(path, clock, prev)
