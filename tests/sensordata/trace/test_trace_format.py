"""The trace format keeps every reading exactly, survives truncation, corruption and a
killed writer, and seeks by time."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sensordata.readings import (
    AccelBlock,
    Availability,
    Battery,
    Button,
    Contact,
    FallFlag,
    HeartRate,
    LinkQuality,
    Motion,
    Presence,
    RadarPoints,
    RadarTargets,
    Target,
    reading_time,
)
from sensordata.trace import Label, StreamInfo, TraceReader, TraceWriter

T0 = 1_772_400_000.0
REPO = Path(__file__).resolve().parents[3]


def same(a, b) -> bool:
    """Readings are equal field by field: values exactly, regular sample times to the
    microsecond the format promises (docs/trace-format.md)."""
    if type(a) is not type(b):
        return False
    for name in type(a).__slots__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(a, AccelBlock) and name == "t":
            if x.shape != y.shape or np.max(np.abs(x - y), initial=0) > 1e-6:
                return False
        elif isinstance(x, np.ndarray):
            if x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def every_kind(t: float) -> list:
    rng = np.random.default_rng(1)
    regular = t + np.arange(50) / 50.0
    return [
        AccelBlock("w", regular, np.round(rng.normal(0, 1, (50, 3)) * 2048) / 2048),  # int16 grid
        AccelBlock("w32", regular, rng.normal(0, 1, (50, 3)).astype(np.float32).astype(float)),
        AccelBlock("w64", t + np.sort(rng.uniform(0, 1, 20)), rng.normal(0, 1, (20, 3))),
        HeartRate("hr", t + 0.1, 72, (0.81, 0.83), True),
        HeartRate("hr", t + 0.2, 0, (), None),
        Motion("pir", t + 0.3, True),
        Contact("door", t + 0.4, False),
        Button("btn", t + 0.5, "sos"),
        Presence("ld", t + 0.6, True, False, 1.25),
        Presence("ld", t + 0.61, False),
        RadarTargets("radar", t + 0.7, 12, (Target(3, 1.5, 2.25, 0.5, 0.25, -0.5, 0.0, 1.625),
                                            Target(4, -1.0, 3.0, 0.75, 0.0, 0.0, -2.5, None))),
        RadarTargets("radar", t + 0.8, 13),
        RadarTargets("tracker", t + 0.75, 5, (Target(70000, float(np.float32(1.2345678)),
                                                      float(np.float32(0.1)), 0.0),)),
        RadarPoints("radar", t + 0.7, 12, rng.normal(0, 1, (7, 5)).astype(np.float32)),
        RadarPoints("radar", t + 0.8, 13),
        FallFlag("seeed", t + 0.85, True),
        Battery("w", t + 0.9, 87.5, False),
        Battery("w", t + 0.91, None, True),
        LinkQuality("w", t + 0.92, -71.0, None),
        LinkQuality("zb", t + 0.93, None, 120),
        Availability("zb", t + 0.94, False),
    ]


@pytest.mark.parametrize("version", [2, 3])
def test_every_reading_type_round_trips_exactly(tmp_path: Path, version: int) -> None:
    written = every_kind(T0)
    path = tmp_path / "all.mcap"
    with TraceWriter(path, meta={"purpose": "test"}, version=version) as w:
        w.add_stream(StreamInfo("w", "accel", driver="polar_pmd", model="Verity Sense",
                                placement="wrist", rate_hz=50.0))
        for r in written:
            w.write(r)
        w.label(Label(T0 + 0.5, T0 + 9, "fall", "bathroom", None, ("fall",), {"kind": "incident"}))
    reader = TraceReader(path)
    got = [r for r in reader.readings()]
    assert reader.damage is None
    assert len(got) == len(written)
    for r in written:  # order across streams is by time; every reading is there exactly once
        assert sum(same(r, g) for g in got) == 1, r
    assert reader.meta["purpose"] == "test" and reader.meta["version"] == str(version)
    info = {(s.sensor, s.kind): s for s in reader.streams()}
    assert info[("w", "accel")].placement == "wrist"
    assert info[("w", "accel")].rate_hz == 50.0
    assert info[("w", "accel")].axes == ("x", "y", "z")
    assert info[("w", "accel")].units == "g"
    assert reader.labels() == [Label(T0 + 0.5, T0 + 9, "fall", "bathroom", None, ("fall",),
                                     {"kind": "incident"})]


def test_readings_come_back_in_time_order_across_streams(tmp_path: Path) -> None:
    path = tmp_path / "order.mcap"
    with TraceWriter(path) as w:
        for i in range(40):
            w.write(RadarTargets("r", T0 + i * 0.1, i))
            if i % 10 == 9:
                w.write(Motion("pir", T0 + i * 0.1 - 0.05, True))
    times = [reading_time(r) for r in TraceReader(path).readings()]
    assert times == sorted(times)
    assert len(times) == 44


def write_long(path: Path, seconds: int, flush: bool = True) -> list:
    out = []
    with TraceWriter(path, flush_every_window=flush) as w:
        for s in range(seconds):
            for r in (AccelBlock("w", T0 + s + np.arange(25) / 25, np.full((25, 3), 0.5)),
                      HeartRate("w", T0 + s + 0.5, 60 + s % 30)):
                w.write(r)
                out.append(r)
    return out


def test_truncated_trace_replays_up_to_the_cut_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "full.mcap"
    written = write_long(path, 120)
    data = path.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) // 2])
    reader = TraceReader(cut)
    got = list(reader.readings())
    assert 0 < len(got) < len(written)
    expected = sorted(written, key=reading_time)   # within a window, by sensor time
    assert all(same(a, b) for a, b in zip(got, expected, strict=False))   # a prefix, intact
    assert reader.damage is not None
    assert "truncated" in reader.damage.reason
    assert 0 < reader.damage.offset <= len(data) // 2
    assert reader.damage.last_time == pytest.approx(reading_time(got[-1]), abs=1.0)

    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "replay", str(cut)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 1
    assert "stopped at byte" in proc.stderr and "truncated" in proc.stderr


def _chunk_payload_near(data: bytes, at: int) -> int:
    """The middle of the compressed records of the first chunk that ends after `at`."""
    pos = 8
    while pos < len(data):
        opcode, length = struct.unpack_from("<BQ", data, pos)
        if opcode == 0x06 and pos + 9 + length > at:
            (n,) = struct.unpack_from("<I", data, pos + 9 + 28)        # compression's length
            (size,) = struct.unpack_from("<Q", data, pos + 9 + 32 + n)  # records' length
            return pos + 9 + 40 + n + size // 2
        pos += 9 + length
    raise AssertionError("no chunk after the middle")


def test_corrupt_chunk_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "ok.mcap"
    written = write_long(path, 60)
    data = bytearray(path.read_bytes())
    mid = _chunk_payload_near(bytes(data), len(data) // 2)
    data[mid:mid + 16] = bytes(16)       # zero 16 bytes inside that chunk's payload
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    reader = TraceReader(bad)
    got = list(reader.readings())
    assert reader.damage is not None
    assert len(got) < len(written)
    # readings after the damaged chunk are still delivered
    assert reading_time(got[-1]) > reading_time(written[len(written) // 2])


def test_not_a_trace_is_refused(tmp_path: Path) -> None:
    from sensordata.trace import TraceError
    p = tmp_path / "x.mcap"
    p.write_text("hello")
    with pytest.raises(TraceError):
        TraceReader(p)


def test_seek_by_time_returns_only_that_span(tmp_path: Path) -> None:
    path = tmp_path / "seek.mcap"
    write_long(path, 300, flush=False)
    got = list(TraceReader(path).readings(start=T0 + 100, end=T0 + 110))
    times = [reading_time(r) for r in got]
    assert times and min(times) >= T0 + 100 and max(times) <= T0 + 110
    assert len(got) == 20


WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from sensordata.readings import AccelBlock
    from sensordata.trace import TraceWriter
    w = TraceWriter(sys.argv[1], flush_every_window=True)
    while True:
        now = time.time()
        w.write(AccelBlock("w", now - 0.04 + np.arange(2) * 0.02, np.zeros((2, 3))))
        w.tick(now)
        print(repr(now), flush=True)
        time.sleep(0.05)
""")


