"""Pure decoders for the BLE payloads Safehome reads: GATT Heart Rate, Battery, Polar PMD.

No bleak here: the drivers hand these functions the exact bytes of a notification, so the
same code is tested against spec vectors, fuzzed, and run live. Malformed payloads raise
`PayloadError` (a ValueError); the drivers count and skip them, they never crash on them.

Heart Rate Measurement 0x2A37 (Bluetooth GATT spec): flags u8 — bit0 HR is u16 (else u8),
bit1 contact detected, bit2 contact supported, bit3 energy expended u16 present, bit4 RR
intervals present — then HR, optional energy expended (kJ), then any number of u16 RR
intervals in 1/1024 s. Little-endian throughout.

Polar PMD data (Polar BLE SDK): u8 measurement type (2 = accelerometer), u64 timestamp in
ns since 2000-01-01 UTC *of the last sample in the frame*, u8 frame type (bit 7 set =
delta-compressed), then samples. Raw frame types 0/1/2 carry x, y, z as signed 8/16/24-bit
integers in milli-g. A compressed frame starts with one reference sample (channels x
ceil(resolution/8) bytes, signed LE), then blocks of: u8 delta bit width, u8 sample count,
and count x channels deltas of that width packed least-significant bit first, each sign
extended and added to the previous sample. Compressed ACC uses 16-bit resolution (frame
types 0 and 1); the result is multiplied by the stream's factor when it is not 1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

POLAR_EPOCH_UNIX = 946684800.0  # 2000-01-01T00:00:00Z
PMD_TYPE_ACC = 2
PMD_CP_RESPONSE = 0xF0
PMD_OP_GET_SETTINGS, PMD_OP_START, PMD_OP_STOP = 0x01, 0x02, 0x03
PMD_SETTING_SAMPLE_RATE, PMD_SETTING_RESOLUTION, PMD_SETTING_RANGE = 0, 1, 2
PMD_SETTING_FACTOR = 5
_SETTING_SIZES = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}


class PayloadError(ValueError):
    """A notification whose bytes do not fit the layout."""


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    bpm: int
    contact: bool | None  # None when the sensor does not support contact detection
    energy_kj: int | None
    rr_s: tuple[float, ...]


def parse_heart_rate(data: bytes) -> HeartRateMeasurement:
    if len(data) < 2:
        raise PayloadError(f"heart rate measurement too short ({len(data)} bytes)")
    flags = data[0]
    pos = 1
    if flags & 0x01:
        if len(data) < 3:
            raise PayloadError("heart rate flagged u16 but only one byte follows")
        (bpm,) = struct.unpack_from("<H", data, pos)
        pos += 2
    else:
        bpm = data[pos]
        pos += 1
    contact = bool(flags & 0x02) if flags & 0x04 else None
    energy = None
    if flags & 0x08:
        if len(data) < pos + 2:
            raise PayloadError("energy expended flagged but missing")
        (energy,) = struct.unpack_from("<H", data, pos)
        pos += 2
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        rest = data[pos:]
        if len(rest) % 2:
            raise PayloadError("RR interval bytes not a multiple of two")
        rr = tuple(v / 1024.0 for (v,) in struct.iter_unpack("<H", rest))
    return HeartRateMeasurement(bpm, contact, energy, rr)


def encode_heart_rate(bpm: int, contact: bool | None = None, energy_kj: int | None = None,
                      rr_1024: tuple[int, ...] = (), wide: bool = False) -> bytes:
    """Build a 0x2A37 payload (for fakes and tests)."""
    flags = 0x01 if wide or bpm > 255 else 0
    if contact is not None:
        flags |= 0x04 | (0x02 if contact else 0)
    if energy_kj is not None:
        flags |= 0x08
    if rr_1024:
        flags |= 0x10
    out = bytes([flags]) + (struct.pack("<H", bpm) if flags & 0x01 else bytes([bpm]))
    if energy_kj is not None:
        out += struct.pack("<H", energy_kj)
    for v in rr_1024:
        out += struct.pack("<H", v)
    return out


def parse_battery(data: bytes) -> int:
    if len(data) < 1:
        raise PayloadError("empty battery level")
    if data[0] > 100:
        raise PayloadError(f"battery level {data[0]} > 100")
    return data[0]


# ---------------------------------------------------------------- Polar PMD

@dataclass(frozen=True, slots=True)
class PmdFrame:
    measurement_type: int
    timestamp_ns: int  # ns since 2000-01-01, of the frame's last sample
    frame_type: int  # without the compression bit
    compressed: bool
    payload: bytes


def parse_pmd_header(data: bytes) -> PmdFrame:
    if len(data) < 10:
        raise PayloadError(f"PMD frame too short ({len(data)} bytes)")
    mtype = data[0]
    (ts,) = struct.unpack_from("<Q", data, 1)
    ft = data[9]
    return PmdFrame(mtype, ts, ft & 0x7F, bool(ft & 0x80), bytes(data[10:]))


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def decode_delta_frames(payload: bytes, channels: int, resolution: int) -> list[list[int]]:
    """Undo Polar's delta compression: reference sample, then bit-packed delta blocks."""
    ref_bytes = (resolution + 7) // 8
    need = channels * ref_bytes
    if len(payload) < need:
        raise PayloadError("compressed frame shorter than its reference sample")
    ref = [_signed(int.from_bytes(payload[i * ref_bytes:(i + 1) * ref_bytes], "little"),
                   ref_bytes * 8) for i in range(channels)]
    samples = [ref]
    pos = need
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise PayloadError("delta block header cut short")
        width, count = payload[pos], payload[pos + 1]
        pos += 2
        if width == 0 or width > 32:
            raise PayloadError(f"delta bit width {width} out of range")
        nbits = width * count * channels
        nbytes = (nbits + 7) // 8
        if pos + nbytes > len(payload):
            raise PayloadError("delta block data cut short")
        bits = int.from_bytes(payload[pos:pos + nbytes], "little")
        pos += nbytes
        mask = (1 << width) - 1
        shift = 0
        last = samples[-1]
        for _ in range(count):
            nxt = []
            for ch in range(channels):
                delta = _signed((bits >> shift) & mask, width)
                shift += width
                nxt.append(last[ch] + delta)
            samples.append(nxt)
            last = nxt
    return samples


