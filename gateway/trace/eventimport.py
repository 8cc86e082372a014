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
every line is counted as written, ignored (and why) or refused. Reading the formats is
eventlogs.py; deciding what each sensor is, sensormap.py; this module writes the trace.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.trace.csvimport import _is_number
from gateway.trace.eventlogs import REORDER_S, Clock, EventLogError, Line, lines, zone
from gateway.trace.outages import OutageFinder
from gateway.trace.sensormap import (
    OFF_STATES,
    ON_STATES,
    UNAVAILABLE,
    SensorPlan,
    plan_sensors,
    read_map,
)
from sensordata.readings import Button, Contact, Motion, Presence
from sensordata.trace.model import Label
from sensordata.trace.writer import TraceWriter

__all__ = ["EventLogError", "FORMATS", "ImportReport", "import_events"]

FORMATS = ("casas", "ha-history")


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
    duplicates: int = 0
    rollovers: int = 0
    outages: list[tuple[float, float]] = field(default_factory=list)   # logger down
    tz: str = "UTC"
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
            tail.append(f"{self.stepped_back} lines up to {REORDER_S:g} s late put in time "
                        "order")
        if self.duplicates:
            tail.append(f"{self.duplicates} repeated lines (same time, sensor and state) "
                        "written once")
        if self.outages:
            tail.append(f"{len(self.outages)} logger outages (no line of any sensor, the level "
                        "sensors silent too; replayed as the gateway off): "
                        + ", ".join(f"{_local(a, self.tz)} to {_local(b, self.tz)}"
                                    for a, b in self.outages))
        if self.rollovers:
            tail.append(f"{self.rollovers} lines just after midnight dated the day before "
                        "read as the next day")
        if self.dst_folds:
            tail.append(f"{self.dst_folds} lines in the repeated hour of a daylight-saving "
                        "change read as the second pass")
        return text + "\n" + "; ".join(tail)


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
    tz = zone(timezone)
    mapped = read_map(map_path) if map_path else None
    names: dict[str, Counter[str]] = {}
    where: dict[str, str] = {}
    hints: dict[str, str] = {}
    aliases: dict[str, tuple[str, ...]] = {}
    clock = Clock(tz)
    n_lines = 0
    prev_t: float | None = None
    first_t: float | None = None
    finder = OutageFinder()
    for line in lines(fmt, paths, tz, clock):
        n_lines += 1
        finder.add(line.t, _is_number(line.state))
        prev_t = line.t if prev_t is None else max(prev_t, line.t)
        first_t = line.t if first_t is None else min(first_t, line.t)
        state = line.state
        if state.lower() in UNAVAILABLE and fmt == "ha-history":
            continue
        names.setdefault(line.sensor, Counter())[state] += 1
        where.setdefault(line.sensor, line.where)
        if line.kind_hint:
            hints.setdefault(line.sensor, line.kind_hint)
        if line.aliases:
            aliases.setdefault(line.sensor, line.aliases)
    if not n_lines:
        raise EventLogError(f"{', '.join(paths)}: no events in the file(s)")
    plans = plan_sensors(names, mapped, where, hints, aliases)
    report = ImportReport(Path(out), plans, n_lines, outages=finder.outages(), tz=tz.key)
    _check_states(fmt, paths, tz, plans)
    meta = {"generator": f"safehome trace import-events --format {fmt}",
            "source": ", ".join(Path(p).name for p in paths), "timezone": tz.key,
            "start": _iso(first_t or 0.0), "end": _iso(prev_t or 0.0),
            "gateway_config": json.dumps({"timezone": tz.key}),
            "quiet_gaps": "true",   # the logger ran: a gap is a quiet home, ...
            "logger_outages": json.dumps(report.outages)}   # ... but where it was down
    labels = _Labels()
    clock = Clock(tz)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out) + ".part")
    driver = "casas" if fmt == "casas" else "ha_history"
    with TraceWriter(tmp, meta=meta) as w:
        for p in sorted(plans.values(), key=lambda p: p.sensor):
            info = p.stream(driver)
            if info is not None:
                w.add_stream(info)
        last: float | None = None
        late = [0]
        cut: list[str] = []
        same_time: set[tuple[str, str, str]] = set()   # lines at `last`'s time
        for line in lines(fmt, paths, tz, clock, late, cut):
            key = (line.sensor, line.state, line.note)
            if line.t == last and key in same_time:
                report.duplicates += 1   # a hub that sent one message twice
                continue
            if line.t != last:
                same_time.clear()
            same_time.add(key)
            last = line.t
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
        report.rollovers = clock.rollovers
        report.stepped_back = late[0]
        if cut:
            report.ignored["a file's last line cut off mid-line: " + ", ".join(cut)] += len(cut)
    tmp.replace(out)
    return report


def _local(t: float, tz: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _iso(t: float) -> str:
    from datetime import timezone as tz_
    return datetime.fromtimestamp(t, tz_.utc).isoformat().replace("+00:00", "Z")


def _check_states(fmt: str, paths: list[str], tz: ZoneInfo, plans: dict[str, SensorPlan]) -> None:
    """Every state of a written sensor must be one the import understands."""
    for line in lines(fmt, paths, tz, Clock(tz)):
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
