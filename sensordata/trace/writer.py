"""Write a trace: readings of many sensors, their metadata and ground truth in one MCAP file.

Format version 3 (docs/trace-format.md): readings are buffered per stream for one *window*
(1 s of sensor time by default) and written when the window closes. The high-rate kinds
(accelerometer, radar) go as one message per stream and window holding the window's
readings as columns (batches.py); the others as one JSON message per reading, its log time
the reading's own sensor time (messages.py). Every message of a window carries the
window's start as its publish time: the reader groups by it to restore the arrival order
within a window cheaply. `version=2` still writes the previous layout (one message per
reading; the size and speed comparison in benchmarks/trace_size.py needs it).

While recording live, `flush_every_window=True` closes an MCAP chunk at every window so a
crash or power cut loses at most the window in progress (about a second), and
`flush_every_s=N` every N seconds of sensor time (the recorder: a day of one-second chunks
compresses to 109 MB, of ten-second chunks to 53 MB; benchmarks/trace_size.py); offline
writers (the simulator) let chunks grow to `chunk_size` for better compression.
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, Any, Mapping

import numpy as np
from mcap.writer import CompressionType

import sensordata.trace.batches as batches  # the module, not the package's lazy exports: no circle through __init__
import sensordata.trace.messages as messages
from sensordata.readings import AccelBlock, Reading, reading_time
from sensordata.trace.mcap_batch import BatchWriter
from sensordata.trace.model import COUNTS_METADATA, FILE_METADATA, FORMAT_VERSION, PROFILE, Label, StreamInfo

LABEL_TOPIC = "labels"
EVENT_TOPIC = "events"

_LABEL_SCHEMA = json.dumps({
    "type": "object", "title": "safehome ground-truth label",
    "properties": {"t": {"type": "number"}, "end": {"type": "number"},
                   "what": {"type": "string"}, "room": {"type": ["string", "null"]},
                   "sensor": {"type": ["string", "null"]},
                   "expect": {"type": "array", "items": {"type": "string"}},
                   "detail": {"type": "object"}},
    "required": ["t", "end", "what"],
}).encode()
_EVENT_SCHEMA = json.dumps({
    "type": "object", "title": "safehome event a gateway detected (a store row)",
    "properties": {"occurred_at": {"type": "number"}, "type": {"type": "string"},
                   "severity": {"type": "string"}, "room": {"type": ["string", "null"]},
                   "sensor": {"type": ["string", "null"]}},
}).encode()


def _ns(t: float) -> int:
    return max(0, int(round(t * 1e9))) if math.isfinite(t) else 0


def _batch(kind: str, buf: list[Reading]) -> bytes | None:
    """One version 3 message holding a stream's readings of one window as columns."""
    if kind == "accel":
        blocks: list[AccelBlock] = buf  # type: ignore[assignment]
        if not any(len(b.t) for b in blocks):
            return None
        xyz = np.concatenate([np.asarray(b.xyz, dtype=np.float64).reshape(-1, 3) for b in blocks])
        fields: dict[str, np.ndarray | float] = batches.times(
            np.concatenate([np.asarray(b.t, dtype=np.float64) for b in blocks]))
        fields.update(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2])
        return batches.encode(kind, fields)
    frames: list[Any] = buf
    fields = batches.times(np.array([f.t for f in frames], dtype=np.float64))
    fields["frame"] = np.array([f.frame for f in frames], dtype=np.uint32)
    if kind == "radar_targets":
        fields["count"] = np.array([len(f.targets) for f in frames], dtype=np.uint32)
        tg = [g for f in frames for g in f.targets]
        fields["tid"] = np.array([g.tid for g in tg], dtype=np.uint32)
        vals = np.array([(g.x, g.y, g.z, g.vx, g.vy, g.vz, math.nan if g.height is None
                          else g.height) for g in tg], dtype=np.float64).reshape(-1, 7)
        for k, name in enumerate(("x", "y", "z", "vx", "vy", "vz", "height")):
            fields[name] = vals[:, k]
    else:
        pts = [np.asarray(f.points, dtype=np.float32).reshape(-1, 5) for f in frames]
        fields["count"] = np.array([len(p) for p in pts], dtype=np.uint32)
        allp = np.concatenate(pts) if pts else np.zeros((0, 5), np.float32)
        for k, name in enumerate(("x", "y", "z", "doppler", "snr")):
            fields[name] = allp[:, k]
    return batches.encode(kind, fields)


