"""Record live readings into a trace while the gateway runs (`safehome run --record` and
`safehome record`).

Recording raw sensor data from someone's home needs their consent, so it refuses unless
the home's config says `[recording] consent = true`. Old recordings in the recording
directory are deleted after `retention_days`. The writer (trace format v3) holds one
window of readings per stream, writes each high-rate stream's window as one message and
closes an MCAP chunk every `CHUNK_S` seconds (sensor time, which is wall time live): memory
stays bounded, and a crash or SIGKILL leaves a readable file up to the last finished chunk,
losing at most the last ten seconds of recording (never an alarm: those are in SQLite).
Ten, not one: a day of one-second chunks is 109 MB, of ten-second chunks 53 MB, which an
SD card holds and wears far less (measured: benchmarks/trace_size.py, v3-live rows).

Live, the daemon's reading tap only queues: `BackgroundRecorder` writes the MCAP file in
its own thread, so a slow SD card never stalls the event loop that raises alarms, and the
daemon owns the task that stops it (flushing the file) at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from gateway.config import HomeConfig
from sensordata.trace.model import StreamInfo
from sensordata.trace.writer import TraceWriter

log = logging.getLogger("safehome.recorder")

#: Seconds of recording per MCAP chunk: what a crash can lose, against compression.
CHUNK_S = 10.0


def consent_problem(cfg: HomeConfig) -> str | None:
    if not cfg.recording.consent:
        return ("recording raw sensor data needs the resident's consent: set "
                "[recording] consent = true in the home's config")
    return None


def prune_old(directory: Path, retention_days: float, now: float | None = None) -> list[Path]:
    """Delete traces older than the retention period; returns what was deleted."""
    now = time.time() if now is None else now
    gone = []
    if directory.is_dir():
        for p in directory.glob("*.mcap"):
            try:
                if now - p.stat().st_mtime > retention_days * 86400:
                    p.unlink()
                    gone.append(p)
            except OSError:
                continue
    return gone


class Recorder:
    """Writes readings as they pass; stream metadata comes from the home's config."""

    def __init__(self, cfg: HomeConfig, path: str | os.PathLike[str]) -> None:
        self.cfg = cfg
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = TraceWriter(self.path, flush_every_s=CHUNK_S, meta={
            "generator": "safehome record", "gateway_id": cfg.gateway_id,
            "site_id": cfg.site_id, "timezone": cfg.timezone,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self._sensors = {s.id: s for s in cfg.sensors}
        self._known: set[tuple[str, str]] = set()
        self.readings = 0

    def write(self, batch: list[Any]) -> None:
        for r in batch:
            key = (r.sensor, r.kind)
            if key not in self._known:
                self._known.add(key)
                s = self._sensors.get(r.sensor)
                self.writer.add_stream(StreamInfo(
                    r.sensor, r.kind, driver=s.type if s else "unknown",
                    room=s.room if s else None, placement=s.placement if s else None,
                    role=s.role if s else None))
            self.writer.write(r)
        self.readings += len(batch)

    def tick(self) -> None:
        self.writer.tick(time.time())

    def close(self) -> None:
        self.writer.close()


class BackgroundRecorder:
    """A `Recorder` run by its own thread: `write` only queues (never blocks the caller).
    A recording is not an alarm path: when the writer falls behind by `max_pending`
    batches, or fails, readings are dropped and counted (logged once), never waited for."""

    TICK_S = 0.5

    def __init__(self, rec: Recorder, max_pending: int = 2000) -> None:
        self.rec = rec
        self._queue: queue.Queue[list[Any] | None] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name="trace-recorder", daemon=True)
        self.dropped = 0
        self.failed: str | None = None

    def start(self) -> None:
        self._thread.start()

    def write(self, batch: list[Any]) -> None:
        try:
            self._queue.put_nowait(list(batch))
        except queue.Full:
            if self.dropped == 0:
                log.warning("trace recorder falls behind; dropping readings from %s", self.rec.path)
            self.dropped += len(batch)

    def stop(self, timeout: float = 30.0) -> None:
        """Flush and close the file (blocks: call it from a thread, not the event loop)."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        last_tick = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.TICK_S)
            except queue.Empty:
                item = []
            if item is None:
                break
            try:
                if self.failed is None:
                    if item:
                        self.rec.write(item)
                    if time.monotonic() - last_tick >= self.TICK_S:
                        self.rec.tick()
                        last_tick = time.monotonic()
            except Exception as exc:  # a full card ends the recording, not the gateway
                self.failed = f"{type(exc).__name__}: {exc}"
                log.exception("trace recording to %s stopped", self.rec.path)
        try:
            self.rec.close()
        except Exception:
            log.exception("closing trace %s failed", self.rec.path)


async def _recording(bg: BackgroundRecorder) -> None:
    """Lives as long as the daemon; when cancelled at shutdown it flushes and closes the file."""
    bg.start()
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.to_thread(bg.stop)
        log.info("recorded %d readings to %s (%d dropped)", bg.rec.readings, bg.rec.path, bg.dropped)


def attach_recorder(daemon: Any, path: str) -> str | None:
    """Tap the daemon's readings into a trace; returns a problem to print, or None."""
    problem = consent_problem(daemon.cfg)
    if problem:
        return problem
    prune_old(Path(path).parent, daemon.cfg.recording.retention_days)
    bg = BackgroundRecorder(Recorder(daemon.cfg, path))
    daemon.reading_taps.append(bg.write)
    daemon.own(_recording(bg), "recorder")
    return None
