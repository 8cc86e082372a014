"""Seeed MR60FDA1 (older 60 GHz fall radar) frames: encoding and an incremental parser.

Frame (115200 8N1): 53 59 | control | command | u16 length BE | data | sum8 | 54 43, where
sum8 is the low byte of the sum of every byte before it (header included).

Confirmed reports (Seeed's MR60FDA1 Arduino library): 80 01 presence 0/1; 80 02 motion
0 none / 1 still / 2 active; 80 03 body movement value; 83 01 fall 0/1; 83 05 residency
(stationary too long). Reset: 53 59 01 02 00 01 0F BF 54 43.

UNCONFIRMED (third-party sketches only, no vendor document found): 06 02 install height
u16 cm; 83 0D fall sensitivity 1-3; 83 0C fall confirmation time u32 s; 83 00 fall
detection on/off. We assume the family's usual convention that the module answers a
setting with the same control and command and the value it applied, and that a query is
the command with bit 7 set (e.g. 06 82) carrying 0F, answered with the current value.
The driver therefore treats a missing or different answer as a clear error that names
this uncertainty, and lets the installer switch verification off.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from drivers.framing import ResyncBuffer

log = logging.getLogger(__name__)

HEAD = b"\x53\x59"
TAIL = b"\x54\x43"
MAX_DATA_LEN = 255

CTRL_PRESENCE = 0x80
CMD_PRESENCE = 0x01
CMD_MOTION = 0x02
CMD_BODY_MOVEMENT = 0x03
CTRL_FALL = 0x83
CMD_FALL = 0x01
CMD_RESIDENCY = 0x05
CTRL_SYSTEM = 0x01
CMD_RESET = 0x02

# unconfirmed settings (see module docstring)
CTRL_INSTALL = 0x06
CMD_INSTALL_HEIGHT = 0x02
CMD_FALL_ENABLE = 0x00
CMD_FALL_CONFIRM_TIME = 0x0C
CMD_FALL_SENSITIVITY = 0x0D
QUERY_BIT = 0x80
QUERY_DATA = b"\x0F"

MOTION_NONE, MOTION_STILL, MOTION_ACTIVE = 0, 1, 2


def sum8(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


@dataclass(frozen=True, slots=True)
class Frame:
    control: int
    command: int
    data: bytes = b""


def encode(frame: Frame) -> bytes:
    head = HEAD + bytes([frame.control, frame.command]) + struct.pack(">H", len(frame.data))
    body = head + frame.data
    return body + bytes([sum8(body)]) + TAIL


def reset() -> bytes:
    return encode(Frame(CTRL_SYSTEM, CMD_RESET, b"\x0F"))


def set_install_height(cm: int) -> bytes:
    return encode(Frame(CTRL_INSTALL, CMD_INSTALL_HEIGHT, struct.pack(">H", cm)))


def set_fall_sensitivity(level: int) -> bytes:
    return encode(Frame(CTRL_FALL, CMD_FALL_SENSITIVITY, bytes([level])))


def set_fall_confirm_time(seconds: int) -> bytes:
    return encode(Frame(CTRL_FALL, CMD_FALL_CONFIRM_TIME, struct.pack(">I", seconds)))


def query(control: int, command: int) -> bytes:
    return encode(Frame(control, command | QUERY_BIT, QUERY_DATA))


class FDA1Parser(ResyncBuffer):
    """Feed any chunks; returns the complete, checksum-valid frames found so far."""

    device = "MR60FDA1"
    STATS = ("frames", "checksum_errors", "bad_frames", "bytes_discarded")

    def __init__(self) -> None:
        super().__init__(log)

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf
        buf += chunk
        out: list[Frame] = []
        while True:
            i = buf.find(HEAD)
            if i < 0:
                keep = 1 if buf[-1:] == HEAD[:1] else 0
                self._discard(len(buf) - keep)
                return out
            if i:
                self._discard(i)
            if len(buf) < 6:
                return out
            (length,) = struct.unpack_from(">H", buf, 4)
            if length > MAX_DATA_LEN:
                self.stats["bad_frames"] += 1
                self._warn_once("implausible length", str(length))
                self._discard(1)
                continue
            total = 6 + length + 3
            if len(buf) < total:
                return out
            if buf[total - 2:total] != TAIL:
                self.stats["bad_frames"] += 1
                self._warn_once("frame tail missing", f"length {length}")
                self._discard(1)
                continue
            if sum8(buf[:6 + length]) != buf[6 + length]:
                self.stats["checksum_errors"] += 1
                self._warn_once("checksum error", bytes(buf[:total]).hex(" "))
                self._discard(1)
                continue
            frame = Frame(buf[2], buf[3], bytes(buf[6:6 + length]))
            del buf[:total]
            self.stats["frames"] += 1
            out.append(frame)

    @property
    def pending(self) -> int:
        return len(self._buf)
