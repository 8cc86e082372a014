"""Smart-home event logs (WSU CASAS, Home Assistant history) -> one trace a home replays.

Why: smart-home research recorded real homes for months in the CASAS event-log format
(`date time<TAB>sensor<TAB>state[<TAB>label...]`), and Home Assistant users can export
a sensor's history as CSV. Turning them into traces lets the home detectors meet real
homes: `safehome replay TRACE` rebuilds the home from the streams (room, kind, role).

What each log line becomes: a motion sensor's ON/OFF -> `Motion`, a door -> `Contact`
(a door not of a bedroom, bathroom or closet gets role `outer_door`), a bed sensor -> `Presence` with role `bed`,
a contact (cupboard, fridge) -> `Contact`, a light switch -> `Button` ("light_on" /
"light_off": someone is there, not an SOS), `ignore` -> counted, not written. A motion
sensor in the entrance gets role `entrance`: with no outer-door contact in the home it
stands in for the door (detectors/activity.py). Activity annotations (`Sleeping begin`
... `Sleeping end`, or one label per line) become ground-truth labels.

Rooms and kinds come from `--map MAP.csv` (`sensor,room,kind[,role]`) or, without one,
from CASAS-style names (BedroomAArea -> bedroom) and each sensor's states (OPEN/CLOSE
is a door, ON/OFF motion, numbers are a temperature or light level and are ignored);
the import returns what it decided so the CLI can show it. Bad input stops with
`EventLogError` naming file:line, the value and the fix; nothing is dropped silently:
every line is counted as written, ignored (and why) or refused.
"""

from __future__ import annotations

import csv
import json
import gzip
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.trace.csvimport import _is_number
from sensordata.readings import Button, Contact, Motion, Presence
from sensordata.trace.model import Label, StreamInfo
from sensordata.trace.writer import TraceWriter

FORMATS = ("casas", "ha-history")
KINDS = ("motion", "door", "bed", "contact", "light", "ignore")
MAX_STEP_BACK_S = 1.0   # hubs merged into one log stamp a few ms out of order, never seconds

ON_STATES = frozenset({"on", "open", "opened", "present", "detected", "true", "occupied"})
OFF_STATES = frozenset({"off", "close", "closed", "absent", "clear", "false", "unoccupied"})
#: Home Assistant writes these when a device is not reachable: not a state of the home.
UNAVAILABLE = frozenset({"unavailable", "unknown", "none", ""})

#: Name fragments (lower case, longest first) -> room id. The ids are the simulator's and
#: the detectors' defaults (bathroom, hall, ...).
ROOM_WORDS: tuple[tuple[str, str], ...] = (
    ("mainentryway", "entrance"), ("frontdoor", "entrance"), ("maindoor", "entrance"),
    ("entryway", "entrance"), ("entrance", "entrance"), ("entry", "entrance"),
    ("foyer", "entrance"), ("porch", "entrance"), ("front", "entrance"),
    ("livingroom", "living"), ("lounge", "living"), ("living", "living"), ("sofa", "living"),
    ("diningroom", "dining"), ("dining", "dining"),
    ("bedroom", "bedroom"), ("bed", "bedroom"),
    ("bathroom", "bathroom"), ("toilet", "bathroom"), ("shower", "bathroom"),
    ("bath", "bathroom"), ("wc", "bathroom"),
    ("kitchen", "kitchen"), ("fridge", "kitchen"), ("stove", "kitchen"),
    ("office", "office"), ("study", "office"), ("workarea", "office"), ("desk", "office"),
    ("hallway", "hall"), ("corridor", "hall"), ("hall", "hall"),
    ("laundry", "laundry"), ("garage", "garage"), ("closet", "closet"),
)
#: Rooms whose door is the home's outer door, and whose motion sensor stands in for it.
ENTRANCE_ROOMS = frozenset({"entrance", "entry", "entryway", "front_door", "frontdoor",
                            "foyer", "porch", "outside", "vestibule"})
