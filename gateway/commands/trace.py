"""`safehome trace import-csv | import-events | export-csv | info | plot`: get data into and out of traces.

import-csv turns many CSV files into traces in one call; any bad file stops with an
error naming the file, line and column, and exit code 2 (files before it are written).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gateway.commands.common import duration_arg

if TYPE_CHECKING:
    from gateway.config import HomeConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help="import, export, inspect and plot trace files")
    ts = p.add_subparsers(dest="trace_command", required=True, metavar="ACTION")

    imp = ts.add_parser("import-csv", help="CSV files of accelerometer samples -> traces")
    imp.add_argument("csv", nargs="+", metavar="CSV")
    imp.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for traces")
    imp.add_argument("--kind", default="accelerometer", choices=["accelerometer"])
    clock = imp.add_argument_group("clock (one of)")
    clock.add_argument("--rate", type=float, help="samples per second")
    clock.add_argument("--time-column", help="column holding each sample's time")
    imp.add_argument("--time-unit", default="s", choices=["s", "ms", "us"])
    imp.add_argument("--unit", required=True, choices=["g", "m/s2", "mg"])
    imp.add_argument("--columns", required=True, help="x,y,z column names (or 1-based numbers)")
    imp.add_argument("--placement", choices=["waist", "wrist", "chest", "pendant", "ankle",
                                             "pocket"])
    imp.add_argument("--start", help="ISO time of the first sample when the file has no clock")
    imp.set_defaults(func=import_csv)

    ev = ts.add_parser("import-events", help="smart-home event logs (CASAS, Home Assistant "
                       "history) -> one trace of the home")
    ev.add_argument("logs", nargs="+", metavar="FILE", help="event logs in time order "
                    "(.gz too)")
    ev.add_argument("-o", "--output", required=True, metavar="TRACE")
    ev.add_argument("--format", default="casas", choices=["casas", "ha-history"])
    ev.add_argument("--map", metavar="MAP.csv", help="sensor,room,kind[,role] per sensor "
                    "(kind: motion, door, bed, contact, light, ignore)")
    ev.add_argument("--timezone", help="IANA zone of times without one (default: the "
                    "system's)")
    ev.set_defaults(func=import_events)

    exp = ts.add_parser("export-csv", help="a trace's streams -> one CSV per stream")
    exp.add_argument("trace")
    exp.add_argument("-o", "--output", required=True, metavar="DIR")
    exp.set_defaults(func=export_csv)

    info = ts.add_parser("info", help="what a trace holds")
    info.add_argument("traces", nargs="+", metavar="TRACE")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=show_info)

    pl = ts.add_parser("plot", help="plot signals, ground truth and detected events to PNG")
    pl.add_argument("trace")
    pl.add_argument("-o", "--output", required=True, metavar="PNG")
    pl.add_argument("--config", help="home config for detection (default: from the trace)")
    pl.add_argument("--no-detect", action="store_true", help="do not replay the detectors")
    pl.add_argument("--start", help="where to begin: the home's local time (14:30, "
                    "2026-03-02T14:30) or an offset from the first reading (90s, 2h, 3600)")
    pl.add_argument("--length", type=duration_arg, help="how much to plot, e.g. 90s, 10m, 2h")
    pl.set_defaults(func=plot)


def import_csv(args: argparse.Namespace) -> int:
    from gateway.trace.csvimport import CsvError, CsvSpec
    from gateway.trace.csvimport import import_csv as one
    from sensordata.timefmt import parse_iso

    if args.rate is None and args.time_column is None:
        print("import-csv: give --rate HZ or --time-column NAME", file=sys.stderr)
        return 2
    try:
        start = parse_iso(args.start) if args.start else 946684800.0
    except ValueError:
        print(f"--start {args.start!r} is not an ISO date-time", file=sys.stderr)
        return 2
    spec = CsvSpec(kind=args.kind, columns=tuple(c.strip() for c in args.columns.split(",")),
                   unit=args.unit, rate=args.rate, time_column=args.time_column,
                   time_unit=args.time_unit, placement=args.placement, start=start)
    for path in args.csv:
        try:
            done = one(path, args.output, spec)
        except (CsvError, OSError) as exc:
            return _failed(exc, path)
        print(done.path)
        if args.time_column:
            print(f"{path}: {done.timing.describe()}", file=sys.stderr)
    return 0


def _failed(exc: Exception, path: str | None) -> int:
    """An import error (its message names file and line) or a file that cannot be read."""
    if isinstance(exc, OSError):
        print(f"error: {path or exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
    return 2


def import_events(args: argparse.Namespace) -> int:
    from gateway.trace.eventimport import EventLogError
    from gateway.trace.eventimport import import_events as run

    try:
        report = run(args.logs, args.output, fmt=args.format, map_path=args.map,
                     timezone=args.timezone)
    except (EventLogError, OSError) as exc:
        return _failed(exc, None)
    print(report.table(), file=sys.stderr)
    print(report.out)
    return 0


def export_csv(args: argparse.Namespace) -> int:
    from sensordata.readings import AccelBlock, RadarPoints, RadarTargets
    from sensordata.trace.reader import TraceError, TraceReader

    try:
        reader = TraceReader(args.trace)
    except (OSError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[IO[str], Any]] = {}

    def writer(key: str, header: list[str]) -> Any:  # a csv writer (its type is private)
        if key not in files:
            fh = open(out / (key.replace("/", "__") + ".csv"), "w", newline="")  # noqa: SIM115 - closed at the end
            w = csv.writer(fh)
            w.writerow(header)
            files[key] = (fh, w)
        return files[key][1]

    try:
        for r in reader.readings():
            key = f"{r.sensor}/{r.kind}"
            if isinstance(r, AccelBlock):
                w = writer(key, ["t", "x", "y", "z"])
                w.writerows([(repr(float(t)), *map(repr, map(float, xyz)))
                             for t, xyz in zip(r.t, r.xyz, strict=True)])
            elif isinstance(r, RadarTargets):
                w = writer(key, ["t", "frame", "tid", "x", "y", "z", "vx", "vy", "vz", "height"])
                for g in r.targets or [None]:
                    w.writerow([r.t, r.frame] + ([] if g is None else [
                        g.tid, g.x, g.y, g.z, g.vx, g.vy, g.vz, g.height]))
            elif isinstance(r, RadarPoints):
                w = writer(key, ["t", "frame", "x", "y", "z", "doppler", "snr"])
                w.writerows([[r.t, r.frame, *map(float, p)] for p in r.points])
            else:
                fields = [f for f in type(r).__slots__ if f != "sensor"]
                w = writer(key, fields)
                w.writerow([json.dumps(getattr(r, f)) if isinstance(getattr(r, f), tuple)
                            else getattr(r, f) for f in fields])
    finally:
        for fh, _ in files.values():
            fh.close()
    for key in sorted(files):
        print(out / (key.replace("/", "__") + ".csv"))
    if reader.damage:
        print(f"warning: {reader.damage}", file=sys.stderr)
        return 1
    return 0


InfoCounts = tuple[dict[str, int], dict[str, int], "float | None", "float | None", int]


def _counts_from_summary(reader: Any) -> InfoCounts | None:
    """Counts from the MCAP summary, in milliseconds: in version 2 one message is one
    reading (one accelerometer sample), version 3 writes its counts as metadata
    (`TraceReader.counts`). None when the file has no summary (cut short, still
    recording) or is version 1 (batches: counting needs reading)."""
    from sensordata.trace.writer import EVENT_TOPIC, LABEL_TOPIC

    summary = reader.summary()
    per_topic = reader.counts()
    if per_topic is None or summary is None or summary.statistics is None:
        return None
    stats = summary.statistics
    counts: dict[str, int] = {}
    samples: dict[str, int] = {}
    labels = 0
    for ch_id, ch in summary.channels.items():
        if ch.topic == LABEL_TOPIC:
            labels = stats.channel_message_counts.get(ch_id, 0)
        elif ch.topic != EVENT_TOPIC:
            counts[ch.topic] = n = per_topic.get(ch.topic, 0)
            if ch.metadata.get("kind") == "accel":
                samples[ch.topic] = n
    if not stats.message_count:
        return counts, samples, None, None, labels
    return (counts, samples, stats.message_start_time / 1e9, stats.message_end_time / 1e9,
            labels)


def _counts_by_reading(reader: Any) -> InfoCounts:
    """Counts by reading the whole file (version 1, or no summary), with a progress bar."""
    from gateway.commands.common import progress
    from sensordata.readings import AccelBlock, reading_time
    from sensordata.trace.model import Label
    from sensordata.trace.reader import RecordedEvent

    counts: dict[str, int] = {}
    samples: dict[str, int] = {}
    first = last = None
    labels = 0
    span = reader.span()
    origin = span[0] if span else 0.0
    with progress(f"reading {reader.name}", (span[1] - span[0]) / 3600 if span else None) as update:
        for n, item in enumerate(reader.items()):
            if isinstance(item, (Label, RecordedEvent)):
                labels += 1
                continue
            key = f"{item.sensor}/{item.kind}"
            counts[key] = counts.get(key, 0) + 1
            if isinstance(item, AccelBlock):
                samples[key] = samples.get(key, 0) + len(item)
            t = reading_time(item)
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
            if n % 8192 == 0:
                update((t - origin) / 3600)
    return counts, samples, first, last, labels


def show_info(args: argparse.Namespace) -> int:
    from sensordata.trace.reader import TraceError, TraceReader

    status = 0
    for path in args.traces:
        try:
            reader = TraceReader(path)
        except (OSError, TraceError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 2
            continue
        fast = _counts_from_summary(reader)
        if fast is not None:   # a finished version 2 or 3 file: its summary counts every reading
            counts, samples, first, last, labels = fast
        else:
            counts, samples, first, last, labels = _counts_by_reading(reader)
        streams = [s.to_metadata() for s in reader.streams()]
        for s in streams:
            key = f"{s['sensor']}/{s['kind']}"
            s["readings"] = str(counts.get(key, 0))
            if key in samples:
                s["samples"] = str(samples[key])
        info = {"trace": reader.name, "path": path, "bytes": Path(path).stat().st_size,
                "meta": reader.meta, "first": first, "last": last, "labels": labels,
                "streams": streams, "damage": str(reader.damage) if reader.damage else None}
        if args.json:
            print(json.dumps(info, ensure_ascii=False))
        else:
            span = (last - first) / 3600 if first is not None and last is not None else 0
            print(f"{reader.name}: {info['bytes'] / 1e6:.1f} MB, {span:.2f} h, "
                  f"format {reader.meta.get('format', '?')} v{reader.meta.get('version', '?')}")
            for k in ("scenario", "seed", "generator", "source"):
                if k in reader.meta:
                    print(f"  {k}: {reader.meta[k]}")
            if first is not None and last is not None:
                from sensordata.trace.model import local_time
                print(f"  from {local_time(first, reader.timezone)} "
                      f"to {local_time(last, reader.timezone)}")
            for s in streams:
                extra = ", ".join(f"{k}={s[k]}" for k in ("driver", "model", "room", "placement",
                                                          "rate_hz", "units") if s.get(k))
                print(f"  {s['sensor']}/{s['kind']}: {s['readings']} readings"
                      + (f" ({s['samples']} samples)" if "samples" in s else "") + f"; {extra}")
            print(f"  labels: {labels}")
        if reader.damage:
            print(f"warning: {reader.damage}", file=sys.stderr)
            status = max(status, 1)
    return status


def start_time(text: str, first: float, timezone: str | None) -> float:
    """`trace plot --start`: a local clock time (14:30, on the first reading's day, or the
    next day when that is before the first reading), a local date and time
    (2026-03-02T14:30, an explicit offset wins), or an offset from the first reading
    (90s, 2h, or plain seconds). ValueError names what was expected."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from simulator.scenario import ScenarioError, parse_duration

    tz = ZoneInfo(timezone or "UTC")
    text = text.strip()
    try:
        return first + float(text)
    except ValueError:
        pass
    if ":" in text and "T" not in text and "-" not in text:
        try:
            clock = datetime.strptime(text, "%H:%M:%S" if text.count(":") == 2 else "%H:%M")
        except ValueError:
            raise ValueError(f"--start {text!r}: not a time like 14:30 or 14:30:05") from None
        day = datetime.fromtimestamp(first, tz)
        at = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second,
                         microsecond=0)
        if at.timestamp() < first:
            at += timedelta(days=1)
        return at.timestamp()
    try:
        when = datetime.fromisoformat(text)
        return (when if when.tzinfo else when.replace(tzinfo=tz)).timestamp()
    except ValueError:
        pass
    try:
        return first + parse_duration(text, "--start")
    except ScenarioError:
        raise ValueError(f"--start {text!r}: give a local time (14:30, 2026-03-02T14:30) or "
                         "an offset from the first reading (90s, 2h)") from None