class TraceWriter:
    """Append readings, labels and events; `close()` writes the index and summary.

    Readings must come in arrival order (what a driver emitted, or what the simulator's
    network model delivered); the sensor times inside them may be out of order.
    """

    def __init__(self, path: str | os.PathLike[str] | IO[bytes], *,
                 meta: Mapping[str, Any] | None = None, window: float = 1.0,
                 flush_every_window: bool = False, flush_every_s: float | None = None,
                 chunk_size: int = 1 << 20,
                 compression: str = "zstd", version: int = FORMAT_VERSION) -> None:
        if version not in (2, 3):
            raise ValueError(f"trace format version {version}: this writer writes 2 or 3")
        self.version = version
        self._own = isinstance(path, (str, os.PathLike))
        self._fh: IO[bytes] = (open(path, "wb") if isinstance(path, (str, os.PathLike))  # noqa: SIM115 - closed by close()
                               else path)
        comp = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4,
                "none": CompressionType.NONE}[compression]
        self._mcap = BatchWriter(self._fh, chunk_size=chunk_size, compression=comp)
        self._mcap.start(profile=PROFILE, library=f"safehome-trace/{version}")
        file_meta = {str(k): str(v) for k, v in (meta or {}).items()}
        # what the file is says the writer, not `meta` (which may come from another trace)
        file_meta.update({"format": "safehome-trace", "version": str(version),
                          "window_s": repr(float(window))})
        self._mcap.add_metadata(FILE_METADATA, file_meta)
        self.window = float(window)
        self.flush_every_window = flush_every_window
        #: close the chunk once it holds this much sensor time (a live recording that may
        #: lose this much on a crash in exchange for better compression); None: by size
        self.flush_every_s = flush_every_s
        self._chunk_from: float | None = None
        self._streams: dict[tuple[str, str], tuple[int, StreamInfo]] = {}
        self._buffers: dict[int, list[Reading]] = {}
        self._kinds: dict[int, str] = {}
        self._pending_json: list[tuple[int, float, bytes]] = []
        self._counts: dict[int, int] = {}   # readings per channel (accelerometer: samples)
        self._win_start: float | None = None
        self._schemas: dict[str, int] = {}
        self._label_ch = self._json_channel(LABEL_TOPIC, "safehome.label", _LABEL_SCHEMA)
        self._event_ch = self._json_channel(EVENT_TOPIC, "safehome.event", _EVENT_SCHEMA)
        self.count = 0
        self._closed = False

    def _json_channel(self, topic: str, name: str, schema: bytes) -> int:
        sid = self._mcap.register_schema(name, messages.JSONSCHEMA, schema)
        return self._mcap.register_channel(topic, messages.JSON, sid, {})

    # --- streams ---------------------------------------------------------------------

    def add_stream(self, info: StreamInfo) -> int:
        """Declare a stream with its metadata (before its first reading, ideally)."""
        key = (info.sensor, info.kind)
        if key in self._streams:
            return self._streams[key][0]
        if info.kind not in self._schemas:
            if self.version >= 3 and info.kind in batches.SCHEMAS:
                name, text = batches.SCHEMAS[info.kind]
                schema = (name, messages.ROS2MSG, text.encode())
            else:
                schema = messages.schema_for(info.kind)
            self._schemas[info.kind] = self._mcap.register_schema(*schema)
        ch = self._mcap.register_channel(info.topic, messages.message_encoding(info.kind),
                                         self._schemas[info.kind], info.to_metadata())
        self._streams[key] = (ch, info)
        self._buffers[ch] = []
        self._kinds[ch] = info.kind
        return ch

    @property
    def streams(self) -> list[StreamInfo]:
        return [info for _, info in self._streams.values()]

    # --- data ------------------------------------------------------------------------

    def _advance(self, t: float) -> None:
        if not math.isfinite(t):
            return
        if self._win_start is None:
            self._win_start = math.floor(t / self.window) * self.window
        elif t >= self._win_start + self.window:
            self._close_window()
            self._win_start = max(math.floor(t / self.window) * self.window,
                                  self._win_start + self.window)

    def write(self, r: Reading) -> None:
        key = (r.sensor, r.kind)
        entry = self._streams.get(key)
        ch = entry[0] if entry else self.add_stream(StreamInfo(r.sensor, r.kind))
        self._advance(reading_time(r))
        self._buffers[ch].append(r)
        self._counts[ch] = self._counts.get(ch, 0) + (len(r) if isinstance(r, AccelBlock) else 1)
        self.count += 1

    def label(self, label: Label) -> None:
        self._advance(label.t)
        data = json.dumps(label.to_json(), separators=(",", ":"), sort_keys=True).encode()
        self._pending_json.append((self._label_ch, label.t, data))

    def event(self, row: Mapping[str, Any]) -> None:
        """A detected event (e.g. `Event.to_row()`), kept for `trace plot` and comparison."""
        t = float(row.get("occurred_at", self._win_start or 0.0))
        self._advance(t)
        data = json.dumps(row, separators=(",", ":"), sort_keys=True, default=str).encode()
        self._pending_json.append((self._event_ch, t, data))

    def tick(self, now: float) -> None:
        """Close the window when sensor time `now` has passed it (live recording with
        quiet sensors), so its data reaches the disk within about a second."""
        if self._win_start is not None and now >= self._win_start + self.window:
            self._close_window()
            self._win_start = math.floor(now / self.window) * self.window

    def _close_window(self) -> None:
        if self._win_start is None:
            return
        window = _ns(self._win_start)
        for ch, t, data in self._pending_json:
            self._mcap.add_datas(ch, [_ns(t)], [data], window)
        self._pending_json.clear()
        wrote = False
        for ch, buf in self._buffers.items():
            if not buf:
                continue
            kind = self._kinds[ch]
            if self.version >= 3 and kind in batches.SCHEMAS:
                batch = _batch(kind, buf)
                if batch is not None:   # (accelerometer blocks without samples: nothing)
                    self._mcap.add_datas(ch, [window], [batch], window)
            elif kind == "accel":
                blocks: list[AccelBlock] = buf  # type: ignore[assignment]
                log, records = messages.accel_records(ch, blocks, window)
                size = messages.ACCEL_RECORD.itemsize
                self._mcap.add_records(ch, log, records,
                                       np.arange(len(log), dtype=np.uint64) * np.uint64(size))
            else:
                self._mcap.add_datas(ch, [_ns(reading_time(r)) for r in buf],
                                     [messages.encode_one(kind, r) for r in buf], window)
            buf.clear()
            wrote = True
        if wrote and self._chunk_from is None:
            self._chunk_from = self._win_start
        # (also when this window wrote nothing: quiet sensors must not hold data back)
        if self.flush_every_s is not None and self._chunk_from is not None \
                and self._win_start + self.window - self._chunk_from >= self.flush_every_s:
            self._mcap.flush()
            self._chunk_from = None
        elif self.flush_every_window and wrote:
            self._mcap.flush()

    def flush(self) -> None:
        """Write out the window in progress and the open chunk (not fsync)."""
        self._close_window()
        self._mcap.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_window()
        if self.version >= 3:
            self._mcap.add_metadata(COUNTS_METADATA, {
                info.topic: str(self._counts.get(ch, 0)) for ch, info in self._streams.values()})
        self._mcap.finish()
        if self._own:
            self._fh.close()
        else:
            self._fh.flush()

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