#: A door of such a room is an inner door, not the way out.
INNER_ROOM_WORDS = ("bed", "bath", "toilet", "wc", "shower", "closet", "wardrobe", "cupboard",
                    "pantry", "storage")
ID_LIKE = re.compile(r"^[A-Za-z]{1,3}\d{2,4}$")   # M001, D002, T003, LS004, MA020


class EventLogError(ValueError):
    """Names the file and line (or the map's line); the CLI prints it and exits 2."""


@dataclass(frozen=True)
class SensorPlan:
    """What one sensor of the log becomes, and why (shown to the user)."""

    sensor: str
    room: str | None
    kind: str
    role: str | None = None
    why: str = ""

    def stream(self, driver: str) -> StreamInfo | None:
        reading = {"motion": "motion", "door": "contact", "contact": "contact",
                   "bed": "presence", "light": "button"}.get(self.kind)
        if reading is None:
            return None
        return StreamInfo(self.sensor, reading, driver=driver, model=self.kind,
                          room=self.room, role=self.role)


@dataclass(frozen=True)
class Line:
    """One event of the log: where it was, when (Unix seconds), which sensor, its state,
    and the annotation that followed it (empty when none)."""

    where: str
    t: float
    sensor: str
    state: str
    note: str = ""


@dataclass
class ImportReport:
    """Everything the import did, for the table on stderr and for tests."""

    out: Path
    plans: dict[str, SensorPlan]
    lines: int = 0
    written: Counter[str] = field(default_factory=Counter)          # sensor -> readings
    ignored: Counter[str] = field(default_factory=Counter)          # reason -> lines
    labels: int = 0
    stepped_back: int = 0
    dst_folds: int = 0
    first: float | None = None
    last: float | None = None

    def table(self) -> str:
        rows = [("sensor", "room", "kind", "role", "readings", "decided from")]
        for name in sorted(self.plans):
            p = self.plans[name]
            rows.append((name, p.room or "-", p.kind, p.role or "-",
                         str(self.written.get(name, 0)), p.why))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        text = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                         for r in rows)
        kept = sum(self.written.values())
        tail = [f"{self.lines} lines: {kept} readings written"]
        tail += [f"{n} ignored ({why})" for why, n in sorted(self.ignored.items())]
        tail.append(f"{self.labels} activity labels kept as ground truth")
        if self.stepped_back:
            tail.append(f"{self.stepped_back} lines up to {MAX_STEP_BACK_S:g} s before the "
                        "previous one kept as recorded")
        if self.dst_folds:
            tail.append(f"{self.dst_folds} lines in the repeated hour of a daylight-saving "
                        "change read as the second pass")
        return text + "\n" + "; ".join(tail)


# --- reading the logs ------------------------------------------------------------------

def _open_text(path: str) -> IO[str]:
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 - wrapped and closed by the caller
    return io.TextIOWrapper(cast(IO[bytes], raw), encoding="utf-8-sig", errors="strict",
                            newline="")


def _zone(name: str | None) -> ZoneInfo:
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


class _Clock:
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


def casas_lines(path: str, clock: _Clock, prev: list[float | None]) -> Iterator[Line]:
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


def ha_lines(path: str, clock: _Clock, prev: list[float | None]) -> Iterator[Line]:
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


def _lines(fmt: str, paths: list[str], tz: ZoneInfo, clock: _Clock) -> Iterator[Line]:
    prev: list[float | None] = [None]
    reader = casas_lines if fmt == "casas" else ha_lines
    for path in paths:
        yield from reader(path, clock, prev)


# --- the map and the names -------------------------------------------------------------

