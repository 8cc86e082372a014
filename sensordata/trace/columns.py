"""Decode one chunk of a version 2 or 3 trace, a stream at a time, with numpy.

Version 3 (batches.py) holds a window of a high-rate stream in one message whose fields
are columns; its messages of one stream in a chunk are decoded together the same way
(`batches.decode_columns`), and the rest of this module serves both versions.

A day of version 2 trace is over 6 million messages (one per accelerometer sample and
radar frame). Parsing them one by one in Python would make replay several times slower,
so the reader takes each message's position from the chunk's message index (written
after every chunk) and gathers the fixed-layout CDR fields of all messages of a stream at
once (messages.py explains the layouts). Only the few Schema and Channel records between
messages, and chunks whose index is missing (a file cut short), are walked record by
record.

`decode_chunk` returns the chunk as *runs*: consecutive messages of one channel and one
writer window (same publish time), each already turned into readings (with their sensor
times, so the reader sorts a window without looking at each reading again) or into labels
and recorded events (times None).
"""

from __future__ import annotations

import io
import json
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
from mcap.data_stream import ReadDataStream
from mcap.records import Channel

import sensordata.trace.batches as batches  # the module, not the package's lazy exports: no circle through __init__
import sensordata.trace.messages as messages
from sensordata.readings import AccelBlock, RadarPoints, RadarTargets, Target
from sensordata.trace.messages import RECORD_HEAD, CodecError
from sensordata.trace.model import Label

_OP_MESSAGE, _OP_CHANNEL = 0x05, 0x04
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class RecordedEvent:
    """An event a gateway detected while recording (kept in the trace's events channel)."""

    row: dict[str, Any]

    @property
    def t(self) -> float:
        return float(self.row.get("occurred_at", 0.0))


