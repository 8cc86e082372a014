"""Trace format v3: a window of a high-rate stream in one CDR message, as columns.

Version 2 wrote one MCAP message per accelerometer sample and radar frame: 5.95 million
messages a day, whose message indexes (16 bytes each, uncompressed by MCAP's design) alone
were 95 MB. Version 3 writes one message per stream and writer window (1 s): a day is
0.33 million messages. A message is a ROS 2 message (CDR, `ros2msg` schema) whose fields
are columns (`float64[] x`, ...), so Foxglove, the mcap CLI and `mcap-ros2-support` still
decode every message without knowing Safehome.

Times go as `t0` plus `float32` offsets `dt`: at today's epoch a float64 second has a
resolution of 2^-22 s, so the offset of a sample within a few seconds of `t0` is exact in a
float32 and `t0 + dt[i]` gives back the driver's float64 to the bit. The writer checks
that; when it does not hold (a late packet far from `t0`, a NaN), the message carries the
times explicitly in `t` and `dt` is empty. The offsets halve the compressed size of the
accelerometer stream (measured: 36.5 MB -> 19.1 MB a day at zstd 3) because the low bits
of absolute float64 times do not compress. Values stay float64 (float32 for radar points,
which are float32 at the source): every reading comes back exactly.

The reader decodes all messages of one stream in a chunk at once with numpy
(`decode_columns`): a sequence's length and alignment are read for every message
together, then each column is gathered into one flat array.
"""

from __future__ import annotations

import struct
from itertools import accumulate

import numpy as np

from sensordata.trace.messages import CDR_HEADER, CodecError

ACCEL_SCHEMA = ("safehome_msgs/msg/AccelerationBatch", """\
# One writer window (about a second) of a worn accelerometer's samples, in g, in the
# sensor's own axes. Sample i was taken at t0 + dt[i] (seconds since the Unix epoch;
# exact in float64), or at t[i] when offsets could not hold the times exactly (dt empty).
float64 t0
float32[] dt
float64[] x
float64[] y
float64[] z
float64[] t
""")

TARGETS_SCHEMA = ("safehome_msgs/msg/RadarTargetsBatch", """\
# One writer window of a people-tracking radar's frames, as columns. Frame i was taken at
# t0 + dt[i] (or t[i]; see AccelerationBatch) and holds count[i] targets: the target
# columns hold every frame's targets in frame order. Room frame (radar mid front wall,
# x across, y into the room, z up), metres and metres per second.
float64 t0
float32[] dt
uint32[] frame
uint32[] count
uint32[] tid
float64[] x
float64[] y
float64[] z
float64[] vx
float64[] vy
float64[] vz
float64[] height  # top of the person above the floor; NaN when the radar does not say
float64[] t
""")

POINTS_SCHEMA = ("safehome_msgs/msg/RadarPointsBatch", """\
# One writer window of a radar point cloud's frames, as columns (see RadarTargetsBatch):
# frame i holds count[i] points, metres, radial speed in m/s.
float64 t0
float32[] dt
uint32[] frame
uint32[] count
float32[] x
float32[] y
float32[] z
float32[] doppler
float32[] snr
float64[] t
""")

SCHEMAS = {"accel": ACCEL_SCHEMA, "radar_targets": TARGETS_SCHEMA,
           "radar_points": POINTS_SCHEMA}

#: The fields of each message in order: None for the float64 scalar t0, else the numpy
#: dtype of a sequence's elements.
F8, F4, U4 = np.dtype("<f8"), np.dtype("<f4"), np.dtype("<u4")
LAYOUTS: dict[str, tuple[tuple[str, np.dtype | None], ...]] = {
    "accel": (("t0", None), ("dt", F4), ("x", F8), ("y", F8), ("z", F8), ("t", F8)),
    "radar_targets": (("t0", None), ("dt", F4), ("frame", U4), ("count", U4), ("tid", U4),
                      ("x", F8), ("y", F8), ("z", F8), ("vx", F8), ("vy", F8), ("vz", F8),
                      ("height", F8), ("t", F8)),
    "radar_points": (("t0", None), ("dt", F4), ("frame", U4), ("count", U4), ("x", F4),
                     ("y", F4), ("z", F4), ("doppler", F4), ("snr", F4), ("t", F8)),
}
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")


