"""Byte encodings of readings inside trace messages (docs/trace-format.md, "Messages").

One MCAP message carries a batch of readings of one stream (one sensor, one kind), so a
day of 10 Hz radar frames is 86,400 messages rather than 864,000 and replay spends its
time in the detectors, not in record parsing. High-rate kinds are packed binary (little
endian); rare kinds are compact JSON that Foxglove and `jq` can read.

Encodings are lossless for what the simulator and drivers produce: accelerometer values
on the 2^-11 g grid of a +-16 g 16-bit sensor go as int16, anything else as float32 when
that is exact, else float64; regular sample times (within 1 us) go as t0 + i*dt.
Radar values on the millimetre grid (what the simulator produces) go as int16 mm,
anything else as float32 (sub-micrometre at room scale).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, Callable, Sequence

import numpy as np

from sensordata.readings import (
    READING_TYPES,
    AccelBlock,
    RadarPoints,
    RadarTargets,
    Reading,
    Target,
)

ACCEL_ENCODING = "safehome.accel.v1"
POINTS_ENCODING = "safehome.radar_points.v1"
TARGETS_ENCODING = "safehome.radar_targets.v1"
JSON_ENCODING = "json"

_ACCEL_HDR = struct.Struct("<BBBxIddd")      # time mode, value mode, -, n, t0, dt, scale
INT16_SCALE = 2.0 ** -11                     # g per LSB of a +-16 g, 16-bit accelerometer
TIME_TOLERANCE = 1e-6                        # seconds: regular-time packing error allowed

T_REGULAR, T_EXPLICIT = 0, 1
V_INT16, V_FLOAT32, V_FLOAT64 = 0, 1, 2


class CodecError(ValueError):
    """A message's bytes do not decode: the trace is corrupt there."""


def encoding_for(kind: str) -> str:
    return {"accel": ACCEL_ENCODING, "radar_points": POINTS_ENCODING,
            "radar_targets": TARGETS_ENCODING}.get(kind, JSON_ENCODING)


# --- accelerometer blocks -------------------------------------------------------------

def _encode_accel(b: AccelBlock) -> bytes:
    t = np.asarray(b.t, dtype=np.float64)
    xyz = np.asarray(b.xyz, dtype=np.float64)
    n = len(t)
    t0 = float(t[0]) if n else 0.0
    dt = float((t[-1] - t[0]) / (n - 1)) if n > 1 else 0.0
    tmode = T_EXPLICIT
    if n > 0 and (n == 1 or np.max(np.abs(t0 + np.arange(n) * dt - t)) <= TIME_TOLERANCE):
        tmode = T_REGULAR
    scaled = xyz / INT16_SCALE
    if n and np.all(np.abs(scaled) <= 32767) and np.array_equal(np.round(scaled), scaled):
        vmode, values = V_INT16, scaled.astype("<i2")
    elif np.array_equal(xyz.astype(np.float32).astype(np.float64), xyz):
        vmode, values = V_FLOAT32, xyz.astype("<f4")
    else:
        vmode, values = V_FLOAT64, xyz.astype("<f8")
    parts = [_ACCEL_HDR.pack(tmode, vmode, 0, n, t0, dt, INT16_SCALE)]
    if tmode == T_EXPLICIT:
        parts.append(t.astype("<f8").tobytes())
    parts.append(values.tobytes())
    return b"".join(parts)


def _decode_accel(sensor: str, data: memoryview, pos: int) -> tuple[AccelBlock, int]:
    tmode, vmode, _, n, t0, dt, scale = _ACCEL_HDR.unpack_from(data, pos)
    pos += _ACCEL_HDR.size
    if tmode == T_REGULAR:
        t = t0 + np.arange(n, dtype=np.float64) * dt
    elif tmode == T_EXPLICIT:
        t = np.frombuffer(data, "<f8", n, pos).copy()
        pos += 8 * n
    else:
        raise CodecError(f"accel time mode {tmode} unknown")
    dtype, size = {V_INT16: ("<i2", 2), V_FLOAT32: ("<f4", 4), V_FLOAT64: ("<f8", 8)}.get(
        vmode, (None, 0))
    if dtype is None:
        raise CodecError(f"accel value mode {vmode} unknown")
    raw = np.frombuffer(data, dtype, 3 * n, pos).reshape(n, 3)
    pos += size * 3 * n
    xyz = raw.astype(np.float64) * scale if vmode == V_INT16 else raw.astype(np.float64)
    return AccelBlock(sensor, t, xyz), pos


