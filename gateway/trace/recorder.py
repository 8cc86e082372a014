"""Record live readings into a trace while the gateway runs (`safehome run --record` and
`safehome record`).

Recording raw sensor data from someone's home needs their consent, so it refuses unless
the home's config says `[recording] consent = true`. Old recordings in the recording
directory are deleted after `retention_days`. The writer closes an MCAP chunk every
second (sensor time, which is wall time live), so a crash loses at most about a second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from gateway.config import HomeConfig
from sensordata.trace.model import StreamInfo
from sensordata.trace.writer import TraceWriter

log = logging.getLogger("safehome.recorder")


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
        self.writer = TraceWriter(self.path, flush_every_window=True, meta={
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


async def _ticker(rec: Recorder) -> None:
    try:
        while True:
            await asyncio.sleep(0.5)
            rec.tick()
    finally:
        rec.close()
        log.info("recorded %d readings to %s", rec.readings, rec.path)


def attach_recorder(daemon: Any, path: str) -> str | None:
    """Tap the daemon's readings into a trace; returns a problem to print, or None."""
    problem = consent_problem(daemon.cfg)
    if problem:
        return problem
    prune_old(Path(path).parent, daemon.cfg.recording.retention_days)
    rec = Recorder(daemon.cfg, path)
    daemon.reading_taps.append(rec.write)
    asyncio.get_running_loop().create_task(_ticker(rec), name="recorder")
    return None