def plot(args: argparse.Namespace) -> int:
    import importlib.util

    from gateway.commands.common import progress
    from sensordata.trace.reader import TraceError, TraceReader

    if importlib.util.find_spec("matplotlib") is None:   # before any work, not after it
        print("error: trace plot needs matplotlib: pip install 'safehome[plot]' "
              "(or apt install python3-matplotlib)", file=sys.stderr)
        return 2
    from gateway.trace.plot import plot as draw

    try:
        reader = TraceReader(args.trace)
    except (OSError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    span = reader.span()
    start = end = None
    if args.start is not None or args.length is not None:
        if span is None:
            from sensordata.readings import reading_time
            first_reading = next(iter(reader.readings()), None)
            first = reading_time(first_reading) if first_reading is not None else 0.0
        else:
            first = span[0]
        try:
            start = start_time(args.start, first, reader.timezone) if args.start else first
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        end = start + args.length if args.length is not None else None
    lo = start if start is not None else (span[0] if span else 0.0)
    hi = end if end is not None else (span[1] if span else None)
    total = (hi - lo) / 3600 if hi is not None else None
    events = []
    if not args.no_detect:
        from gateway.trace.replay import replay
        cfg: HomeConfig | None = None
        if args.config:
            from gateway.commands.common import load_or_exit
            loaded = load_or_exit(args.config)
            if isinstance(loaded, int):
                return loaded
            cfg = loaded
        with progress("detecting", total) as update:
            events = replay(args.trace, cfg, start=start, end=end,
                            progress=lambda t: update((t - lo) / 3600)).events
    try:
        with progress("plotting", total) as update:
            n = draw(args.trace, args.output, events, start, end,
                     progress=lambda t: update((t - lo) / 3600))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: {n} streams, {len(events)} detected events")
    return 0
