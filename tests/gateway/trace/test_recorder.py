"""`safehome run --record` writes its trace off the event loop, in a task the daemon owns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.config import parse_config
from gateway.daemon import Daemon
from gateway.trace.recorder import BackgroundRecorder, Recorder, attach_recorder
from sensordata.readings import HeartRate
from sensordata.trace.reader import TraceReader

T0 = 1_790_000_000.0


def home(tmp: Path):  # type: ignore[no-untyped-def]
    return parse_config({
        "gateway_id": "gw-1", "site_id": "site-1", "rooms": [{"id": "hall"}],
        "sensors": [{"id": "band", "type": "demo", "room": "hall"}],
        "recording": {"consent": True},
        "storage": {"path": str(tmp / "e.db")},
    }, env={})


async def test_the_reading_tap_only_queues_while_a_slow_card_writes_in_a_thread(tmp_path, monkeypatch):
    rec = Recorder(home(tmp_path), tmp_path / "r.mcap")
    slow_write = rec.writer.write

    def slow(reading):  # type: ignore[no-untyped-def]
        time.sleep(0.02)  # an SD card in a bad mood
        slow_write(reading)

    monkeypatch.setattr(rec.writer, "write", slow)
    bg = BackgroundRecorder(rec)
    bg.start()
    started = time.perf_counter()
    for i in range(50):
        bg.write([HeartRate("band", T0 + i, 70)])
    tap_s = time.perf_counter() - started
    assert tap_s < 0.5, f"50 taps took {tap_s:.2f} s: the writing happened on the caller's thread"
    await asyncio.to_thread(bg.stop)
    assert rec.readings == 50 and bg.dropped == 0
    assert len(list(TraceReader(tmp_path / "r.mcap").readings())) == 50


async def test_the_recorder_task_is_owned_and_closes_the_trace_at_shutdown(tmp_path):
    daemon = Daemon(home(tmp_path))
    assert attach_recorder(daemon, str(tmp_path / "live.mcap")) is None
    assert daemon.tasks.names == ["recorder"]
    daemon.reading_taps[0]([HeartRate("band", T0, 70)])
    await asyncio.sleep(0.1)
    for t in daemon.tasks.tasks:
        t.cancel()
    await asyncio.wait_for(asyncio.gather(*daemon.tasks.tasks, return_exceptions=True), 10)
    assert len(list(TraceReader(tmp_path / "live.mcap").readings())) == 1