def read_map(path: str) -> dict[str, SensorPlan]:
    """MAP.csv: header `sensor,room,kind` (an optional `role` column: outer_door,
    entrance, bed); one line per sensor of the log."""
    plans: dict[str, SensorPlan] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise EventLogError(f"{path}: not UTF-8 text") from None
    if not rows:
        raise EventLogError(f"{path}:1: the map is empty; its header is sensor,room,kind")
    header = [h.strip().lower() for h in rows[0]]
    if header[:3] != ["sensor", "room", "kind"]:
        raise EventLogError(f"{path}:1: the header must be sensor,room,kind[,role], "
                            f"not {','.join(rows[0])!r}")
    for n, row in enumerate(rows[1:], 2):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) < 3:
            raise EventLogError(f"{path}:{n}: {','.join(row)!r} needs sensor,room,kind")
        sensor, room, kind = cells[0], cells[1] or None, cells[2].lower()
        role = cells[3] if len(cells) > 3 and cells[3] else None   # empty: the default
        if kind not in KINDS:
            raise EventLogError(f"{path}:{n}: kind {cells[2]!r} of {sensor} is not one of "
                                f"{', '.join(KINDS)}")
        if sensor in plans:
            raise EventLogError(f"{path}:{n}: sensor {sensor} is mapped twice")
        if room is None and kind != "ignore":
            raise EventLogError(f"{path}:{n}: sensor {sensor} has no room; give one (or kind "
                                "ignore)")
        room = _room_id(room) if room else None
        if role is None:
            role = _default_role(kind, room)
        elif role.lower() in ("none", "-"):
            role = None
        plans[sensor] = SensorPlan(sensor, room, kind, role, f"map {Path(path).name}:{n}")
    return plans


