"""`safehome trace import-csv | export-csv | info | plot`: get data into and out of traces.

import-csv turns many CSV files into traces in one call; any bad file stops with an
error naming the file, line and column, and exit code 2 (files before it are written).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


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
    pl.add_argument("--start", type=float, help="seconds from the trace's first reading")
    pl.add_argument("--length", type=float, help="seconds to plot")
    pl.set_defaults(func=plot)


def import_csv(args: argparse.Namespace) -> int:
    from gateway.events import parse_iso
    from gateway.trace.csvimport import CsvError, CsvSpec, import_csv as one

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
        except CsvError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"error: {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(done.path)
        if args.time_column:
            print(f"{path}: {done.timing.describe()}", file=sys.stderr)
    return 0


def export_csv(args: argparse.Namespace) -> int:
    from gateway.trace.reader import TraceError, TraceReader

    try:
        reader = TraceReader(args.trace)
    except (OSError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[object, csv.writer]] = {}

    def writer(key: str, header: list[str]) -> "csv.writer":
        if key not in files:
            fh = open(out / (key.replace("/", "__") + ".csv"), "w", newline="")
            w = csv.writer(fh)
            w.writerow(header)
            files[key] = (fh, w)
        return files[key][1]

    try:
        for r in reader.readings():
            key = f"{r.sensor}/{r.kind}"
            if r.kind == "accel":
                w = writer(key, ["t", "x", "y", "z"])
                w.writerows([(repr(float(t)), *map(repr, map(float, xyz)))
                             for t, xyz in zip(r.t, r.xyz)])
            elif r.kind == "radar_targets":
                w = writer(key, ["t", "frame", "tid", "x", "y", "z", "vx", "vy", "vz", "height"])
                for g in r.targets or [None]:
                    w.writerow([r.t, r.frame] + ([] if g is None else [
                        g.tid, g.x, g.y, g.z, g.vx, g.vy, g.vz, g.height]))
            elif r.kind == "radar_points":
                w = writer(key, ["t", "frame", "x", "y", "z", "doppler", "snr"])
                w.writerows([[r.t, r.frame, *map(float, p)] for p in r.points])
            else:
                fields = [f for f in type(r).__slots__ if f != "sensor"]
                w = writer(key, fields)
                w.writerow([json.dumps(getattr(r, f)) if isinstance(getattr(r, f), tuple)
                            else getattr(r, f) for f in fields])
    finally:
        for fh, _ in files.values():
            fh.close()  # type: ignore[attr-defined]
    for key in sorted(files):
        print(out / (key.replace("/", "__") + ".csv"))
    if reader.damage:
        print(f"warning: {reader.damage}", file=sys.stderr)
        return 1
    return 0


def show_info(args: argparse.Namespace) -> int:
    from gateway.readings import reading_time
    from gateway.trace.reader import TraceError, TraceReader

    status = 0
    for path in args.traces:
        try:
            reader = TraceReader(path)
        except (OSError, TraceError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 2
            continue
        counts: dict[str, int] = {}
        samples: dict[str, int] = {}
        first = last = None
        labels = 0
        for item in reader.items():
            if not hasattr(item, "sensor") or not hasattr(item, "kind"):
                labels += 1
                continue
            key = f"{item.sensor}/{item.kind}"
            counts[key] = counts.get(key, 0) + 1
            if item.kind == "accel":
                samples[key] = samples.get(key, 0) + len(item)
            t = reading_time(item)
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
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
            for k in ("scenario", "seed", "start", "generator", "source"):
                if k in reader.meta:
                    print(f"  {k}: {reader.meta[k]}")
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


def plot(args: argparse.Namespace) -> int:
    from gateway.trace.plot import plot as draw
    from gateway.trace.reader import TraceError, TraceReader

    try:
        reader = TraceReader(args.trace)
    except (OSError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start = end = None
    if args.start is not None or args.length is not None:
        first = next(iter(reader.readings()), None)
        from gateway.readings import reading_time
        t0 = reading_time(first) if first is not None else 0.0
        start = t0 + (args.start or 0.0)
        end = start + args.length if args.length is not None else None
    events = []
    if not args.no_detect:
        from gateway.trace.replay import replay
        cfg = None
        if args.config:
            from gateway.commands.common import load_or_exit
            cfg = load_or_exit(args.config)
            if isinstance(cfg, int):
                return cfg
        events = replay(args.trace, cfg, start=start, end=end).events
    try:
        n = draw(args.trace, args.output, events, start, end)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: {n} streams, {len(events)} detected events")
    return 0
