"""Write a trace: readings of many sensors, their metadata and ground truth in one MCAP file.

Format version 2 (docs/trace-format.md): one message per reading, its log time the
reading's own sensor time, in encodings standard viewers decode (messages.py). Readings
are buffered per stream for one *window* (1 s of sensor time by default) and written
together when the window closes, every message of a window carrying the window's start as
its publish time: the reader groups by it to restore the arrival order within a window
cheaply, and a window's records are laid out in one go (mcap_batch.py).

While recording live, `flush_every_window=True` closes an MCAP chunk at every window so a
crash or power cut loses at most the window in progress (about a second); offline
writers (the simulator) let chunks grow to `chunk_size` for better compression.
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, Any, Mapping

import numpy as np
from mcap.writer import CompressionType

from sensordata.readings import AccelBlock, Reading, reading_time
from sensordata.trace import messages
from sensordata.trace.mcap_batch import BatchWriter
from sensordata.trace.model import FILE_METADATA, FORMAT_VERSION, PROFILE, Label, StreamInfo

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


class TraceWriter:
    """Append readings, labels and events; `close()` writes the index and summary.

    Readings must come in arrival order (what a driver emitted, or what the simulator's
    network model delivered); the sensor times inside them may be out of order.
    """

    def __init__(self, path: str | os.PathLike[str] | IO[bytes], *,
                 meta: Mapping[str, Any] | None = None, window: float = 1.0,
                 flush_every_window: bool = False, chunk_size: int = 1 << 20,
                 compression: str = "zstd") -> None:
        self._own = isinstance(path, (str, os.PathLike))
        self._fh: IO[bytes] = (open(path, "wb") if isinstance(path, (str, os.PathLike))  # noqa: SIM115 - closed by close()
                               else path)
        comp = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4,
                "none": CompressionType.NONE}[compression]
        self._mcap = BatchWriter(self._fh, chunk_size=chunk_size, compression=comp)
        self._mcap.start(profile=PROFILE, library=f"safehome-trace/{FORMAT_VERSION}")
        file_meta = {"format": "safehome-trace", "version": str(FORMAT_VERSION),
                     "window_s": repr(float(window))}
        file_meta.update({str(k): str(v) for k, v in (meta or {}).items()})
        self._mcap.add_metadata(FILE_METADATA, file_meta)
        self.window = float(window)
        self.flush_every_window = flush_every_window
        self._streams: dict[tuple[str, str], tuple[int, StreamInfo]] = {}
        self._buffers: dict[int, list[Reading]] = {}
        self._kinds: dict[int, str] = {}
        self._pending_json: list[tuple[int, float, bytes]] = []
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
            self._schemas[info.kind] = self._mcap.register_schema(*messages.schema_for(info.kind))
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
            if kind == "accel":
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
        if self.flush_every_window and wrote:
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
        self._mcap.finish()
        if self._own:
            self._fh.close()
        else:
            self._fh.flush()

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