def test_killed_writer_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "live.mcap"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    printed: list[float] = []
    start = time.monotonic()
    while time.monotonic() - start < 3.5:
        line = proc.stdout.readline()
        if line:
            printed.append(float(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    printed += [float(x) for x in proc.stdout.read().split()]
    reader = TraceReader(path)
    got = list(reader.readings())
    assert got, "nothing readable after the kill"
    last_written = printed[-1]
    assert reading_time(got[-1]) >= last_written - 1.0 - 0.1
    assert reader.damage is not None   # no summary: the reader says the file ends early
    assert reader.version == 3


def test_a_chunk_every_n_seconds_leaves_all_but_the_open_chunk_on_disk(tmp_path: Path) -> None:
    """`flush_every_s`: a live recording that trades up to N seconds lost on a crash for
    better compression than a chunk per second (benchmarks/trace_size.py)."""
    path = tmp_path / "live.mcap"
    w = TraceWriter(path, flush_every_s=10.0)
    for s in range(35):
        w.write(AccelBlock("w", T0 + s + np.arange(5) / 5, np.full((5, 3), s / 8)))
    w._fh.flush()   # what a SIGKILL leaves: the finished chunks, not the open one
    reader = TraceReader(path)
    got = list(reader.readings())
    assert [float(b.xyz[0, 0]) * 8 for b in got] == list(range(30))
    assert reader.damage is not None
    w.tick(T0 + 41.0)   # quiet sensors (the recorder ticks twice a second): the open
    w.tick(T0 + 42.0)   # chunk still reaches the disk when due
    w._fh.flush()
    assert len(list(TraceReader(path).readings())) == 35
    w.close()
    assert len(list(TraceReader(path).readings())) == 35

def test_seeking_through_the_index_matches_a_full_scan(tmp_path: Path) -> None:
    path = tmp_path / "many-chunks.mcap"
    with TraceWriter(path, chunk_size=4096) as w:   # small chunks: the index matters
        for s in range(600):
            w.write(AccelBlock("w", T0 + s + np.arange(10) / 10, np.full((10, 3), s / 1024)))
            w.write(Motion("pir", T0 + s + 0.25, s % 2 == 0))
    reader = TraceReader(path)
    a, b = T0 + 333.3, T0 + 345.0
    seek = list(reader.readings(start=a, end=b))
    scan = [r for r in reader.readings() if a <= reading_time(r) <= b]
    assert len(seek) == len(scan) == 23   # 12 blocks ending 333.9..344.9, 11 motions
    assert all(same(x, y) for x, y in zip(seek, scan, strict=True))
