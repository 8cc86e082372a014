"""Read a trace back as readings in arrival order, streaming, with damage reported.

The reader walks the file record by record (it never loads a whole trace), so it works
on a finished file, on one still being written and on one cut short by a crash. A chunk
whose bytes are corrupt is skipped and noted; a file that ends mid-record stops there and
is noted. `damage` tells the caller where reading stopped and up to which sensor time
everything was delivered, so `safehome replay` can say so rather than fail.

Within one window (see writer.py) readings of different streams are merged by sensor
time; within a stream the recorded order is kept, duplicates and late packets included,
because that is what the detectors saw live.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from typing import Any, Iterator

import lz4.frame
import numpy as np
import zstandard
from mcap.data_stream import ReadDataStream
from mcap.exceptions import McapError
from mcap.opcode import Opcode
from mcap.records import Channel, Chunk, DataEnd, Footer, Message, Metadata
from mcap.stream_reader import StreamReader

import sensordata.trace.codec as codec  # the module, not the package's lazy exports: no circle through __init__
from sensordata.readings import Reading, reading_time
from sensordata.trace.columns import RecordedEvent, decode_chunk
from sensordata.trace.model import COUNTS_METADATA, FILE_METADATA, FORMAT_VERSION, Label, StreamInfo, TraceDamage
from sensordata.trace.writer import EVENT_TOPIC, LABEL_TOPIC


class TraceError(Exception):
    """The file is not a trace at all (wrong magic, not MCAP, not ours)."""


Item = Reading | Label | RecordedEvent


class TraceReader:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.name = os.path.basename(self.path)
        self.damage: TraceDamage | None = None
        self.meta: dict[str, str] = {}
        self._streams: dict[int, StreamInfo] = {}
        with open(self.path, "rb") as fh:
            head = fh.read(8)
        if head[:5] != b"\x89MCAP":
            raise TraceError(f"{self.path}: not a trace file (no MCAP magic)")
        # the file metadata record follows the header; read it (and nothing more) now
        try:
            with open(self.path, "rb") as fh:
                for rec in StreamReader(fh, emit_chunks=True).records:
                    if isinstance(rec, Metadata) and rec.name == FILE_METADATA:
                        self.meta = dict(rec.metadata)
                        break
                    if isinstance(rec, (Chunk, Message)):
                        break
        except (McapError, EOFError, ValueError, OSError):
            pass
        if self.meta and self.meta.get("format") != "safehome-trace":
            raise TraceError(f"{self.path}: MCAP file but not a safehome trace")
        version = self.meta.get("version", "1")
        if not version.isdigit() or int(version) > FORMAT_VERSION:
            raise TraceError(f"{self.path}: trace format version {version}; this safehome "
                             f"reads up to version {FORMAT_VERSION}")
        #: 1: a window's readings batched per message in private encodings; 2: one
        #: reading per message; 3: a window of a high-rate stream per message, as columns.
        self.version = int(version)

    @property
    def start_time(self) -> float | None:
        from sensordata.timefmt import parse_iso
        text = self.meta.get("start")
        try:
            return parse_iso(text) if text else None
        except ValueError:
            return None

    @property
    def timezone(self) -> str | None:
        """The home's time zone as the trace records it (simulated traces name it; recorded
        ones carry it in `gateway_config`), for printing times as local time."""
        if self.meta.get("timezone"):
            return self.meta["timezone"]
        try:
            tz = json.loads(self.meta.get("gateway_config", "{}")).get("timezone")
        except (ValueError, AttributeError):
            tz = None
        return str(tz) if tz else None

    def summary(self) -> Any:
        """The MCAP summary (schemas, channels, statistics, chunk indexes) of a finished
        file, read from its end in milliseconds; None for a file without one (a crash,
        a recording in progress)."""
        if not hasattr(self, "_summary"):
            try:
                from mcap.reader import SeekingReader
                with open(self.path, "rb") as fh:
                    self._summary = SeekingReader(fh).get_summary()
            except Exception:  # noqa: BLE001 - no summary (crash, recording in progress)
                self._summary = None
        return self._summary

    def counts(self) -> dict[str, int] | None:
        """Readings per stream topic (accelerometer samples, radar frames) from a finished
        file's summary, without reading its data: version 2 counts a message per reading,
        version 3 says it in its `safehome.counts` metadata. None when neither can tell
        (version 1, a file without its summary)."""
        summary = self.summary()
        if self.version < 2 or summary is None or summary.statistics is None:
            return None
        if self.version == 2:
            stats = summary.statistics.channel_message_counts
            return {ch.topic: stats.get(ch_id, 0) for ch_id, ch in summary.channels.items()}
        for index in summary.metadata_indexes:
            if index.name == COUNTS_METADATA:
                try:
                    with open(self.path, "rb") as fh:
                        fh.seek(index.offset)
                        rec = next(StreamReader(fh, skip_magic=True).records)
                    if isinstance(rec, Metadata):
                        return {k: int(v) for k, v in rec.metadata.items()}
                except (McapError, EOFError, ValueError, OSError, StopIteration):
                    return None
        return None

    def span(self) -> tuple[float, float] | None:
        """(first, last) sensor time the file covers, from its summary or its metadata,
        without reading the data: what a progress bar needs."""
        summary = self.summary()
        stats = summary.statistics if summary is not None else None
        if stats is not None and stats.message_count:
            return stats.message_start_time / 1e9, stats.message_end_time / 1e9
        from sensordata.timefmt import parse_iso
        try:
            if self.meta.get("start") and self.meta.get("end"):
                return parse_iso(self.meta["start"]), parse_iso(self.meta["end"])
        except ValueError:
            pass
        return None

    # --- low level ------------------------------------------------------------------

    def _seek_point(self, start: float | None) -> tuple[int, dict[int, Channel]]:
        """Where to start reading for sensor time `start`: the first chunk that may hold
        it, found in the index of a finished file (0 when there is no index)."""
        if start is None:
            return 0, {}
        try:
            from mcap.reader import SeekingReader
            with open(self.path, "rb") as fh:
                summary = SeekingReader(fh).get_summary()
        except Exception:  # noqa: BLE001 - no summary (crash, recording in progress): read from the top
            return 0, {}
        if summary is None or not summary.chunk_indexes:
            return 0, {}
        # a window's log time is its start, so look one window earlier than `start`
        want = int((start - float(self.meta.get("window_s", "1.0"))) * 1e9)
        for idx in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset):
            if idx.message_end_time >= want:
                return idx.chunk_start_offset, dict(summary.channels)
        return 0, {}

    def _messages(self, start: float | None = None) -> Iterator[tuple[Channel, int, bytes]]:
        """Every message with its channel, in file order; notes damage and stops or skips."""
        offset, channels = self._seek_point(start)
        for ch in channels.values():
            self._remember(ch)
        last_time: float | None = None
        with open(self.path, "rb", buffering=1 << 20) as fh:
            fh.seek(offset)
            records = StreamReader(fh, skip_magic=offset > 0, emit_chunks=True,
                                   record_size_limit=1 << 30).records
            while True:
                try:
                    rec = next(records)
                except StopIteration:
                    return
                except (McapError, EOFError, ValueError, OSError, MemoryError, struct.error) as exc:
                    why = "file ends mid-record (truncated)" if _is_eof(exc) else f"corrupt: {exc}"
                    self._note(offset, why, last_time)
                    return
                if isinstance(rec, Chunk):
                    try:
                        inner = list(_chunk_messages(rec, channels, self._remember))
                    except Exception as exc:  # noqa: BLE001 - zstd/lz4/CRC errors: skip this chunk only
                        self._note(offset, f"corrupt chunk skipped: {exc}", last_time)
                        offset = fh.tell()
                        continue
                    for ch_id, log_time, data in inner:
                        known = channels.get(ch_id)
                        if known is None:
                            continue
                        last_time = log_time / 1e9
                        yield known, log_time, data
                elif isinstance(rec, Channel):
                    channels[rec.id] = rec
                    self._remember(rec)
                elif isinstance(rec, Message) and rec.channel_id in channels:
                    last_time = rec.log_time / 1e9
                    yield channels[rec.channel_id], rec.log_time, rec.data
                elif isinstance(rec, (DataEnd, Footer)):
                    return
                offset = fh.tell()

    def _note(self, offset: int, reason: str, last_time: float | None) -> None:
        if self.damage is None:
            self.damage = TraceDamage(self.path, offset, reason, last_time, self.timezone)

    def _remember(self, ch: Channel) -> None:
        if ch.id not in self._streams and "sensor" in ch.metadata and "kind" in ch.metadata:
            self._streams[ch.id] = StreamInfo.from_metadata(ch.metadata)

    # --- public -----------------------------------------------------------------------

    def windows(self, start: float | None = None,
                end: float | None = None) -> Iterator[list[Item]]:
        """The trace one writer window at a time (about a second): each a list of the
        window's labels and recorded events, then its readings in arrival order.
        Replay uses this to hand readings on in batches."""
        self.damage = None
        if self.version >= 2:
            yield from self._windows_v2(start, end)
            return
        group: list[tuple[Channel, int, bytes]] = []
        group_time = None
        skip_before = None if start is None else int(
            (start - float(self.meta.get("window_s", "1.0"))) * 1e9)
        for ch, log_time, data in self._messages(start):
            if skip_before is not None and log_time < skip_before:
                continue   # a whole window before `start`: not even decoded
            if log_time != group_time and group:
                yield self._emit(group, start, end)
                group = []
                if end is not None and log_time / 1e9 > end:
                    return
            group_time = log_time
            group.append((ch, log_time, data))
        if group:
            yield self._emit(group, start, end)

    # --- versions 2 and 3: messages decoded a chunk at a time ---------------------------------

    def _windows_v2(self, start: float | None, end: float | None) -> Iterator[list[Item]]:
        window_ns = float(self.meta.get("window_s", "1.0")) * 1e9
        skip_before = None if start is None else int(start * 1e9 - window_ns)
        current: int | None = None
        items: list[Item] = []
        times: list[float] = []
        others: list[Item] = []
        for runs in self._runs_v2(start):   # a chunk's runs at a time: no generator step per run
            for pub, (run, run_times) in runs:
                if skip_before is not None and pub < skip_before:
                    continue
                if pub != current:
                    if items or others:
                        yield self._emit_items(others, items, times, start, end)
                        items, times, others = [], [], []
                    if end is not None and pub / 1e9 > end:
                        return
                    current = pub
                if run_times is None:
                    others.extend(run)
                else:
                    items.extend(run)
                    times.extend(run_times)
        if items or others:
            yield self._emit_items(others, items, times, start, end)

    def _runs_v2(self, start: float | None) -> Iterator[list[tuple[int, Any]]]:
        """Every run (messages of one channel and window) in file order, a chunk's list of
        them at a time (a day is 340,000 runs); notes damage."""
        offset, channels = self._seek_point(start)
        for ch in channels.values():
            self._remember(ch)
        last: list[float | None] = [None]
        chunk: tuple[int, bytes] | None = None
        index: dict[int, np.ndarray] = {}

        def flush(complete: bool) -> Iterator[list[tuple[int, Any]]]:
            assert chunk is not None
            at, body = chunk
            try:
                raw = _chunk_records(body)
            except Exception as exc:  # noqa: BLE001 - zstd/lz4/CRC errors: skip this chunk only
                self._note(at, f"corrupt chunk skipped: {exc}", last[0])
                return
            runs = decode_chunk(raw, index if complete else None, channels, self._remember,
                                lambda why: self._note(at, why, last[0]), self.version)
            if runs:
                yield runs
                # damage found after this chunk is dated by its last run (nothing reads
                # `last` while the chunk's runs are handed on)
                last[0] = runs[-1][0] / 1e9

        with open(self.path, "rb", buffering=1 << 20) as fh:
            fh.seek(offset if offset else len(MCAP_MAGIC))
            while True:
                at = fh.tell()
                head = fh.read(9)
                if not head and chunk is None:
                    self._note(at, "file ends without its summary (truncated)", last[0])
                    return
                if len(head) < 9:
                    if chunk is not None:
                        yield from flush(False)
                    self._note(at, "file ends mid-record (truncated)", last[0])
                    return
                opcode, length = _RECORD_HEAD.unpack(head)
                body = fh.read(length)
                if len(body) < length:
                    if chunk is not None:
                        yield from flush(opcode != Opcode.MESSAGE_INDEX)
                    self._note(at, "file ends mid-record (truncated)", last[0])
                    return
                if opcode == Opcode.MESSAGE_INDEX:
                    ch_id, size = struct.unpack_from("<HI", body, 0)
                    entries = np.frombuffer(body, "<u8", size // 8, 6).reshape(-1, 2)
                    index[ch_id] = entries[:, 1].astype(np.int64)
                    continue
                if chunk is not None:
                    yield from flush(True)
                    chunk, index = None, {}
                if opcode == Opcode.CHUNK:
                    chunk = (at, body)
                elif opcode == Opcode.CHANNEL:
                    ch = Channel.read(ReadDataStream(io.BytesIO(body)))
                    channels[ch.id] = ch
                    self._remember(ch)
                elif opcode == Opcode.MESSAGE:   # unchunked message: a chunk of one
                    chunk = (at, _as_chunk(head + body))
                    index = {}
                    yield from flush(False)
                    chunk = None
                elif opcode in (Opcode.DATA_END, Opcode.FOOTER):
                    return

    def _emit_items(self, others: list[Item], items: list[Item], times: list[float],
                    start: float | None, end: float | None) -> list[Item]:
        """A window: its labels and recorded events, then its readings by sensor time
        (stable: each stream keeps its recorded order)."""
        order = sorted(range(len(items)), key=times.__getitem__)
        if others:
            others.sort(key=lambda o: o.t)
            others = [o for o in others if (start is None or o.t >= start)
                      and (end is None or o.t <= end)]
        if start is None and end is None:
            return others + [items[i] for i in order]
        return others + [items[i] for i in order if (start is None or times[i] >= start)
                         and (end is None or times[i] <= end)]

    def items(self, start: float | None = None, end: float | None = None) -> Iterator[Item]:
        """Readings, labels and recorded events in arrival order, from `start` to `end`
        (sensor time; None = the whole file)."""
        for window in self.windows(start, end):
            yield from window

    def readings(self, start: float | None = None, end: float | None = None) -> Iterator[Reading]:
        for item in self.items(start, end):
            if not isinstance(item, (Label, RecordedEvent)):
                yield item

    def labels(self) -> list[Label]:
        return [i for i in self.items() if isinstance(i, Label)]

    def streams(self) -> list[StreamInfo]:
        """Every stream's metadata; reads the file's index when it has one, else scans."""
        if not self._streams:
            try:
                from mcap.reader import SeekingReader
                with open(self.path, "rb") as fh:
                    summary = SeekingReader(fh).get_summary()
                for ch in (summary.channels.values() if summary else ()):
                    self._remember(ch)
            except Exception:  # noqa: BLE001 - a damaged or unfinished file: fall back
                pass
        if not self._streams:
            damage = self.damage
            for _ in self._messages():
                pass
            self.damage = damage
        return [self._streams[k] for k in sorted(self._streams)]

    def _emit(self, group: list[tuple[Channel, int, bytes]], start: float | None,
              end: float | None) -> list[Item]:
        times: list[float] = []
        items: list[Item] = []
        others: list[Item] = []    # labels and recorded events: first in their window
        for ch, log_time, data in group:
            if ch.topic == LABEL_TOPIC or ch.topic == EVENT_TOPIC:
                try:
                    d = json.loads(data)
                    item: Item = Label.from_json(d) if ch.topic == LABEL_TOPIC else RecordedEvent(d)
                except (ValueError, KeyError, TypeError) as exc:
                    self._note(0, f"corrupt {ch.topic} message skipped: {exc}", None)
                    continue
                others.append(item)
                continue
            md = ch.metadata
            try:
                batch = codec.decode(md["kind"], md["sensor"], data)
            except (codec.CodecError, KeyError) as exc:
                self._note(0, f"corrupt message on {ch.topic} skipped: {exc}",
                           log_time / 1e9)
                continue
            times.extend(reading_time(r) for r in batch)
            items.extend(batch)
        # stable sort by sensor time: streams interleave, each keeps its recorded order
        order = sorted(range(len(items)), key=times.__getitem__)
        if others:
            others.sort(key=lambda o: o.t)
            others = [o for o in others if (start is None or o.t >= start)
                      and (end is None or o.t <= end)]
        if start is None and end is None:
            return others + [items[i] for i in order]
        return others + [items[i] for i in order if (start is None or times[i] >= start)
                         and (end is None or times[i] <= end)]


_BLOCK_KINDS = frozenset({"accel"})
_MSG_HEAD = struct.Struct("<HIQQ")   # channel id, sequence, log time, publish time


def _decompress(chunk: Chunk) -> bytes:
    if chunk.compression == "zstd":
        raw = zstandard.ZstdDecompressor().decompress(chunk.data,
                                                      max_output_size=chunk.uncompressed_size)
    elif chunk.compression == "lz4":
        raw = lz4.frame.decompress(chunk.data)
    elif chunk.compression == "":
        raw = bytes(chunk.data)
    else:
        raise McapError(f"unsupported compression {chunk.compression!r}")
    if len(raw) != chunk.uncompressed_size:
        raise McapError("chunk decompressed to the wrong size")
    if chunk.uncompressed_crc and zlib.crc32(raw) != chunk.uncompressed_crc:
        raise McapError("chunk CRC mismatch")
    return raw


def _chunk_messages(chunk: Chunk, channels: dict[int, Channel],
                    remember: Any = None) -> Iterator[tuple[int, int, bytes]]:
    """Messages of one chunk as (channel id, log time, data); channels found on the way
    are added to `channels`. A lean replacement for mcap's breakup_chunk: replay spends
    its time here, and a chunk holds only schemas, channels and messages."""
    raw = _decompress(chunk)
    view = memoryview(raw)
    pos, end = 0, len(raw)
    head = _MSG_HEAD
    while pos < end:
        opcode = raw[pos]
        (length,) = struct.unpack_from("<Q", raw, pos + 1)
        body = pos + 9
        pos = body + length
        if pos > end:
            raise McapError("record runs past the end of its chunk")
        if opcode == Opcode.MESSAGE:
            ch_id, _, log_time, _ = head.unpack_from(raw, body)
            yield ch_id, log_time, bytes(view[body + head.size:pos])
        elif opcode == Opcode.CHANNEL:
            ch = Channel.read(ReadDataStream(io.BytesIO(raw[body:pos])))
            channels[ch.id] = ch
            if remember is not None:
                remember(ch)


MCAP_MAGIC = b"\x89MCAP0\r\n"
_RECORD_HEAD = struct.Struct("<BQ")
_CHUNK_HEAD = struct.Struct("<QQQI")   # start time, end time, uncompressed size, CRC


def _chunk_records(body: bytes) -> bytes:
    """The records inside a Chunk record's body, decompressed and CRC-checked."""
    _, _, size, crc = _CHUNK_HEAD.unpack_from(body, 0)
    pos = _CHUNK_HEAD.size
    (n,) = struct.unpack_from("<I", body, pos)
    compression = body[pos + 4:pos + 4 + n].decode()
    pos += 4 + n
    (length,) = struct.unpack_from("<Q", body, pos)
    data = body[pos + 8:pos + 8 + length]
    if len(data) != length:
        raise McapError("chunk records run past the chunk")
    chunk = Chunk(compression=compression, data=data, message_start_time=0,
                  message_end_time=0, uncompressed_crc=crc, uncompressed_size=size)
    return _decompress(chunk)


def _as_chunk(record: bytes) -> bytes:
    """A Chunk body holding one record (an unchunked message), for the same code path."""
    return (_CHUNK_HEAD.pack(0, 0, len(record), 0) + struct.pack("<I", 0)
            + struct.pack("<Q", len(record)) + record)


def _is_eof(exc: BaseException) -> bool:
    return isinstance(exc, EOFError) or "end of" in str(exc).lower() or isinstance(
        exc, io.UnsupportedOperation) or type(exc).__name__ == "EndOfFile"
