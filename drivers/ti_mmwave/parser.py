"""Incremental parser for the TI mmWave data port (out-of-box demo and people tracking).

Bytes go in with `feed()` in whatever chunks the UART delivers; complete frames come out.
Nothing here raises on bad input: a radar that is rebooted, a cable that is pulled, a
capture that begins mid-frame must never crash the gateway. Instead the parser counts
what it had to do (`stats`) so `safehome doctor` and the heartbeats can show it.

Framing rules (facts: ../shared/reference/sensor-protocols.md, TI section; the SDK 2.x
header is the same 40 bytes, version = Major << 24 | Minor << 16 | Bugfix << 8 | Build):

* A frame starts with the magic word 02 01 04 03 06 05 08 07 followed by a 40-byte header
  (36 bytes on IWR1443, recognised by `platform & 0xFFFF == 0x1443`: no subFrameNumber).
* `totalPacketLen` covers header + TLVs + padding to a multiple of 32 bytes. Padding bytes
  are not reliably 0x0F, so they are skipped by length and never looked at.
* TLVs follow the header: u32 type, u32 length of the payload (SDK 2.x and 3.x alike).
  If that reading does not fit the packet, or meets a TLV type no demo uses (0 or
  >= 65536), the parser tries once more reading length as including the 8-byte TLV
  header (some lab firmware does this) and, if that fits with plausible types, uses it
  and counts `tlv_len_includes_header`; if neither fits, the frame is dropped.
* A magic word found *inside* a frame's announced length means that frame was cut short
  (UART overrun, radar reset, the start of a capture): the cut frame is decoded only if
  all its TLVs are before the cut (only padding lost), otherwise dropped; parsing resumes
  at the new magic word. A header whose length is impossible (shorter than the header,
  longer than `max_packet_len`, more TLVs than fit) is a false magic word: skipped.
* A frame number lower than the previous one means the radar restarted (`restarts`);
  numbers skipped between two frames are counted in `frames_missed`.
* Not supported: the 48-byte header of the old Industrial Toolbox 4.x people-counting
  labs (u16 numTLVs and checksum). Those frames are not recognised; expect them to be
  counted as `frames_dropped`.

TLV 1 has two wire formats. The rule for choosing one:

1. SDK 2.x (and 1.x): `u16 numObj, u16 xyzQFormat`, then 12 bytes per object. It is
   *consistent* when the payload length is exactly 4 + 12 * numObj.
2. SDK 3.x: 16 bytes per point, float32 x, y, z, v. Consistent when the payload length
   is a multiple of 16.
3. The header version's major number (version >> 24) picks the preferred format:
   >= 3 means 3.x, anything lower 2.x. The preferred format is used when it is
   consistent. If both are consistent and only the other one's point count equals the
   header's numDetectedObj, the other one is used (a firmware with a wrong version
   field). If only the other format is consistent, it is used. Either switch is counted
   in `format_mismatch`; if neither fits, the TLV is skipped with a warning.
"""

from __future__ import annotations

import struct
from typing import Any, Iterator

import numpy as np

from drivers.ti_mmwave import frames as F
from drivers.ti_mmwave.frames import MAGIC, Frame, FrameHeader, Points, TrackedTarget

_U32x8 = struct.Struct("<8I")
_U32x7 = struct.Struct("<7I")
_TL = struct.Struct("<II")

HEADER_LEN = 40
HEADER_LEN_1443 = 36
DEFAULT_MAX_PACKET_LEN = 1 << 20  # heatmaps of big configs are tens of KiB; 1 MiB is ample

_Q_OBJ = np.dtype([("range_idx", "<u2"), ("doppler_idx", "<i2"), ("peak", "<u2"),
                   ("x", "<i2"), ("y", "<i2"), ("z", "<i2")])
_F_PT = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("v", "<f4")])
_SIDE = np.dtype([("snr", "<i2"), ("noise", "<i2")])
_TARGET = np.dtype([("tid", "<u4"), ("pos", "<f4", 3), ("vel", "<f4", 3), ("acc", "<f4", 3),
                    ("ec", "<f4", 16), ("g", "<f4"), ("conf", "<f4")])
_HEIGHT = np.dtype([("tid", "<u4"), ("max_z", "<f4"), ("min_z", "<f4")])
_CPT = np.dtype([("el", "i1"), ("az", "i1"), ("doppler", "<i2"), ("range", "<u2"), ("snr", "<u2")])
assert _Q_OBJ.itemsize == 12 and _F_PT.itemsize == 16 and _TARGET.itemsize == 112
assert _HEIGHT.itemsize == 12 and _CPT.itemsize == 8

