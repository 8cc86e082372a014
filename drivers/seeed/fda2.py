"""Seeed MR60FDA2 (60 GHz fall radar) frames: encoding and an incremental parser.

Frame (115200 8N1):  01 | u16 id BE | u16 len BE | u16 type BE | head cksum | data[len] |
data cksum (only when len > 0). Each checksum is the bitwise NOT of the XOR of the bytes it
covers (head: the 7 bytes before it; data: the data bytes). Numbers inside the data are
little-endian (float32 heights, u32 sensitivity).

The host writes a setting with the setting's type and a 4-byte value; the module answers
with the same type and one byte, non-zero on success. Type 0x0E06 with no data asks for the
parameters; the answer carries float32 install height, float32 fall threshold, u32
sensitivity. The start byte 0x01 is common in any byte stream, so the parser trusts a
header only after its checksum and a frame only after its data checksum; on a mismatch it
skips a single byte, so a real frame starting inside a false one is still found.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from functools import reduce

from drivers.framing import ResyncBuffer

log = logging.getLogger(__name__)

SOF = 0x01
TYPE_FALL = 0x0E02
TYPE_INSTALL_HEIGHT = 0x0E04
TYPE_PARAMS = 0x0E06
TYPE_FALL_THRESHOLD = 0x0E08
TYPE_SENSITIVITY = 0x0E0A
TYPE_PRESENCE = 0x0F09
TYPE_RESET = 0x2110

#: Longest data accepted. Parameter answers are 12 bytes; the module's point-cloud reports
#: are longer but bounded; a larger length is a corrupted header.
MAX_DATA_LEN = 1024
HEADER_LEN = 8

#: Values the module's own tools offer (install height m, fall threshold m, sensitivity).
SENSITIVITY_LEVELS = {1: 3, 2: 15, 3: 30}


def checksum(data: bytes | bytearray) -> int:
    return (~reduce(lambda a, b: a ^ b, data, 0)) & 0xFF


@dataclass(frozen=True, slots=True)
class Frame:
    type: int
    data: bytes = b""
    id: int = 0


@dataclass(frozen=True, slots=True)
class Params:
    install_height_m: float
    fall_threshold_m: float
    sensitivity: int


def encode(frame: Frame) -> bytes:
    head = struct.pack(">BHHH", SOF, frame.id, len(frame.data), frame.type)
    out = head + bytes([checksum(head)])
    if frame.data:
        out += frame.data + bytes([checksum(frame.data)])
    return out


def set_install_height(metres: float) -> bytes:
    return encode(Frame(TYPE_INSTALL_HEIGHT, struct.pack("<f", metres)))


def set_fall_threshold(metres: float) -> bytes:
    return encode(Frame(TYPE_FALL_THRESHOLD, struct.pack("<f", metres)))


def set_sensitivity(value: int) -> bytes:
    return encode(Frame(TYPE_SENSITIVITY, struct.pack("<I", value)))


def read_params() -> bytes:
    return encode(Frame(TYPE_PARAMS))


def encode_params(p: Params) -> bytes:
    return struct.pack("<ffI", p.install_height_m, p.fall_threshold_m, p.sensitivity)


def decode_params(data: bytes) -> Params | None:
    if len(data) < 12:
        return None
    h, thr, sens = struct.unpack_from("<ffI", data)
    return Params(h, thr, sens)


class FDA2Parser(ResyncBuffer):
    """Feed any chunks; returns the complete, checksum-valid frames found so far."""

    device = "MR60FDA2"
    STATS = ("frames", "checksum_errors", "bad_frames", "bytes_discarded")

    def __init__(self) -> None:
        super().__init__(log)

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf
        buf += chunk
        out: list[Frame] = []
        while True:
            i = buf.find(SOF)
            if i < 0:
                self._discard(len(buf))
                return out
            if i:
                self._discard(i)
            if len(buf) < HEADER_LEN:
                return out
            if checksum(buf[:7]) != buf[7]:
                self.stats["checksum_errors"] += 1
                self._warn_once("header checksum error", bytes(buf[:8]).hex(" "))
                self._discard(1)
                continue
            fid, length, ftype = struct.unpack_from(">HHH", buf, 1)
            if length > MAX_DATA_LEN:
                self.stats["bad_frames"] += 1
                self._warn_once("implausible length", str(length))
                self._discard(1)
                continue
            total = HEADER_LEN + (length + 1 if length else 0)
            if len(buf) < total:
                return out
            data = bytes(buf[HEADER_LEN:HEADER_LEN + length])
            if length and checksum(data) != buf[total - 1]:
                self.stats["checksum_errors"] += 1
                self._warn_once("data checksum error", f"type {ftype:#06x}")
                self._discard(1)
                continue
            del buf[:total]
            self.stats["frames"] += 1
            out.append(Frame(ftype, data, fid))

    @property
    def pending(self) -> int:
        return len(self._buf)