# --- writing ------------------------------------------------------------------------------

def times(t: np.ndarray) -> dict[str, np.ndarray | float]:
    """The time fields of a message: t0 and exact float32 offsets, or explicit times."""
    t = np.asarray(t, dtype=np.float64)
    if len(t) == 0:
        return {"t0": 0.0, "dt": np.zeros(0, F4), "t": np.zeros(0, F8)}
    t0 = float(t[0])
    with np.errstate(all="ignore"):
        dt = (t - t0).astype(F4)
        exact = np.array_equal(t0 + dt.astype(np.float64), t)
    if exact:
        return {"t0": t0, "dt": dt, "t": np.zeros(0, F8)}
    return {"t0": t0, "dt": np.zeros(0, F4), "t": t}


def encode(kind: str, fields: dict[str, np.ndarray | float]) -> bytes:
    """A CDR message (encapsulation header included) of `kind`'s layout. Alignment is
    relative to the end of the 4-byte header; an empty sequence is not padded (what the
    ROS 2 decoders, Foxglove's and mcap-ros2-support's, expect)."""
    parts: list[bytes] = [CDR_HEADER]
    pos = 0
    for name, dtype in LAYOUTS[kind]:
        if dtype is None:
            pad = -pos % 8
            parts.append(b"\0" * pad + _F64.pack(float(fields[name])))
            pos += pad + 8
            continue
        values = np.ascontiguousarray(fields[name], dtype=dtype)
        pad = -pos % 4
        parts.append(b"\0" * pad + _U32.pack(len(values)))
        pos += pad + 4
        if len(values):
            pad = -pos % dtype.itemsize
            parts.append(b"\0" * pad + values.tobytes())
            pos += pad + values.nbytes
    return b"".join(parts)


# --- reading ------------------------------------------------------------------------------