def _gather(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """`width` bytes at each of `starts`, as an (n, width) uint8 array."""
    if len(starts) == 0:
        return np.zeros((0, width), np.uint8)
    if int(starts.max()) + width > len(buf) or int(starts.min()) < 0:
        raise CodecError("message runs past the end of its chunk")
    # row i of this view is buf[i:i + width] (no copy), so one take along its first axis
    # gathers every message's bytes without an (n, width) index array
    rows = np.lib.stride_tricks.as_strided(buf, (len(buf) - width + 1, width), (1, 1), writeable=False)
    out: np.ndarray = rows[starts]
    return out


def _words(raw: bytes, starts: np.ndarray, k: int) -> np.ndarray:
    """`k` little-endian 64-bit words at each of `starts`, as an (n, k) uint64 array.
    (Measured against gathering whole words through eight aligned views: no faster.)"""
    return _gather(np.frombuffer(raw, np.uint8), starts, 8 * k).copy().view("<u8")


def _scan(raw: bytes, start: int, stop: int, channels: dict[int, Channel],
          found: Callable[[Channel], None]) -> tuple[list[int], list[int]]:
    """Walk records from `start` to `stop`: message offsets and channel ids; channels
    met on the way are added to `channels`."""
    offs: list[int] = []
    chs: list[int] = []
    pos = start
    while pos < stop:
        if pos + 9 > stop:
            raise CodecError("record header runs past the end of its chunk")
        opcode = raw[pos]
        (length,) = _U64.unpack_from(raw, pos + 1)
        end = pos + 9 + length
        if end > stop:
            raise CodecError("record runs past the end of its chunk")
        if opcode == _OP_MESSAGE:
            offs.append(pos)
            chs.append(int.from_bytes(raw[pos + 9:pos + 11], "little"))
        elif opcode == _OP_CHANNEL:
            ch = Channel.read(ReadDataStream(io.BytesIO(raw[pos + 9:end])))
            channels[ch.id] = ch
            found(ch)
        pos = end
    return offs, chs


def _positions(raw: bytes, buf: np.ndarray, index: dict[int, np.ndarray] | None,
               channels: dict[int, Channel],
               found: Callable[[Channel], None]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and channel ids of the chunk's messages, in file order."""
    if index is not None:
        offs = np.concatenate([a for a in index.values()] or [np.zeros(0, np.int64)])
        chs = np.concatenate([np.full(len(a), c, np.int64) for c, a in index.items()]
                             or [np.zeros(0, np.int64)])
        order = np.argsort(offs, kind="stable")
        offs, chs = offs[order].astype(np.int64), chs[order]
        if len(offs) and (int(offs[-1]) + RECORD_HEAD > len(raw)
                          or np.any(buf[offs] != _OP_MESSAGE)):
            index = None  # an index that does not match its chunk: walk the records instead
        else:
            lengths = _words(raw, offs + 1, 1).ravel().astype(np.int64)
            ends = offs + 9 + lengths
            gap_from = np.concatenate([[0], ends])
            gap_to = np.concatenate([offs, [len(raw)]])
            for a, b in zip(gap_from[gap_from < gap_to].tolist(), gap_to[gap_from < gap_to].tolist(), strict=True):
                more, _ = _scan(raw, a, b, channels, found)   # schemas and channels
                if more:
                    index = None   # messages the index does not list: trust the records
                    break
            if index is not None:
                return offs, chs
    offs_l, chs_l = _scan(raw, 0, len(raw), channels, found)
    return np.asarray(offs_l, np.int64), np.asarray(chs_l, np.int64)


Run = tuple[list[Any], "list[float] | None"]   # items, their sensor times (None: labels/events)


class _Column:
    """The decoded messages of one channel in one chunk, handed out run by run."""

    def __init__(self, take: Callable[[int, int], Run]) -> None:
        self.take = take
        self.cursor = 0

    def next(self, n: int) -> Run:
        a = self.cursor
        self.cursor += n   # first, so a run that fails to decode does not shift the next
        return self.take(a, a + n)


def _lengths_ok(raw: bytes, offs: np.ndarray, expected: np.ndarray, kind: str) -> None:
    got = _words(raw, offs + 1, 1).ravel()
    if not np.array_equal(got, expected.astype(np.uint64)):
        raise CodecError(f"{kind} message length does not match its layout")


def _accel(sensor: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> _Column:
    data = RECORD_HEAD + 4
    _lengths_ok(raw, offs, np.full(len(offs), messages.ACCEL_RECORD.itemsize - 9), "accel")
    vals = _words(raw, offs + data, 4).view("<f8")
    t = np.ascontiguousarray(vals[:, 0])
    xyz = np.ascontiguousarray(vals[:, 1:4])
    def take(i: int, j: int) -> Run:
        block = AccelBlock(sensor, t[i:j], xyz[i:j])
        return [block], [block.end]
    return _Column(take)


def _frames(raw: bytes, buf: np.ndarray, offs: np.ndarray, row: np.dtype,
            kind: str) -> tuple[list[float], list[int], np.ndarray, np.ndarray]:
    head = _words(raw, offs + RECORD_HEAD + 4, 2)
    t = head[:, 0].view("<f8")
    frame = (head[:, 1] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    count = (head[:, 1] >> np.uint64(32)).astype(np.int64)
    _lengths_ok(raw, offs, 22 + 4 + 16 + row.itemsize * count, kind)
    total = int(count.sum())
    first = np.cumsum(count) - count
    starts = (np.repeat(offs + RECORD_HEAD + 4 + 16, count)
              + row.itemsize * (np.arange(total) - np.repeat(first, count)))
    if row.itemsize % 8 == 0:
        rows = _words(raw, starts, row.itemsize // 8).view(row).ravel()
    else:
        rows = _gather(buf, starts, row.itemsize).copy().view(row).ravel()
    return t.tolist(), frame.tolist(), count, rows


def _targets(sensor: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> _Column:
    t, frame, count, rows = _frames(raw, buf, offs, messages.TARGET_ROW, "radar_targets")
    out = radar_frames(sensor, t, frame, count, rows["tid"].tolist(), rows["v"])
    return _Column(lambda a, b: (out[a:b], t[a:b]))


# Two radars at 10 Hz are 1.7 million frames a day, and replay spends most of its decoding
# time making their objects. The frames and targets are made here without their frozen
# dataclass __init__ (which sets each field through object.__setattr__ in Python): objects
# are allocated and each field is filled for all of them in one `map` over its slot
# descriptor, so the per-object work runs in C. The fields are those just decoded; the
# objects are the same as RadarTargets(...)/Target(...) would make (tests/test_trace_format.py).
_new = object.__new__
_TARGET_SLOTS = tuple(getattr(Target, f).__set__ for f in ("tid", "x", "y", "z", "vx", "vy", "vz", "height"))
_FRAME_SLOTS = tuple(getattr(RadarTargets, f).__set__ for f in ("sensor", "t", "frame", "targets"))


def _fill(objs: list[Any], setter: Callable[[Any, Any], None], values: Any) -> None:
    deque(map(setter, objs, values), maxlen=0)


def radar_frames(sensor: str, t: list[float], frame: list[int], count: np.ndarray,
                 tids: list[int], vals: np.ndarray) -> list[RadarTargets]:
    """RadarTargets for frames of `count[i]` targets each; `tids` and `vals` (n, 7: x, y,
    z, vx, vy, vz, height with NaN for unknown) hold all frames' targets in order."""
    targets: list[Target] = list(map(_new, repeat(Target, len(tids))))
    _fill(targets, _TARGET_SLOTS[0], tids)
    cols = vals.T
    for k, setter in enumerate(_TARGET_SLOTS[1:7]):
        _fill(targets, setter, cols[k].tolist())
    _fill(targets, _TARGET_SLOTS[7], [None if h != h else h for h in cols[6].tolist()])
    ends = np.cumsum(count)
    some = np.flatnonzero(count)   # an empty room's frames (most of them) share ()
    groups: list[tuple[Target, ...]] = [()] * len(t)
    deque(map(groups.__setitem__, some.tolist(), map(tuple, map(targets.__getitem__, map(
        slice, (ends - count)[some].tolist(), ends[some].tolist())))), maxlen=0)
    out: list[RadarTargets] = list(map(_new, repeat(RadarTargets, len(t))))
    _fill(out, _FRAME_SLOTS[0], repeat(sensor))
    _fill(out, _FRAME_SLOTS[1], t)
    _fill(out, _FRAME_SLOTS[2], frame)
    _fill(out, _FRAME_SLOTS[3], groups)
    return out


def _points(sensor: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> _Column:
    t, frame, count, rows = _frames(raw, buf, offs, messages.POINT_ROW, "radar_points")
    pts = rows["v"].astype(np.float32).reshape(-1, 5)
    out: list[RadarPoints] = []
    i = 0
    for ti, fi, c in zip(t, frame, count.tolist(), strict=True):
        out.append(RadarPoints(sensor, ti, fi, pts[i:i + c].copy()))
        i += c
    return _Column(lambda a, b: (out[a:b], t[a:b]))


def _json_column(decode: Callable[[bytes], Any], raw: bytes, buf: np.ndarray,
                 offs: np.ndarray, readings: bool) -> _Column:
    lengths = _words(raw, offs + 1, 1).ravel().astype(np.int64)
    spans = list(zip((offs + RECORD_HEAD).tolist(), (offs + 9 + lengths).tolist(), strict=True))

    def take(a: int, b: int) -> Run:
        items = [decode(raw[s:e]) for s, e in spans[a:b]]
        return items, [r.t for r in items] if readings else None
    return _Column(take)


_CDR_KINDS: dict[str, Callable[[str, bytes, np.ndarray, np.ndarray], _Column]] = {
    "accel": _accel, "radar_targets": _targets, "radar_points": _points}


# --- version 3: a window of a stream in one message, as columns ---------------------------

def _batch_columns(kind: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> batches.Columns:
    size = _words(raw, offs + 1, 1).ravel().astype(np.int64) - (RECORD_HEAD - 9)
    return batches.decode_columns(kind, buf, offs + RECORD_HEAD, size)


def _accel_v3(sensor: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> _Column:
    cols = _batch_columns("accel", raw, buf, offs)
    n = cols.count("x")
    if not (np.array_equal(n, cols.count("y")) and np.array_equal(n, cols.count("z"))):
        raise CodecError("accel columns of different lengths")
    t = batches.sample_times(cols, n)
    xyz = np.stack([cols.flat["x"], cols.flat["y"], cols.flat["z"]], axis=1)
    first = cols.first["x"].tolist()

    def take(i: int, j: int) -> Run:
        a, b = first[i], first[j]
        block = AccelBlock(sensor, t[a:b], xyz[a:b])
        return [block], [block.end]
    return _Column(take)


class _Frames:
    """A radar stream's messages in a chunk: frame times, numbers and row counts, where
    each message's frames begin, and the rows (one column per name, all frames' rows in
    order)."""

    def __init__(self, kind: str, names: tuple[str, ...], raw: bytes, buf: np.ndarray,
                 offs: np.ndarray) -> None:
        cols = _batch_columns(kind, raw, buf, offs)
        frames = cols.count("frame")
        if not np.array_equal(frames, cols.count("count")):
            raise CodecError(f"{kind} frame columns of different lengths")
        self.count = cols.flat["count"].astype(np.int64)
        ends = np.concatenate([[0], np.cumsum(self.count)])
        rows_per_msg = ends[cols.first["count"][1:]] - ends[cols.first["count"][:-1]]
        for name in names + (("tid",) if kind == "radar_targets" else ()):
            if not np.array_equal(cols.count(name), rows_per_msg):
                raise CodecError(f"{kind} column {name} does not match its frame counts")
        self.t: list[float] = batches.sample_times(cols, frames).tolist()
        self.frame: list[int] = cols.flat["frame"].astype(np.int64).tolist()
        self.first: list[int] = cols.first["frame"].tolist()
        self.rows = np.stack([cols.flat[name] for name in names], axis=1)
        self.cols = cols

    def column(self, out: list[Any]) -> _Column:
        t, first = self.t, self.first
        return _Column(lambda a, b: (out[first[a]:first[b]], t[first[a]:first[b]]))


def _targets_v3(sensor: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> _Column:
    f = _Frames("radar_targets", ("x", "y", "z", "vx", "vy", "vz", "height"), raw, buf, offs)
    return f.column(radar_frames(sensor, f.t, f.frame, f.count,
                                 f.cols.flat["tid"].astype(np.int64).tolist(), f.rows))


def _points_v3(sensor: str, raw: bytes, buf: np.ndarray, offs: np.ndarray) -> _Column:
    f = _Frames("radar_points", ("x", "y", "z", "doppler", "snr"), raw, buf, offs)
    pts = f.rows.astype(np.float32)
    ends = np.cumsum(f.count).tolist()
    out = [RadarPoints(sensor, ti, fi, pts[e - c:e].copy())
           for ti, fi, c, e in zip(f.t, f.frame, f.count.tolist(), ends, strict=True)]
    return f.column(out)


_BATCH_KINDS: dict[str, Callable[[str, bytes, np.ndarray, np.ndarray], _Column]] = {
    "accel": _accel_v3, "radar_targets": _targets_v3, "radar_points": _points_v3}


def _column(ch: Channel, raw: bytes, buf: np.ndarray, offs: np.ndarray,
            version: int) -> _Column | None:
    from sensordata.trace.writer import EVENT_TOPIC, LABEL_TOPIC

    if ch.topic == LABEL_TOPIC:
        return _json_column(lambda b: Label.from_json(json.loads(b)), raw, buf, offs, False)
    if ch.topic == EVENT_TOPIC:
        return _json_column(lambda b: RecordedEvent(json.loads(b)), raw, buf, offs, False)
    kind, sensor = ch.metadata.get("kind"), ch.metadata.get("sensor")
    if kind is None or sensor is None:
        return None
    if ch.message_encoding == messages.CDR and version >= 3 and kind in _BATCH_KINDS:
        return _BATCH_KINDS[kind](sensor, raw, buf, offs)
    if ch.message_encoding == messages.CDR and kind in _CDR_KINDS:
        return _CDR_KINDS[kind](sensor, raw, buf, offs)
    if ch.message_encoding == messages.JSON:
        return _json_column(lambda b: messages.decode_json(kind, sensor, b), raw, buf, offs,
                            True)
    raise CodecError(f"{ch.topic}: message encoding {ch.message_encoding!r} unknown")


def decode_chunk(raw: bytes, index: dict[int, np.ndarray] | None, channels: dict[int, Channel],
                 found: Callable[[Channel], None], bad: Callable[[str], None],
                 version: int = 2) -> list[tuple[int, Run]]:
    """The chunk's runs in file order: (publish time in ns, (items, times)). A channel
    whose messages do not decode is skipped and reported through `bad`."""
    buf = np.frombuffer(raw, np.uint8)
    offs, chs = _positions(raw, buf, index, channels, found)
    if len(offs) == 0:
        return []
    pubs = _words(raw, offs + messages.PUBLISH_TIME_AT, 1).ravel()
    columns: dict[int, _Column | None] = {}
    for c in np.unique(chs).tolist():
        ch = channels.get(c)
        try:
            columns[c] = None if ch is None else _column(ch, raw, buf, offs[chs == c], version)
        except (CodecError, ValueError, KeyError, TypeError) as exc:
            bad(f"corrupt messages on {ch.topic if ch else c} skipped: {exc}")
            columns[c] = None
    change = np.flatnonzero((chs[1:] != chs[:-1]) | (pubs[1:] != pubs[:-1])) + 1
    starts = np.concatenate([[0], change]).tolist()
    ends = np.concatenate([change, [len(offs)]]).tolist()
    runs: list[tuple[int, Run]] = []
    chs_l, pubs_l = chs.tolist(), pubs.tolist()
    for a, b in zip(starts, ends, strict=True):
        col = columns[chs_l[a]]
        if col is None:
            continue
        try:
            runs.append((pubs_l[a], col.next(b - a)))
        except (CodecError, ValueError, KeyError, TypeError) as exc:
            bad(f"corrupt message skipped: {exc}")
    return runs