def encode_delta_frames(samples: list[list[int]], resolution: int, width: int) -> bytes:
    """Inverse of decode_delta_frames with one block of fixed width (fakes and tests)."""
    ref_bytes = (resolution + 7) // 8
    out = b"".join(int(v).to_bytes(ref_bytes, "little", signed=True) for v in samples[0])
    bits, shift = 0, 0
    for prev, cur in pairwise(samples):
        for a, b in zip(prev, cur, strict=True):
            d = b - a
            if not -(1 << (width - 1)) <= d < (1 << (width - 1)):
                raise ValueError(f"delta {d} does not fit {width} bits")
            bits |= (d & ((1 << width) - 1)) << shift
            shift += width
    if len(samples) > 1:
        out += bytes([width, len(samples) - 1]) + bits.to_bytes((shift + 7) // 8, "little")
    return out


def acc_samples_mg(frame: PmdFrame, factor: float = 1.0) -> np.ndarray:
    """The frame's accelerometer samples, shape (N, 3), in milli-g."""
    if frame.measurement_type != PMD_TYPE_ACC:
        raise PayloadError(f"not an accelerometer frame (type {frame.measurement_type})")
    if frame.compressed:
        if frame.frame_type not in (0, 1):
            raise PayloadError(f"compressed ACC frame type {frame.frame_type} unknown")
        arr = np.asarray(decode_delta_frames(frame.payload, 3, 16), dtype=np.float64)
        if frame.frame_type == 0:
            # compressed type 0 arrives in units of `factor` g (Polar SDK); make it milli-g
            arr = arr * factor * 1000.0
        elif factor != 1.0:
            arr = arr * factor
        return arr.reshape(-1, 3)
    width = {0: 1, 1: 2, 2: 3}.get(frame.frame_type)
    if width is None:
        raise PayloadError(f"raw ACC frame type {frame.frame_type} unknown")
    step = 3 * width
    if len(frame.payload) % step:
        raise PayloadError(f"ACC payload {len(frame.payload)} B not a multiple of {step}")
    if width == 2:
        return np.frombuffer(frame.payload, dtype="<i2").astype(np.float64).reshape(-1, 3)
    if width == 1:
        return np.frombuffer(frame.payload, dtype="i1").astype(np.float64).reshape(-1, 3)
    raw = np.frombuffer(frame.payload, dtype=np.uint8).reshape(-1, 3)
    vals = raw[:, 0].astype(np.int32) | (raw[:, 1].astype(np.int32) << 8) | (
        raw[:, 2].astype(np.int32) << 16)
    vals = np.where(vals & 0x800000, vals - (1 << 24), vals)
    return vals.astype(np.float64).reshape(-1, 3)


def sample_times(last_ts_ns: int, n: int, prev_ts_ns: int | None, rate_hz: float) -> np.ndarray:
    """Unix times of n samples ending at `last_ts_ns` (Polar epoch).

    The spacing comes from the previous frame's last timestamp when there is one (the
    device clock is the truth), else from the nominal sample rate.
    """
    if n <= 0:
        return np.zeros(0)
    if prev_ts_ns is not None and last_ts_ns > prev_ts_ns:
        step = (last_ts_ns - prev_ts_ns) / n
    else:
        step = 1e9 / rate_hz
    ns = last_ts_ns - step * np.arange(n - 1, -1, -1, dtype=np.float64)
    return POLAR_EPOCH_UNIX + ns / 1e9


def encode_pmd_start(measurement_type: int, settings: dict[int, int]) -> bytes:
    """Control-point 'start stream': 02 | type | (setting id, count 1, value LE)..."""
    out = bytes([PMD_OP_START, measurement_type])
    for sid, value in settings.items():
        out += bytes([sid, 1]) + int(value).to_bytes(_SETTING_SIZES[sid], "little")
    return out


def encode_pmd_stop(measurement_type: int) -> bytes:
    return bytes([PMD_OP_STOP, measurement_type])


@dataclass(frozen=True, slots=True)
class PmdResponse:
    opcode: int
    measurement_type: int
    status: int  # 0 success
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0


def parse_pmd_response(data: bytes) -> PmdResponse:
    if len(data) < 4 or data[0] != PMD_CP_RESPONSE:
        raise PayloadError(f"not a PMD control point response: {bytes(data).hex(' ')}")
    params = bytes(data[5:]) if data[3] == 0 and len(data) > 5 else b""
    return PmdResponse(data[1], data[2], data[3], params)


def parse_pmd_settings(parameters: bytes) -> dict[int, list[int]]:
    """A get-settings answer: (setting id, count, count values LE)... -> id -> values."""
    out: dict[int, list[int]] = {}
    pos = 0
    while pos + 2 <= len(parameters):
        sid, count = parameters[pos], parameters[pos + 1]
        pos += 2
        size = _SETTING_SIZES.get(sid)
        if size is None or pos + size * count > len(parameters):
            raise PayloadError(f"PMD settings malformed at byte {pos - 2}")
        out[sid] = [int.from_bytes(parameters[pos + i * size:pos + (i + 1) * size], "little")
                    for i in range(count)]
        pos += size * count
    return out


def pmd_factor(parameters: bytes) -> float:
    """The FACTOR setting (float32) in a start response's parameters; 1.0 if absent."""
    pos = 0
    while pos + 2 <= len(parameters):
        sid, count = parameters[pos], parameters[pos + 1]
        pos += 2
        size = _SETTING_SIZES.get(sid)
        if size is None or pos + size * count > len(parameters):
            break
        if sid == PMD_SETTING_FACTOR and count >= 1:
            (f,) = struct.unpack_from("<f", parameters, pos)
            return float(f) if np.isfinite(f) and f > 0 else 1.0
        pos += size * count
    return 1.0