def _gather(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """`width` bytes at each of `starts`, as an (n, width) uint8 array."""
    if len(starts) == 0:
        return np.zeros((0, width), np.uint8)
    if int(starts.max()) + width > len(buf) or int(starts.min()) < 0:
        raise CodecError("message runs past the end of its chunk")
    rows = np.lib.stride_tricks.as_strided(buf, (len(buf) - width + 1, width), (1, 1),
                                           writeable=False)
    out: np.ndarray = rows[starts]
    return out


class Columns:
    """Every column of one stream's messages in a chunk: `flat[name]` all messages'
    values one after the other, `first[name][i]` where message i's values begin
    (`first[name][-1]` is the total)."""

    def __init__(self) -> None:
        self.flat: dict[str, np.ndarray] = {}
        self.first: dict[str, np.ndarray] = {}
        self.scalar: dict[str, np.ndarray] = {}
        self._counts: dict[str, np.ndarray] = {}

    def count(self, name: str) -> np.ndarray:
        """How many values of column `name` each message holds."""
        got = self._counts.get(name)
        if got is None:
            got = self._counts[name] = np.diff(self.first[name])
        return got


#: Below this many messages a stream's messages are walked one by one: the vectorised
#: walk costs about a millisecond whatever the count (a dozen numpy calls per column),
#: which a live recording's chunk of one second, one message per stream, would pay in
#: full (measured: reading such a file 5x slower than version 2).
FEW = 16


def decode_columns(kind: str, buf: np.ndarray, data: np.ndarray, size: np.ndarray) -> Columns:
    """The columns of messages of `kind` whose data (CDR header first) start at offsets
    `data` of `buf` and are `size` bytes long; CodecError when one does not fit."""
    if np.any(size < 4):
        raise CodecError(f"{kind} message shorter than its CDR header")
    if len(data) < FEW:
        return _decode_each(kind, buf, data.tolist(), size.tolist())
    base = data + 4                      # alignment is relative to the end of the header
    pos = np.zeros(len(data), np.int64)
    cols = Columns()
    for name, dtype in LAYOUTS[kind]:
        if dtype is None:
            pos += -pos % 8
            _check(pos + 8, size - 4, kind)
            cols.scalar[name] = _gather(buf, base + pos, 8).copy().view(F8).ravel()
            pos += 8
            continue
        pos += -pos % 4
        _check(pos + 4, size - 4, kind)
        n = _gather(buf, base + pos, 4).copy().view(U4).ravel().astype(np.int64)
        pos += 4
        width = dtype.itemsize
        pos = np.where(n > 0, pos + (-pos % width), pos)
        _check(pos + n * width, size - 4, kind)
        first = np.zeros(len(n) + 1, np.int64)
        np.cumsum(n, out=first[1:])
        total = int(first[-1])
        if total:
            starts = np.repeat(base + pos - first[:-1] * width, n) + width * np.arange(total)
            cols.flat[name] = _gather(buf, starts, width).copy().view(dtype).ravel()
        else:
            cols.flat[name] = np.zeros(0, dtype)
        cols.first[name] = first
        pos += n * width
    return cols


def _decode_each(kind: str, buf: np.ndarray, data: list[int], size: list[int]) -> Columns:
    """`decode_columns` for a few messages: the same walk, one message at a time."""
    raw = buf.data
    layout = LAYOUTS[kind]
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in layout}
    for d, n_bytes in zip(data, size, strict=True):
        base, end, pos = d + 4, n_bytes - 4, 0
        for name, dtype in layout:
            if dtype is None:
                pos += -pos % 8
                if pos + 8 > end:
                    raise CodecError(f"{kind} message shorter than its columns")
                parts[name].append(np.frombuffer(raw, F8, 1, base + pos))
                pos += 8
                continue
            pos += -pos % 4
            if pos + 4 > end:
                raise CodecError(f"{kind} message shorter than its columns")
            (n,) = _U32.unpack_from(raw, base + pos)
            pos += 4
            width = dtype.itemsize
            if n:
                pos += -pos % width
            if pos + n * width > end:
                raise CodecError(f"{kind} message shorter than its columns")
            parts[name].append(np.frombuffer(raw, dtype, n, base + pos))
            pos += n * width
    cols = Columns()
    for name, dtype in layout:
        arrays = parts[name]
        flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype or F8)
        if dtype is None:
            cols.scalar[name] = flat
            continue
        cols.flat[name] = flat
        lengths = [len(a) for a in arrays]
        cols.first[name] = np.array([0] + list(accumulate(lengths)), np.int64)
        cols._counts[name] = np.array(lengths, np.int64)
    return cols


def _check(end: np.ndarray, size: np.ndarray, kind: str) -> None:
    if np.any(end > size):
        raise CodecError(f"{kind} message shorter than its columns")


def sample_times(cols: Columns, per_message: np.ndarray) -> np.ndarray:
    """Every sample's (or frame's) time, flat: t0 + dt, or the explicit t, per message;
    `per_message` is how many samples each message holds."""
    n_dt, n_t = cols.count("dt"), cols.count("t")
    if np.array_equal(n_dt, per_message) and not n_t.any():
        out: np.ndarray = np.repeat(cols.scalar["t0"], n_dt) + cols.flat["dt"].astype(np.float64)
        return out
    if not np.array_equal(np.where(n_dt > 0, n_dt, n_t), per_message) or np.any(
            (n_dt > 0) & (n_t > 0)):
        raise CodecError("message times do not match its samples")
    parts = []
    for i, (a, b) in enumerate(zip(cols.first["dt"][:-1].tolist(),
                                   cols.first["dt"][1:].tolist(), strict=True)):
        if b > a:
            parts.append(cols.scalar["t0"][i] + cols.flat["dt"][a:b].astype(np.float64))
        else:
            parts.append(cols.flat["t"][cols.first["t"][i]:cols.first["t"][i + 1]])
    return np.concatenate(parts) if parts else np.zeros(0, np.float64)
