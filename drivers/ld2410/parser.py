"""Incremental HLK-LD2410 byte-stream parser: bytes in, reports/acks/commands out.

Pure and synchronous so the driver, `safehome decode`, the emulator and the property
tests all run the same code. A serial line opened mid-frame, a dropped byte or a burst of
noise must cost at most the damaged frame: the parser hunts for either header, checks the
announced length against a sane maximum and the tail at that length, and on any mismatch
skips one byte and hunts again (so a real frame that started inside the rubbish is still
found). It never raises on input; everything odd is counted in `stats`.
"""

from __future__ import annotations

import logging
import struct

from drivers.framing import ResyncBuffer
from drivers.ld2410.protocol import (
    ACK_BIT,
    CMD_HEAD,
    CMD_TAIL,
    REPORT_HEAD,
    REPORT_TAIL,
    Ack,
    Command,
    Report,
)

log = logging.getLogger(__name__)

#: Longest data length a module sends (engineering report with 9+9 gates and extras is
#: 35 bytes, read-parameters ack 28). Anything longer is a corrupted length field.
MAX_DATA_LEN = 96
_HEADS = (REPORT_HEAD, CMD_HEAD)
_BASIC_LEN = 13  # 02 AA + 9 field bytes + 55 + check

Frame = Report | Ack | Command


def decode_report(data: bytes) -> Report | None:
    """Decode the data of a report frame; None when it is not a well-formed report."""
    if len(data) < _BASIC_LEN or data[1] != 0xAA or data[-2] != 0x55:
        return None
    kind = data[0]
    state = data[2]
    if state > 3:
        return None
    md, me, sd, se, dd = struct.unpack_from("<HBHBH", data, 3)
    if kind == 0x02:
        if len(data) != _BASIC_LEN:
            return None
        return Report(False, state, md, me, sd, se, dd)
    if kind != 0x01 or len(data) < _BASIC_LEN + 2:
        return None
    mg, sg = data[11], data[12]
    if mg > 8 or sg > 8:
        return None
    body = data[13:-2]
    n_m, n_s = mg + 1, sg + 1
    if len(body) < n_m + n_s:
        return None
    moving = tuple(body[:n_m])
    still = tuple(body[n_m:n_m + n_s])
    extra = body[n_m + n_s:]
    light = extra[0] if len(extra) >= 1 else None
    out_pin = bool(extra[1]) if len(extra) >= 2 else None
    return Report(True, state, md, me, sd, se, dd, mg, sg, moving, still, light, out_pin)


def decode_command_frame(data: bytes) -> Ack | Command | None:
    """Decode the data of an FD FC FB FA frame as an ack (ack bit set) or a command."""
    if len(data) < 2:
        return None
    (word,) = struct.unpack_from("<H", data)
    if word & ACK_BIT:
        if len(data) < 4:
            return None
        (status,) = struct.unpack_from("<H", data, 2)
        return Ack(word & ~ACK_BIT & 0xFFFF, status, bytes(data[4:]))
    return Command(word, bytes(data[2:]))


class LD2410Parser(ResyncBuffer):
    """Feed it any chunks of bytes; it returns every complete frame found so far."""

    device = "LD2410"
    STATS = ("frames", "reports", "acks", "commands", "bad_frames", "malformed", "bytes_discarded")

    def __init__(self) -> None:
        super().__init__(log)

    def _find_head(self) -> int:
        found = [i for i in (self._buf.find(h) for h in _HEADS) if i >= 0]
        return min(found) if found else -1

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buf += chunk
        out: list[Frame] = []
        buf = self._buf
        while True:
            i = self._find_head()
            if i < 0:
                keep = 3  # a header may be split across chunks
                if len(buf) > keep:
                    self._discard(len(buf) - keep)
                return out
            if i:
                self._discard(i)
            if len(buf) < 6:
                return out
            is_report = buf[:4] == REPORT_HEAD
            (length,) = struct.unpack_from("<H", buf, 4)
            if length > MAX_DATA_LEN or length < 2:
                self.stats["bad_frames"] += 1
                self._warn_once("implausible length", f"{length}")
                self._discard(1)
                continue
            total = 6 + length + 4
            if len(buf) < total:
                return out
            tail = REPORT_TAIL if is_report else CMD_TAIL
            if buf[total - 4:total] != tail:
                self.stats["bad_frames"] += 1
                self._warn_once("frame tail missing", f"length {length}")
                self._discard(1)
                continue
            data = bytes(buf[6:6 + length])
            frame = decode_report(data) if is_report else decode_command_frame(data)
            if frame is None:
                self.stats["malformed"] += 1
                self._warn_once("malformed frame data", data.hex(" "))
                self._discard(1)
                continue
            del buf[:total]
            self.stats["frames"] += 1
            key = "reports" if isinstance(frame, Report) else (
                "acks" if isinstance(frame, Ack) else "commands")
            self.stats[key] += 1
            out.append(frame)

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame (dropped if the stream ends)."""
        return len(self._buf)