STAT_NAMES = ("frames_decoded", "frames_dropped", "bytes_discarded", "restarts",
              "frames_missed", "format_mismatch", "tlv_errors", "tlv_len_includes_header")


class FrameParser:
    """Feed bytes, get `Frame`s. One instance per byte stream (it keeps the tail)."""

    def __init__(self, max_packet_len: int = DEFAULT_MAX_PACKET_LEN) -> None:
        self.max_packet_len = max_packet_len
        self._buf = bytearray()
        self._scanned = 0  # offset up to which the current candidate was searched for magic
        self._held = 0  # leading bytes that are a decoded frame's padding, kept in case a
        #                 cut-short next frame's magic word starts inside them
        self._last: tuple[int, int] | None = None  # (frame number, subframe)
        self.stats: dict[str, int] = {k: 0 for k in STAT_NAMES}

    # -- public API ----------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return the frames completed by them (possibly none)."""
        if data:
            self._buf += data
        return list(self._drain())

    def finish(self) -> list[Frame]:
        """End of stream: a frame still incomplete is dropped, leftover bytes discarded."""
        buf = self._buf
        if buf.startswith(MAGIC):
            self.stats["frames_dropped"] += 1
        self._discard(len(buf))
        return []

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    # -- framing -------------------------------------------------------------------
    def _discard(self, n: int) -> None:
        if n > 0:
            del self._buf[:n]
            padding = min(n, self._held)  # a decoded frame's padding is not "discarded"
            self._held -= padding
            self.stats["bytes_discarded"] += n - padding
        self._scanned = 0

    def _drain(self) -> Iterator[Frame]:
        buf = self._buf
        while True:
            i = buf.find(MAGIC)
            if i < 0:
                # Keep a tail that may be the start of a magic word split across chunks.
                self._discard(len(buf) - _magic_prefix_len(buf))
                return
            if i:
                self._discard(i)
            self._held = 0
            if len(buf) < HEADER_LEN_1443:
                return
            (_v, total, platform) = struct.unpack_from("<3I", buf, 8)
            hlen = HEADER_LEN_1443 if platform & 0xFFFF == 0x1443 else HEADER_LEN
            if len(buf) < hlen:
                return
            header = _read_header(buf, hlen)
            if not (hlen <= total <= self.max_packet_len
                    and header.num_tlvs * 8 <= total - hlen):
                self._discard(len(MAGIC))  # false magic word; it cannot overlap itself
                continue
            # Is a later frame starting inside this one's announced length?
            start = max(len(MAGIC), self._scanned - len(MAGIC) + 1)
            cut = buf.find(MAGIC, start, min(total, len(buf)))
            if cut < 0 and len(buf) < total:
                self._scanned = len(buf)
                return  # wait for the rest
            limit = cut if cut >= 0 else total
            frame, tlv_end = self._decode(buf, header, limit)
            end = limit
            if cut < 0:
                # A cut frame's successor may begin in the last 7 bytes (its magic word not
                # yet complete, so `find` missed it): leave a magic-word prefix in place.
                end = total - _magic_prefix_len(memoryview(buf)[max(tlv_end, len(MAGIC)):total])
            if frame is None:
                self.stats["frames_dropped"] += 1
                self._discard(end)
                continue
            del buf[:end]
            self._held = limit - end
            self._scanned = 0
            self._count(frame)
            yield frame

    def _count(self, frame: Frame) -> None:
        self.stats["frames_decoded"] += 1
        key = (frame.header.frame_number, frame.header.sub_frame_number)
        if self._last is not None:
            prev = self._last[0]
            n = key[0]
            if n < prev:
                self.stats["restarts"] += 1
            elif n > prev + 1:
                self.stats["frames_missed"] += n - prev - 1
        self._last = key

    # -- TLVs ----------------------------------------------------------------------
    def _decode(self, buf: bytearray, header: FrameHeader, limit: int
                ) -> tuple[Frame | None, int]:
        """The frame and where its last TLV ends; (None, header_len) if the TLVs do not fit."""
        tlvs = _walk(buf, header, limit, includes_header=False)
        if tlvs is None or not _plausible(tlvs):
            alt = _walk(buf, header, limit, includes_header=True)
            if alt is not None and _plausible(alt):
                tlvs = alt
                self.stats["tlv_len_includes_header"] += 1
            elif tlvs is None:
                return None, header.header_len
        frame = Frame(header=header)
        mv = memoryview(buf)
        side: np.ndarray | None = None
        heights: np.ndarray | None = None
        tlv_end = header.header_len
        for typ, off, ln in tlvs:
            payload = bytes(mv[off:off + ln])
            tlv_end = off + ln
            try:
                if typ == F.TLV_POINTS:
                    frame.points = self._points(payload, header, frame)
                elif typ == F.TLV_SIDE_INFO:
                    side = _array(payload, _SIDE, frame, "side info")
                elif typ == F.TLV_STATS:
                    if ln == 24:
                        frame.stats = dict(zip(F.STATS_FIELDS, struct.unpack("<6I", payload), strict=True))
                    else:
                        frame.warnings.append(f"statistics TLV is {ln} B, expected 24")
                elif typ == F.TLV_TEMPERATURE and ln == 28:
                    valid, t_ms, *temps = struct.unpack("<iI10h", payload)
                    frame.temperature = {"valid": valid, "time_ms": t_ms,
                                         **{f"t{i}": v for i, v in enumerate(temps)}}
                elif typ == F.TLV_RANGE_PROFILE:
                    frame.range_profile = np.frombuffer(payload[: ln - ln % 2], dtype="<u2")
                elif typ == F.TLV_TARGETS:
                    arr = _array(payload, _TARGET, frame, "target list")
                    frame.targets = [] if arr is None else [
                        TrackedTarget(int(r["tid"]), _vec3(r["pos"]), _vec3(r["vel"]), _vec3(r["acc"]),
                                      float(r["g"]), float(r["conf"])) for r in arr]
                elif typ == F.TLV_TARGET_INDEX:
                    frame.target_index = np.frombuffer(payload, dtype=np.uint8)
                elif typ == F.TLV_TARGET_HEIGHT:
                    heights = _array(payload, _HEIGHT, frame, "target height")
                elif typ == F.TLV_COMPRESSED_POINTS:
                    frame.points = _compressed_points(payload, frame)
                elif typ == F.TLV_OCCUPANCY and ln >= 4:
                    frame.occupancy = struct.unpack_from("<I", payload)[0]
                else:
                    frame.other[typ] = payload
            except (ValueError, struct.error) as exc:  # belt and braces: never raise
                frame.warnings.append(f"TLV {typ}: {exc}")
        if frame.warnings:
            self.stats["tlv_errors"] += len(frame.warnings)
        _apply_side_info(frame, side)
        _apply_heights(frame, heights)
        return frame, tlv_end

    def _points(self, p: bytes, header: FrameHeader, frame: Frame) -> Points | None:
        n = len(p)
        q_n = struct.unpack_from("<H", p)[0] if n >= 4 else -1
        q_ok = n >= 4 and n == 4 + 12 * q_n
        f_ok = n % 16 == 0
        prefer_float = header.sdk_major >= 3
        want = "float" if prefer_float else "q"
        other = "q" if prefer_float else "float"
        ok = {"q": q_ok, "float": f_ok}
        count = {"q": q_n, "float": n // 16}
        if ok[want] and not (ok[other] and count[want] != header.num_detected_obj
                             and count[other] == header.num_detected_obj):
            fmt = want
        elif ok[other]:
            fmt = other
            self.stats["format_mismatch"] += 1
        else:
            frame.warnings.append(f"points TLV of {n} B fits neither SDK 2.x nor 3.x layout")
            return None
        if fmt == "float":
            a = np.frombuffer(p, dtype=_F_PT)
            xyz = np.column_stack([a["x"], a["y"], a["z"]]).astype(np.float32)
            nan = np.full(len(a), np.nan, dtype=np.float32)
            return Points("float", xyz, a["v"].astype(np.float32), nan, nan.copy())
        qfmt = struct.unpack_from("<H", p, 2)[0]
        a = np.frombuffer(p, dtype=_Q_OBJ, offset=4)
        scale = np.float32(2.0 ** -min(qfmt, 31))
        xyz = (np.column_stack([a["x"], a["y"], a["z"]]).astype(np.float32) * scale)
        nan = np.full(len(a), np.nan, dtype=np.float32)
        return Points("q", xyz, nan, nan.copy(), nan.copy(), range_idx=a["range_idx"].copy(),
                      doppler_idx=a["doppler_idx"].copy(), peak=a["peak"].copy(),
                      xyz_q_format=qfmt)


# -- helpers -------------------------------------------------------------------------

def _vec3(v: Any) -> tuple[float, float, float]:
    """Three numbers of a structured-array field as plain floats."""
    return float(v[0]), float(v[1]), float(v[2])

def _read_header(buf: bytearray, hlen: int) -> FrameHeader:
    if hlen == HEADER_LEN:
        v, total, plat, fn, cyc, nobj, ntlv, sub = _U32x8.unpack_from(buf, 8)
    else:
        v, total, plat, fn, cyc, nobj, ntlv = _U32x7.unpack_from(buf, 8)
        sub = 0
    return FrameHeader(v, total, plat, fn, cyc, nobj, ntlv, sub, hlen)


def _walk(buf: bytearray, h: FrameHeader, limit: int, *, includes_header: bool
          ) -> list[tuple[int, int, int]] | None:
    """(type, payload offset, payload length) for each TLV, or None if they do not fit."""
    off = h.header_len
    out = []
    for _ in range(h.num_tlvs):
        if off + 8 > limit:
            return None
        typ, ln = _TL.unpack_from(buf, off)
        if includes_header:
            ln -= 8
        if ln < 0 or off + 8 + ln > limit:
            return None
        out.append((typ, off + 8, ln))
        off += 8 + ln
    return out


def _plausible(tlvs: list[tuple[int, int, int]]) -> bool:
    """Every TI demo's TLV types are small non-zero numbers; a walk that meets type 0 or a
    huge one has read payload bytes as a TLV header."""
    return all(0 < t < 0x10000 for t, _, _ in tlvs)


def _magic_prefix_len(b: bytes | bytearray | memoryview) -> int:
    """Length of the longest suffix of `b` that is a proper prefix of the magic word."""
    tail = bytes(b[-(len(MAGIC) - 1):]) if len(b) else b""
    for k in range(min(len(tail), len(MAGIC) - 1), 0, -1):
        if tail[-k:] == MAGIC[:k]:
            return k
    return 0


def _array(payload: bytes, dt: np.dtype, frame: Frame, what: str) -> np.ndarray | None:
    if len(payload) % dt.itemsize:
        frame.warnings.append(f"{what} TLV of {len(payload)} B is not a multiple of {dt.itemsize}")
        return None
    return np.frombuffer(payload, dtype=dt)


def _compressed_points(p: bytes, frame: Frame) -> Points | None:
    """TLV 1020: 5 float32 units, then 8 B per point; spherical -> sensor-frame cartesian."""
    if len(p) < 20 or (len(p) - 20) % 8:
        frame.warnings.append(f"compressed point cloud TLV of {len(p)} B has a bad length")
        return None
    el_u, az_u, dop_u, rng_u, snr_u = struct.unpack_from("<5f", p)
    a = np.frombuffer(p, dtype=_CPT, offset=20)
    el = a["el"].astype(np.float32) * np.float32(el_u)
    az = a["az"].astype(np.float32) * np.float32(az_u)
    r = a["range"].astype(np.float32) * np.float32(rng_u)
    cos_el = np.cos(el)
    xyz = np.column_stack([r * np.sin(az) * cos_el, r * np.cos(az) * cos_el, r * np.sin(el)])
    return Points("compressed", xyz.astype(np.float32),
                  (a["doppler"].astype(np.float32) * np.float32(dop_u)),
                  (a["snr"].astype(np.float32) * np.float32(snr_u)),
                  np.full(len(a), np.nan, dtype=np.float32))


def _apply_side_info(frame: Frame, side: np.ndarray | None) -> None:
    if side is None or frame.points is None:
        return
    if len(side) != len(frame.points):
        frame.warnings.append(f"side info for {len(side)} points, frame has {len(frame.points)}")
        return
    frame.points.snr_db = side["snr"].astype(np.float32) * np.float32(0.1)
    frame.points.noise_db = side["noise"].astype(np.float32) * np.float32(0.1)


def _apply_heights(frame: Frame, heights: np.ndarray | None) -> None:
    if heights is None or not frame.targets:
        return
    by_tid = {int(r["tid"]): (float(r["max_z"]), float(r["min_z"])) for r in heights}
    frame.targets = [
        TrackedTarget(t.tid, t.pos, t.vel, t.acc, t.gating_gain, t.confidence,
                      *by_tid.get(t.tid, (None, None))) for t in frame.targets
    ]
