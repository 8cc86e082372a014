"""Trace format v2: one reading per MCAP message, in encodings standard viewers decode.

Version 3 keeps this module's JSON messages for the low-rate kinds and writes the
high-rate ones as a window of a stream per message, in columns (batches.py); the v2 CDR
layouts below are still read, and written by `TraceWriter(version=2)`.

Version 1 packed a window of readings into one message in private binary encodings, so
Foxglove and the mcap tools saw opaque bytes and a plot showed one point per window. In
version 2 every message is one reading whose `log_time` is the reading's own sensor time:

- `accel` (one message per sample), `radar_targets`, `radar_points` (one per frame): CDR
  with a `ros2msg` schema, the encoding of ROS 2 MCAP files. Foxglove, the mcap CLI and
  `mcap-ros2-support` decode it without knowing Safehome, and a plot of
  `/wearable/accel.x` shows every sample.
- every other kind, ground-truth labels and recorded events: JSON with a JSON Schema.

Why CDR and not protobuf: its layouts are fixed (an accelerometer sample is always 36
bytes; a radar frame is a 16-byte head plus fixed-size rows), so the reader decodes a
chunk's messages of one stream with numpy from the chunk's message index instead of
parsing 4 million messages a day one by one (see `columns.py`), and replay keeps its speed.

Every message of a writer window carries the window's start as `publish_time`; the reader
groups by it to restore the arrival order exactly as version 1 did.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import types
import typing
from typing import Any

import numpy as np

from sensordata.readings import (
    READING_TYPES,
    AccelBlock,
    RadarPoints,
    RadarTargets,
    Reading,
)

CDR = "cdr"
ROS2MSG = "ros2msg"
JSON = "json"
JSONSCHEMA = "jsonschema"
#: CDR encapsulation header: plain CDR, little endian.
CDR_HEADER = b"\x00\x01\x00\x00"

#: Bytes of a Message record before its data: opcode u8, length u64, channel u16,
#: sequence u32, log time u64, publish time u64.
RECORD_HEAD = 1 + 8 + 2 + 4 + 8 + 8
PUBLISH_TIME_AT = 1 + 8 + 2 + 4 + 8

ACCEL_SCHEMA = ("safehome_msgs/msg/Acceleration", """\
# One accelerometer sample of a worn sensor, in g, in the sensor's own axes.
float64 t  # sensor time, seconds since the Unix epoch
float64 x
float64 y
float64 z
""")

TARGETS_SCHEMA = ("safehome_msgs/msg/RadarTargets", """\
# One frame of a people-tracking radar: the tracked people, room frame (radar mid front
# wall, x across, y into the room, z up), metres and metres per second.
float64 t  # sensor time, seconds since the Unix epoch
uint32 frame
safehome_msgs/Target[] targets
================================================================================
MSG: safehome_msgs/Target
uint32 tid
float64 x
float64 y
float64 z
float64 vx
float64 vy
float64 vz
float64 height  # top of the person above the floor; NaN when the radar does not say
""")

POINTS_SCHEMA = ("safehome_msgs/msg/RadarPoints", """\
# One frame of a radar point cloud: detected points, room frame, metres.
float64 t  # sensor time, seconds since the Unix epoch
uint32 frame
safehome_msgs/Point[] points
================================================================================
MSG: safehome_msgs/Point
float32 x
float32 y
float32 z
float32 doppler  # radial speed, m/s
float32 snr
""")

CDR_SCHEMAS = {"accel": ACCEL_SCHEMA, "radar_targets": TARGETS_SCHEMA,
               "radar_points": POINTS_SCHEMA}

#: A whole accelerometer Message record: fixed size, so a run of them is one numpy array.
ACCEL_RECORD = np.dtype([("op", "u1"), ("len", "<u8"), ("ch", "<u2"), ("seq", "<u4"),
                         ("log", "<u8"), ("pub", "<u8"), ("cdr", "V4"), ("t", "<f8"),
                         ("xyz", "<f8", (3,))])
ACCEL_DATA = ACCEL_RECORD.itemsize - RECORD_HEAD          # 36 bytes
FRAME_HEAD = struct.Struct("<4sdII")                      # CDR header, t, frame, count
TARGET_ROW = np.dtype([("tid", "<u4"), ("pad", "V4"), ("v", "<f8", (7,))])   # 64 bytes
POINT_ROW = np.dtype([("v", "<f4", (5,))])                                    # 20 bytes
_TARGET = struct.Struct("<I4x7d")
_OPCODE_MESSAGE = 0x05


class CodecError(ValueError):
    """A message's bytes do not decode: the trace is corrupt there."""