def _room_id(text: str) -> str:
    """A room as the config wants its id: lower case, words joined by _."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_") or "room"


def _default_role(kind: str, room: str | None) -> str | None:
    """A door is the home's outer door unless it is a bedroom's, a bathroom's or a closet's
    (CASAS homes put door contacts on the doors out: front, back, garage); a motion sensor
    in the entrance stands in for a door the home lacks."""
    if kind == "door":
        inner = room is not None and any(w in room for w in INNER_ROOM_WORDS)
        return None if inner else "outer_door"
    if kind == "motion" and room in ENTRANCE_ROOMS:
        return "entrance"
    return "bed" if kind == "bed" else None


def room_from_name(name: str) -> str | None:
    """CASAS-style names say the room: BedroomAArea -> bedroom, KitchenASink -> kitchen,
    MainEntryway -> entrance; Home Assistant entity ids likewise (binary_sensor.hall_pir)."""
    low = re.sub(r"[^a-z]", "", name.split(".", 1)[-1].lower())
    found = [(low.find(word), -len(word), room) for word, room in ROOM_WORDS if word in low]
    return min(found)[2] if found else None   # the word the name begins with wins


def _kind_from_states(name: str, states: Counter[str]) -> tuple[str, str]:
    words = {s.lower() for s in states}
    low = name.lower()
    if words and all(_is_number(s) for s in words):
        return "ignore", "numeric states (a temperature or light level)"
    if words & {"open", "opened", "close", "closed"}:
        return "door" if "window" not in low else "contact", "OPEN/CLOSE states"
    if low.startswith("light.") or "light" in low or "lamp" in low:
        return "light", "a light in its name"
    if "door" in low and low.startswith("binary_sensor."):
        return "door", "a door in its name"
    return "motion", "ON/OFF states (a motion sensor)"


def plan_sensors(names: dict[str, Counter[str]], mapped: dict[str, SensorPlan] | None,
                 where: dict[str, str]) -> dict[str, SensorPlan]:
    """Decide each sensor's room, kind and role: from the map when there is one (every
    sensor must be in it, except those whose states are only numbers, which are ignored),
    else from its name and states."""
    plans: dict[str, SensorPlan] = {}
    for name, states in names.items():
        numeric = bool(states) and all(_is_number(s) for s in states)
        if mapped is not None:
            if name in mapped:
                plans[name] = mapped[name]
                continue
            if numeric:
                plans[name] = SensorPlan(name, None, "ignore", None,
                                         "not in the map; numeric states")
                continue
            raise EventLogError(f"{where[name]}: sensor {name} is not in the map; add a line "
                                f"'{name},ROOM,KIND' (kind one of {', '.join(KINDS)})")
        kind, why = _kind_from_states(name, states)
        if kind == "ignore":
            plans[name] = SensorPlan(name, None, kind, None, why)
            continue
        room = room_from_name(name)
        if room is None:
            hint = (f"ids like {name} name no room" if ID_LIKE.match(name)
                    else f"{name} names no room this import knows")
            raise EventLogError(f"{where[name]}: {hint}; give --map MAP.csv with the header "
                                f"sensor,room,kind and a line such as '{name},bedroom,motion'")
        if name.lower().endswith("bed") and kind == "motion":
            why += "; 'Bed' in a CASAS name is a motion sensor over the bed"
        plans[name] = SensorPlan(name, room, kind, _default_role(kind, room),
                                 f"name; {why}")
    return plans


# --- writing ---------------------------------------------------------------------------

def _reading(plan: SensorPlan, t: float, on: bool) -> Any:
    if plan.kind == "motion":
        return Motion(plan.sensor, t, on)
    if plan.kind in ("door", "contact"):
        return Contact(plan.sensor, t, on)
    if plan.kind == "bed":
        return Presence(plan.sensor, t, on)
    return Button(plan.sensor, t, "light_on" if on else "light_off")


class _Labels:
    """CASAS annotations: `Name begin` ... `Name end`, or one label per line (a run of
    lines with the same label is one span)."""

    def __init__(self) -> None:
        self.open: dict[str, tuple[float, str | None]] = {}
        self.run: tuple[str, float, float, str | None] | None = None
        self.done: list[Label] = []

    def add(self, line: Line, room: str | None) -> None:
        words = line.note.split()
        if words and words[-1].lower() in ("begin", "end") and len(words) > 1:
            name = " ".join(words[:-1])
            if words[-1].lower() == "begin":
                self.open[name] = (line.t, room)
            elif name in self.open:
                t0, r0 = self.open.pop(name)
                self.done.append(_label(name, t0, line.t, r0))
            return
        if self.run is not None and (not line.note or self.run[0] != line.note):
            name, t0, t1, r0 = self.run
            self.done.append(_label(name, t0, max(t1, line.t if line.note else t1), r0))
            self.run = None
        if line.note:
            self.run = (line.note, self.run[1] if self.run else line.t, line.t,
                        self.run[3] if self.run else room)

    def finish(self, end: float) -> list[Label]:
        if self.run is not None:
            name, t0, t1, r0 = self.run
            self.done.append(_label(name, t0, t1, r0))
        for name, (t0, r0) in self.open.items():
            self.done.append(_label(name, t0, end, r0, unfinished=True))
        return sorted(self.done, key=lambda lb: lb.t)


def _label(name: str, t0: float, t1: float, room: str | None, unfinished: bool = False) -> Label:
    detail: dict[str, Any] = {"kind": "activity", "source": "annotation"}
    if unfinished:
        detail["unfinished"] = True
    return Label(t0, t1, name, room, detail=detail)


def import_events(paths: list[str], out: str | Path, *, fmt: str = "casas",
                  map_path: str | None = None, timezone: str | None = None) -> ImportReport:
    """Read the logs twice (first to learn the sensors and check every line, then to
    write), so a bad line stops the import before a trace file exists."""
    if fmt not in FORMATS:
        raise EventLogError(f"--format {fmt!r} unknown; one of {', '.join(FORMATS)}")
    tz = _zone(timezone)
    mapped = read_map(map_path) if map_path else None
    names: dict[str, Counter[str]] = {}
    where: dict[str, str] = {}
    clock = _Clock(tz)
    n_lines = 0
    prev_t: float | None = None
    first_t: float | None = None
    for line in _lines(fmt, paths, tz, clock):
        n_lines += 1
        if prev_t is not None and line.t < prev_t - MAX_STEP_BACK_S:
            raise EventLogError(
                f"{line.where}: time goes back {prev_t - line.t:.1f} s from the line before "
                "(give the files in time order; a log sorted by sensor must be sorted by "
                "time first, e.g. sort -s -k1,2)")
        prev_t = line.t if prev_t is None else max(prev_t, line.t)
        first_t = line.t if first_t is None else min(first_t, line.t)
        state = line.state
        if state.lower() in UNAVAILABLE and fmt == "ha-history":
            continue
        names.setdefault(line.sensor, Counter())[state] += 1
        where.setdefault(line.sensor, line.where)
    if not n_lines:
        raise EventLogError(f"{', '.join(paths)}: no events in the file(s)")
    plans = plan_sensors(names, mapped, where)
    report = ImportReport(Path(out), plans, n_lines)
    _check_states(fmt, paths, tz, plans)
    meta = {"generator": f"safehome trace import-events --format {fmt}",
            "source": ", ".join(Path(p).name for p in paths), "timezone": tz.key,
            "start": _iso(first_t or 0.0), "end": _iso(prev_t or 0.0),
            "gateway_config": json.dumps({"timezone": tz.key}),
            "quiet_gaps": "true"}   # the logger ran throughout: a gap is a quiet home
    labels = _Labels()
    clock = _Clock(tz)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out) + ".part")
    driver = "casas" if fmt == "casas" else "ha_history"
    with TraceWriter(tmp, meta=meta) as w:
        for p in sorted(plans.values(), key=lambda p: p.sensor):
            info = p.stream(driver)
            if info is not None:
                w.add_stream(info)
        last: float | None = None
        for line in _lines(fmt, paths, tz, clock):
            if last is not None and line.t < last:
                report.stepped_back += 1
            last = line.t if last is None else max(last, line.t)
            report.first = line.t if report.first is None else min(report.first, line.t)
            report.last = last
            if fmt == "casas":
                labels.add(line, plans[line.sensor].room)
            state = line.state.lower()
            plan = plans.get(line.sensor)
            if plan is None:   # an ha-history entity that was only ever unavailable
                report.ignored["unavailable"] += 1
                continue
            if state in UNAVAILABLE and fmt == "ha-history":
                report.ignored["unavailable or unknown (Home Assistant)"] += 1
                continue
            if plan.kind == "ignore":
                report.ignored[f"kind ignore: {plan.why}" if "numeric" in plan.why
                               else "kind ignore in the map"] += 1
                continue
            w.write(_reading(plan, line.t, state in ON_STATES))
            report.written[line.sensor] += 1
        found = labels.finish(last or 0.0)
        for lb in found:
            w.label(lb)
        report.labels = len(found)
        report.dst_folds = clock.folds
    tmp.replace(out)
    return report


def _iso(t: float) -> str:
    from datetime import timezone as tz_
    return datetime.fromtimestamp(t, tz_.utc).isoformat().replace("+00:00", "Z")


def _check_states(fmt: str, paths: list[str], tz: ZoneInfo, plans: dict[str, SensorPlan]) -> None:
    """Every state of a written sensor must be one the import understands."""
    for line in _lines(fmt, paths, tz, _Clock(tz)):
        plan = plans.get(line.sensor)
        s = line.state.lower()
        if plan is None or plan.kind == "ignore" or s in ON_STATES or s in OFF_STATES:
            continue
        if fmt == "ha-history" and s in UNAVAILABLE:
            continue
        raise EventLogError(
            f"{line.where}: state {line.state!r} of {line.sensor} ({plan.kind}) is not one of "
            f"ON/OFF, OPEN/CLOSE, PRESENT/ABSENT; map the sensor as kind ignore if it is "
            "not a binary sensor")