# --- radar: columnar, one message holds many frames ------------------------------------
# n frames; t f8[n]; frame u4[n]; count u2[n]; then the rows of all frames together.

_TARGET_ROW = np.dtype([("tid", "<u4"), ("v", "<f4", (7,))])  # x y z vx vy vz height(NaN=None)


def _frame_columns(frames: Sequence[Any], counts: list[int]) -> list[bytes]:
    return [struct.pack("<I", len(frames)),
            np.array([f.t for f in frames], "<f8").tobytes(),
            np.array([f.frame for f in frames], "<u4").tobytes(),
            np.array(counts, "<u2").tobytes()]


def _read_columns(data: bytes) -> tuple[list[float], list[int], list[int], int]:
    (n,) = struct.unpack_from("<I", data, 0)
    pos = 4
    t = np.frombuffer(data, "<f8", n, pos).tolist()
    pos += 8 * n
    frame = np.frombuffer(data, "<u4", n, pos).tolist()
    pos += 4 * n
    counts = np.frombuffer(data, "<u2", n, pos).tolist()
    return t, frame, counts, pos + 2 * n


_TARGET_MM = np.dtype([("tid", "<u2"), ("v", "<i2", (7,))])  # millimetres, mm/s
_MM_NONE = -32768


def _on_mm_grid(vals: np.ndarray) -> bool:
    """True when every value is k/1000 exactly (k a 16-bit integer), NaN allowed."""
    finite = vals[np.isfinite(vals)]
    k = np.round(finite * 1000.0)
    return bool(np.all(np.abs(k) < 32767) and np.array_equal(k / 1000.0, finite))


def _encode_targets(frames: Sequence[RadarTargets]) -> bytes:
    tg = [g for f in frames for g in f.targets]
    vals = np.array([(g.x, g.y, g.z, g.vx, g.vy, g.vz, math.nan if g.height is None
                      else g.height) for g in tg], dtype=np.float64).reshape(-1, 7)
    tids = np.array([g.tid for g in tg], dtype=np.int64)
    if len(tg) and _on_mm_grid(vals) and np.all(tids < 65536) and np.all(np.isfinite(vals[:, :6])):
        rows = np.zeros(len(tg), _TARGET_MM)
        rows["tid"] = tids
        mm = np.round(np.nan_to_num(vals, nan=0.0) * 1000.0).astype(np.int64)
        mm[np.isnan(vals)] = _MM_NONE
        rows["v"] = mm
        mode = 1
    else:
        rows = np.zeros(len(tg), _TARGET_ROW)
        rows["tid"] = tids
        rows["v"] = vals
        mode = 0
    return b"".join(_frame_columns(frames, [len(f.targets) for f in frames])
                    + [bytes([mode]), rows.tobytes()])


def _decode_targets(sensor: str, data: bytes) -> list[RadarTargets]:
    t, frame, counts, pos = _read_columns(data)
    total = sum(counts)
    if pos >= len(data):
        raise CodecError("radar_targets message ends before its value mode")
    mode = data[pos]
    pos += 1
    dtype = {0: _TARGET_ROW, 1: _TARGET_MM}.get(mode)
    if dtype is None:
        raise CodecError(f"radar_targets value mode {mode} unknown")
    if pos + total * dtype.itemsize != len(data):
        raise CodecError("radar_targets message length does not match its frame counts")
    rows = np.frombuffer(data, dtype, total, pos)
    tids = rows["tid"].tolist()
    if mode == 1:
        raw = rows["v"]
        v = raw / 1000.0
        v[raw == _MM_NONE] = np.nan
        vals = v.tolist()
    else:
        vals = rows["v"].astype(np.float64).tolist()
    out, i = [], 0
    for ti, fi, c in zip(t, frame, counts, strict=True):
        if c == 0:
            out.append(_radar_frame(sensor, ti, fi, ()))
            continue
        targets = []
        for j in range(i, i + c):
            x, y, z, vx, vy, vz, h = vals[j]
            targets.append(Target(tids[j], x, y, z, vx, vy, vz, None if h != h else h))
        i += c
        out.append(_radar_frame(sensor, ti, fi, tuple(targets)))
    return out


