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
import heapq
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_STEP_BACK_S = 1.0   # hubs merged into one log stamp a few ms out of order: kept as is
#: Real CASAS logs merge several hubs' messages, and a few lines arrive seconds to a few
#: minutes late; lines up to this far behind the newest are put back in time order.
#: Further back is not lateness but files out of order or a clock set wrong: an error.
REORDER_S = 300.0
#: The sensor-type column some CASAS exports put after the state (`Control4-Motion`,
#: `Control4-Door`, `Control4-Temperature`): what the sensor is, not an activity label.
TYPE_COLUMN = re.compile(r"^(control4|insteon|zwave|z-wave|zigbee|x10|lutron)-[a-z0-9_]+$",
                         re.IGNORECASE)
#: Minutes after midnight in which a line dated the day before is the date rolled late.
ROLLOVER_MIN = 10
#: A first line naming the columns instead of holding an event.
HEADER = re.compile(r"^\W*(date|time|timestamp)\b.*\bsensor", re.IGNORECASE)
#: States that can only be a state (so a name before one is a second name of the sensor).
STATE_WORDS = frozenset({"on", "off", "open", "close", "opened", "closed", "present", "absent"})


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
    #: the sensor-type column when the log has one (Control4-Motion), else ""
    kind_hint: str = ""
    #: other names of the sensor written between its id and its state (a location name)
    aliases: tuple[str, ...] = ()


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
    as its second pass when the first would step back (a log written in local time); a
    line in the first minutes after midnight still dated the day before (a logger that
    rolls the date late) is read as the next day."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.folds = 0
        self.rollovers = 0

    def seconds(self, text: str, prev: float | None) -> float:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is not None:
            return when.timestamp()
        t = when.replace(tzinfo=self.tz).timestamp()
        if prev is not None and t < prev - REORDER_S:   # a late line is not the fold
            second = when.replace(tzinfo=self.tz, fold=1).timestamp()
            if second != t and second >= prev - REORDER_S:
                self.folds += 1
                return second
            if when.hour == 0 and when.minute < ROLLOVER_MIN:
                nxt = (when + timedelta(days=1)).replace(tzinfo=self.tz).timestamp()
                if prev - REORDER_S <= nxt <= prev + ROLLOVER_MIN * 60.0:
                    self.rollovers += 1
                    return nxt
        return t


def casas_lines(path: str, clock: Clock, prev: list[float | None],
                cut: list[str] | None = None) -> Iterator[Line]:
    """Canonical `date time<TAB>sensor<TAB>state[<TAB>annotation...]` or the same fields
    separated by spaces (or commas, as some conversions write them); a first line that
    is a column header is skipped, and so is an incomplete last line with no newline (a
    file cut mid-line: a month cut out of a longer log), noted in `cut`. `prev` carries
    the last time across files."""
    try:
        with _open_text(path) as fh:
            for n, raw in enumerate(fh, 1):
                text = raw.rstrip("\r\n")
                if not text.strip() or text.lstrip().startswith("#"):
                    continue
                where = f"{path}:{n}"
                if n == 1 and HEADER.match(text):
                    continue   # a column header (`Date Time Sensor Status`), not an event
                sep = "\t" if "\t" in text else "," if text.count(",") >= 2 else None
                if sep is not None:
                    fields = [f.strip() for f in text.split(sep)]
                    head = fields[0].split()
                    fields = head + fields[1:] if len(head) == 2 else fields
                else:
                    fields = text.split()
                bad = len(fields) < 4 or not fields[2] or not fields[3]
                if bad and not raw.endswith("\n") and cut is not None:
                    cut.append(where)   # the file ends inside this line
                    continue
                if bad:
                    raise EventLogError(f"{where}: {text[:80]!r} is not 'date time<TAB>sensor"
                                        "<TAB>state' (CASAS); found "
                                        f"{len([f for f in fields if f])} fields")
                stamp = f"{fields[0]} {fields[1]}"
                try:
                    t = clock.seconds(stamp, prev[0])
                except ValueError:
                    raise EventLogError(f"{where}: {stamp!r} is not a date and time like "
                                        "2016-07-12 00:00:30.600670") from None
                yield _casas_line(where, t, fields)
                prev[0] = t if prev[0] is None else max(prev[0], t)
    except UnicodeDecodeError as exc:
        raise EventLogError(f"{path}: not UTF-8 text ({exc.reason}); convert it first, "
                            "e.g. iconv -f latin1 -t utf-8") from None


def _is_state(text: str) -> bool:
    if text.lower() in STATE_WORDS:
        return True
    try:
        float(text)
        return True
    except ValueError:
        return False


def _casas_line(where: str, t: float, fields: list[str]) -> Line:
    """`sensor state [type] [label...]`, or `sensor name... state ...` where an export
    writes the sensor's location names between its id and its state: the state is then
    the first field that can only be a state (ON, OFF, OPEN, CLOSE, a number), if the
    field after the id cannot be one."""
    rest = [f for f in fields[3:]]
    aliases: tuple[str, ...] = ()
    if not _is_state(rest[0]):
        at = next((i for i, f in enumerate(rest[1:3], 1) if _is_state(f)), None)
        if at is not None and all(rest[:at]):
            aliases, rest = tuple(rest[:at]), rest[at:]
    state, tail = rest[0], [f for f in rest[1:] if f]
    hint = ""
    if tail and TYPE_COLUMN.match(tail[0]):
        hint, tail = tail[0], tail[1:]
    return Line(where, t, fields[2], state, " ".join(tail), hint, aliases)


def ordered(source: Iterable[Line], counted: list[int] | None = None) -> Iterator[Line]:
    """The lines in time order: a line up to REORDER_S behind the newest so far is put in
    its place (`counted[0]` counts them); one further back stops the import, naming it."""
    heap: list[tuple[float, int, Line]] = []
    newest: float | None = None
    for n, line in enumerate(source):
        if newest is not None and line.t < newest - MAX_STEP_BACK_S:
            if line.t < newest - REORDER_S:
                back = newest - line.t
                hint = (" An hour back: the logger kept standard time all year (no daylight "
                        "saving); give --timezone as its fixed offset, e.g. Etc/GMT+8 for "
                        "UTC-8 (the sign is reversed)." if 3000.0 <= back <= 3700.0 else "")
                raise EventLogError(
                    f"{line.where}: time goes back {back:.1f} s from the latest line "
                    f"before it (lines up to {REORDER_S:g} s late are put in order; give the "
                    "files in time order; a log sorted by sensor must be sorted by time "
                    f"first, e.g. sort -s -k1,2).{hint}")
            if counted is not None:
                counted[0] += 1
        newest = line.t if newest is None else max(newest, line.t)
        heapq.heappush(heap, (line.t, n, line))
        while heap and heap[0][0] < newest - REORDER_S:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


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
                prev[0] = t if prev[0] is None else max(prev[0], t)
    except UnicodeDecodeError as exc:
        raise EventLogError(f"{path}: not UTF-8 text ({exc.reason})") from None


def lines(fmt: str, paths: list[str], tz: ZoneInfo, clock: Clock,
          late: list[int] | None = None, cut: list[str] | None = None) -> Iterator[Line]:
    """Every line of the files, in time order (`ordered`); `cut` collects the cut-off
    last lines skipped (CASAS)."""
    def raw() -> Iterator[Line]:
        prev: list[float | None] = [None]
        for path in paths:
            if fmt == "casas":
                yield from casas_lines(path, clock, prev, cut if cut is not None else [])
            else:
                yield from ha_lines(path, clock, prev)
    return ordered(raw(), late)
