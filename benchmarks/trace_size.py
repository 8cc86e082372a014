"""Trace size benchmark: the 24 h home written in each format option, with write and read
speed, so the choice in docs/trace-format.md is measured (issue 25: a day <= 60 MB).

It simulates the 24 h home (simulator/scenarios/home-day.toml, as benchmarks/replay.py
does) once, in the default format, then writes the same readings again in each option:
format version 2 (one message per reading) or 3 (a window of a high-rate stream per
message, as columns), chunk compression (zstd level 3, lz4, none), chunk size, and the
live recorder's layout (a chunk closed every window, as `safehome run --record` writes).
For each it prints the file size, how much of it is message indexes (MCAP's 16 bytes per
message, never compressed), the CPU time the writer took and the CPU time a full read
(`TraceReader.readings()`, what replay decodes) takes. `--zstd19` adds what zstd level 19
would give, computed by recompressing every chunk of the default file (slow: minutes).

    python benchmarks/trace_size.py [--hours 24] [--trace EXISTING.mcap] [--zstd19]
                                    [--only v3-zstd3,v2-zstd3]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sensordata.trace import Label, TraceReader, TraceWriter  # noqa: E402
from sensordata.trace.reader import RecordedEvent  # noqa: E402

#: name: (writer options, what it is)
OPTIONS: dict[str, tuple[dict[str, object], str]] = {
    "v2-zstd3": ({"version": 2}, "v2, one message per reading, zstd 3, 1 MB chunks (before)"),
    "v3-zstd3": ({}, "v3, a window per message, zstd 3, 1 MB chunks (default)"),
    "v3-lz4": ({"compression": "lz4"}, "v3, lz4, 1 MB chunks"),
    "v3-none": ({"compression": "none"}, "v3, uncompressed, 1 MB chunks"),
    "v3-zstd3-256k": ({"chunk_size": 1 << 18}, "v3, zstd 3, 256 kB chunks"),
    "v3-zstd3-4m": ({"chunk_size": 1 << 22}, "v3, zstd 3, 4 MB chunks"),
    "v3-live": ({"flush_every_window": True}, "v3, zstd 3, a chunk per second (the recorder)"),
    "v3-live-10s": ({"flush_every_s": 10.0}, "v3, zstd 3, a chunk per 10 s (a crash loses <= 10 s)"),
    "v3-live-60s": ({"flush_every_s": 60.0}, "v3, zstd 3, a chunk per minute (a crash loses <= 60 s)"),
}


def layout(path: str) -> dict[int, int]:
    """Bytes per MCAP record opcode in the file (0x06 chunk, 0x07 message index, ...)."""
    out: dict[int, int] = {}
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 8
    while pos + 9 <= len(data) - 8:
        opcode, length = struct.unpack_from("<BQ", data, pos)
        out[opcode] = out.get(opcode, 0) + 9 + length
        pos += 9 + length
    return out


def rewrite(src: str, dst: str, options: dict[str, object]) -> float:
    """Write `src`'s readings and labels to `dst`; the CPU seconds spent in the writer
    (reading `src` not counted)."""
    reader = TraceReader(src)
    spent = 0.0
    clock = time.process_time
    with TraceWriter(dst, meta=reader.meta, **options) as w:  # type: ignore[arg-type]
        for info in reader.streams():
            w.add_stream(info)
        for window in reader.windows():
            c0 = clock()
            for item in window:
                if isinstance(item, Label):
                    w.label(item)
                elif isinstance(item, RecordedEvent):
                    w.event(item.row)
                else:
                    w.write(item)
            spent += clock() - c0
        c0 = clock()   # close() on leaving the block: the last window and the summary
    return spent + clock() - c0


def read_cpu(path: str) -> tuple[float, int, float]:
    """CPU seconds to read every reading back, the number read and the span covered."""
    c0 = time.process_time()
    n = 0
    first = last = None
    for r in TraceReader(path).readings():
        n += 1
        t = getattr(r, "t", None)
        if isinstance(t, float):
            first = t if first is None else first
            last = t
    return time.process_time() - c0, n, (last or 0.0) - (first or 0.0)


def zstd19(path: str) -> int:
    """The file's size if every chunk were compressed at zstd level 19."""
    import zstandard

    from sensordata.trace.reader import _chunk_records
    level19 = zstandard.ZstdCompressor(level=19)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 8
    while pos + 9 <= len(data) - 8:
        opcode, length = struct.unpack_from("<BQ", data, pos)
        if opcode == 0x06:
            body = data[pos + 9:pos + 9 + length]
            (n,) = struct.unpack_from("<I", body, 28)
            (old,) = struct.unpack_from("<Q", body, 32 + n)
            size += len(level19.compress(_chunk_records(body))) - old
        pos += 9 + length
    return size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--trace", help="use this trace's readings instead of simulating")
    ap.add_argument("--zstd19", action="store_true", help="also compute zstd level 19 (slow)")
    ap.add_argument("--only", help="comma-separated option names: " + ", ".join(OPTIONS))
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    src = args.trace
    if src is None:
        from simulator.engine import simulate_to
        from simulator.scenario import load_scenario
        scn = load_scenario(REPO / "simulator" / "scenarios" / "home-day.toml")
        src = os.path.join(tmp.name, "day.mcap")
        w0 = time.perf_counter()
        simulate_to(src, scn.with_days(args.hours / 24), seed=0)
        print(f"simulate: {args.hours:g} h home in {time.perf_counter() - w0:.1f} s wall; "
              f"{os.path.getsize(src) / 1e6:.1f} MB")
    names = args.only.split(",") if args.only else list(OPTIONS)
    print(f"{'option':15s} {'size MB':>8s} {'indexes':>8s} {'chunks':>8s} {'write CPU':>10s} "
          f"{'read CPU':>9s} {'read x real time':>17s}  what")
    sizes: dict[str, float] = {}
    for name in names:
        options, what = OPTIONS[name]
        dst = os.path.join(tmp.name, f"{name}.mcap")
        write_s = rewrite(src, dst, options)
        parts = layout(dst)
        read_s, n, span = read_cpu(dst)
        sizes[name] = os.path.getsize(dst) / 1e6
        print(f"{name:15s} {sizes[name]:8.1f} {parts.get(0x07, 0) / 1e6:8.1f} "
              f"{parts.get(0x06, 0) / 1e6:8.1f} {write_s:9.1f}s {read_s:8.1f}s "
              f"{span / read_s if read_s else 0:16,.0f}x  {what} ({n:,} readings)", flush=True)
        if name != "v3-zstd3":
            os.unlink(dst)
    if args.zstd19:
        if "v3-zstd3" not in sizes:
            rewrite(src, os.path.join(tmp.name, "v3-zstd3.mcap"), {})
        c0 = time.process_time()
        size = zstd19(os.path.join(tmp.name, "v3-zstd3.mcap")) / 1e6
        print(f"{'v3-zstd19':15s} {size:8.1f} {'':8s} {'':8s} {time.process_time() - c0:9.1f}s "
              f"{'':9s} {'':17s}  v3, chunks recompressed at zstd level 19 (computed, not written)")
    budget = 60.0
    if "v3-zstd3" in sizes:
        print(f"a {args.hours:g} h trace in the default format: {sizes['v3-zstd3']:.1f} MB "
              f"(budget {budget:.0f} MB: {'met' if sizes['v3-zstd3'] <= budget else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