_new = object.__new__
# slot descriptors, looked up once (mypy does not model class-level slot access)
_SET_SENSOR = RadarTargets.sensor.__set__      # type: ignore[attr-defined,misc]
_SET_T = RadarTargets.t.__set__                # type: ignore[attr-defined,misc]
_SET_FRAME = RadarTargets.frame.__set__        # type: ignore[attr-defined,misc]
_SET_TARGETS = RadarTargets.targets.__set__    # type: ignore[attr-defined,misc]


def _radar_frame(sensor: str, t: float, frame: int, targets: tuple[Target, ...]) -> RadarTargets:
    """RadarTargets without the frozen dataclass __init__ (half the cost; a day of two
    radars is 1.7 million frames). Fields are the ones just decoded, so nothing to check."""
    obj = _new(RadarTargets)
    _SET_SENSOR(obj, sensor)
    _SET_T(obj, t)
    _SET_FRAME(obj, frame)
    _SET_TARGETS(obj, targets)
    return obj


def _encode_points(frames: Sequence[RadarPoints]) -> bytes:
    pts = [np.asarray(f.points, dtype="<f4").reshape(-1, 5) for f in frames]
    body = np.concatenate(pts).tobytes() if pts else b""
    return b"".join(_frame_columns(frames, [len(p) for p in pts]) + [body])


def _decode_points(sensor: str, data: bytes) -> list[RadarPoints]:
    t, frame, counts, pos = _read_columns(data)
    total = sum(counts)
    if pos + total * 20 != len(data):
        raise CodecError("radar_points message length does not match its point counts")
    allpts = np.frombuffer(data, "<f4", total * 5, pos).reshape(total, 5).copy()
    out, i = [], 0
    for ti, fi, c in zip(t, frame, counts, strict=True):
        out.append(RadarPoints(sensor, ti, fi, allpts[i:i + c]))
        i += c
    return out


# --- everything else: JSON --------------------------------------------------------------

def _fields(r: Reading) -> dict[str, Any]:
    out = {}
    for name in type(r).__slots__:
        if name == "sensor":
            continue
        v = getattr(r, name)
        out[name] = list(v) if isinstance(v, tuple) else v
    return out


def _from_fields(kind: str, sensor: str, d: dict[str, Any]) -> Reading:
    cls = READING_TYPES[kind]
    if "rr" in d:
        d["rr"] = tuple(d["rr"])
    reading: Reading = cls(sensor=sensor, **d)
    return reading


_COLUMNAR: dict[str, tuple[Callable[[Any], bytes], Callable[[str, bytes], list[Any]]]] = {
    "radar_points": (_encode_points, _decode_points),
    "radar_targets": (_encode_targets, _decode_targets),
}


def encode(kind: str, readings: Sequence[Reading]) -> bytes:
    """One message's bytes for a batch of readings of one stream."""
    if kind == "accel":
        return b"".join(_encode_accel(r) for r in readings if isinstance(r, AccelBlock))
    if kind in _COLUMNAR:
        return _COLUMNAR[kind][0](readings)
    return json.dumps({"r": [_fields(r) for r in readings]}, separators=(",", ":"),
                      allow_nan=False).encode()


def decode(kind: str, sensor: str, data: bytes) -> list[Reading]:
    """The readings in one message; CodecError when the bytes are not a valid batch."""
    try:
        if kind in _COLUMNAR:
            return _COLUMNAR[kind][1](sensor, data)
        if kind == "accel":
            view, pos = memoryview(data), 0
            out: list[Reading] = []
            while pos < len(data):
                r, pos = _decode_accel(sensor, view, pos)
                out.append(r)
            if pos != len(data):
                raise CodecError(f"{kind} message has {pos - len(data)} bytes missing")
            return out
        if kind not in READING_TYPES:
            raise CodecError(f"unknown reading kind {kind!r}")
        return [_from_fields(kind, sensor, d) for d in json.loads(data)["r"]]
    except CodecError:
        raise
    except (ValueError, TypeError, KeyError, struct.error) as exc:
        raise CodecError(f"{kind} message does not decode: {exc}") from exc