def message_encoding(kind: str) -> str:
    return CDR if kind in CDR_SCHEMAS else JSON


def schema_for(kind: str) -> tuple[str, str, bytes]:
    """(name, schema encoding, schema data) of a reading kind's channel."""
    if kind in CDR_SCHEMAS:
        name, text = CDR_SCHEMAS[kind]
        return name, ROS2MSG, text.encode()
    return f"safehome.{kind}", JSONSCHEMA, json.dumps(json_schema(kind), sort_keys=True).encode()


# --- JSON kinds -------------------------------------------------------------------------

def _json_type(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [_json_type(a) for a in typing.get_args(tp) if a is not type(None)]
        nullable = type(None) in typing.get_args(tp)
        kinds = [i["type"] for i in inner] + (["null"] if nullable else [])
        return {"type": kinds[0] if len(kinds) == 1 else kinds}
    if origin is tuple or tp is tuple:
        return {"type": "array", "items": {"type": "number"}}
    return {"type": {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        tp, "string")}


def json_schema(kind: str) -> dict[str, Any]:
    """A JSON Schema for one reading of `kind`, made from the reading's dataclass, so the
    schema and what the writer emits cannot drift apart."""
    cls = READING_TYPES[kind]
    hints = typing.get_type_hints(cls)
    props = {f.name: _json_type(hints[f.name]) for f in dataclasses.fields(cls)
             if f.name != "sensor"}
    props["t"]["description"] = "sensor time, seconds since the Unix epoch"
    required = [f.name for f in dataclasses.fields(cls) if f.name != "sensor"
                and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"safehome {kind} reading", "type": "object",
            "properties": props, "required": required, "additionalProperties": False}


def encode_json(r: Reading) -> bytes:
    out = {}
    for name in type(r).__slots__:
        if name != "sensor":
            v = getattr(r, name)
            out[name] = list(v) if isinstance(v, tuple) else v
    return json.dumps(out, separators=(",", ":"), allow_nan=False).encode()


def decode_json(kind: str, sensor: str, data: bytes | memoryview) -> Reading:
    try:
        d = json.loads(bytes(data))
        if "rr" in d:
            d["rr"] = tuple(d["rr"])
        reading: Reading = READING_TYPES[kind](sensor=sensor, **d)
        return reading
    except (ValueError, TypeError, KeyError) as exc:
        raise CodecError(f"{kind} message does not decode: {exc}") from exc


# --- CDR kinds: writing -------------------------------------------------------------------

def accel_records(ch: int, blocks: list[AccelBlock], publish_ns: int) -> tuple[np.ndarray, bytes]:
    """The Message records of a stream's samples in one window: (log times, bytes)."""
    t = np.concatenate([np.asarray(b.t, dtype=np.float64) for b in blocks])
    xyz = np.concatenate([np.asarray(b.xyz, dtype=np.float64).reshape(-1, 3) for b in blocks])
    rec = np.zeros(len(t), ACCEL_RECORD)
    rec["op"] = _OPCODE_MESSAGE
    rec["len"] = ACCEL_RECORD.itemsize - 9
    rec["ch"] = ch
    log = np.round(np.maximum(np.nan_to_num(t), 0.0) * 1e9).astype(np.uint64)
    rec["log"] = log
    rec["pub"] = publish_ns
    rec["cdr"] = CDR_HEADER
    rec["t"] = t
    rec["xyz"] = xyz
    return log, rec.tobytes()


def encode_targets(f: RadarTargets) -> bytes:
    return b"".join([FRAME_HEAD.pack(CDR_HEADER, f.t, f.frame, len(f.targets))] + [
        _TARGET.pack(g.tid, g.x, g.y, g.z, g.vx, g.vy, g.vz,
                     math.nan if g.height is None else g.height) for g in f.targets])


def encode_points(f: RadarPoints) -> bytes:
    pts = np.asarray(f.points, dtype="<f4").reshape(-1, 5)
    return FRAME_HEAD.pack(CDR_HEADER, f.t, f.frame, len(pts)) + pts.tobytes()


def encode_one(kind: str, r: Reading) -> bytes:
    """The message data of one (non-accelerometer) reading."""
    if kind == "radar_targets":
        return encode_targets(r)  # type: ignore[arg-type]
    if kind == "radar_points":
        return encode_points(r)  # type: ignore[arg-type]
    return encode_json(r)
