"""SIA DC-09 framing: CRC, length, header, optional AES-CBC, timestamps; both directions.

    <LF> CRC(4 hex) 0LLL(4 hex) "ID" SEQ(4) [Rrcvr] Lpref #ACCT [DATA]...[X]_HH:MM:SS,MM-DD-YYYY <CR>

WHY our own codec and not a library: on PyPI, `dc09-spt` (2020) and its fork `my-dc09-spt`
(2024) are thread-based diallers without asyncio; `siadc09` (2026) encodes well but writes
the account as a hex *integer* (account "0123" goes out as "123", which a receiver keying
accounts by string does not know) and its parser rejects the standard's own NAK example
(`"NAK"0000R0L0A0[]_...`), which is what pysiaalarm sends. The framing itself is small.

WHY `cryptography` for AES: DC-09 encryption is AES-CBC with a zero IV over a cleartext
that the transmitter pads at the front with 16+ random bytes. `cryptography` (PyCA) is the
maintained Python crypto library, ships wheels for x86 and ARM, and is packaged by Debian
(python3-cryptography), so it adds nothing exotic to a centre's server.

Responses are parsed leniently (the fields a receiver really varies: receiver and prefix
spellings, a closing bracket or not) but strictly where it matters: the CRC must match,
and an encrypted ACK must decrypt to a valid timestamp with our key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

LF, CR = b"\n", b"\r"
MAX_MESSAGE = 0xFFF   # the length field is "0LLL": three hex digits
MAX_FRAME = 1 + 4 + 4 + MAX_MESSAGE + 1   # LF, CRC, length, message, CR
TIME_FORMAT = "%H:%M:%S,%m-%d-%Y"
_ZERO_IV = bytes(16)
_PAD_CHARS = bytes(c for c in range(0x21, 0x7F) if c not in b"|[]\"")  # printable, no delimiters


class FrameError(ValueError):
    """A frame that is not valid DC-09 (bad envelope, CRC, length or content)."""


class Undecryptable(FrameError):
    """An encrypted frame that our key does not decrypt: the receiver has another key."""


def crc16(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0), as DC-09 specifies over the message body."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def dc09_time(ts: float) -> str:
    """Unix seconds -> the DC-09 timestamp `HH:MM:SS,MM-DD-YYYY` (UTC)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime(TIME_FORMAT)


def parse_dc09_time(text: str) -> float:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC).timestamp()


def parse_key(hex_key: str) -> bytes:
    """An AES key given as hex (32, 48 or 64 hex digits = AES-128/192/256)."""
    try:
        key = bytes.fromhex(hex_key.strip())
    except ValueError:
        raise ValueError("the AES key must be hexadecimal (32, 48 or 64 hex digits)") from None
    if len(key) not in (16, 24, 32):
        raise ValueError(f"the AES key has {len(key) * 2} hex digits; DC-09 uses 32, 48 or 64 "
                         "(AES-128/192/256)")
    return key


def _aes(key: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(_ZERO_IV))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


@dataclass(frozen=True)
class Header:
    """Who a message is from: account (3-16 hex digits), line prefix, optional receiver."""

    account: str
    prefix: str = "0"
    receiver: str | None = None

    def pack(self) -> bytes:
        r = f"R{self.receiver}" if self.receiver is not None else ""
        return f"{r}L{self.prefix}#{self.account}".encode("ascii")


def encode(token: str, seq: int, header: Header, data: str, timestamp: float,
           key: bytes | None = None) -> bytes:
    """One complete frame. `data` is the content of the first bracket without the brackets
    (e.g. `#1234|1120 01 003`, or "" for a NULL message)."""
    if not 0 <= seq <= 9999:
        raise ValueError(f"sequence number {seq} outside 0..9999")
    body = f"{data}]_{dc09_time(timestamp)}".encode("ascii")
    if key is None:
        message = b'"' + token.encode("ascii") + b'"' + b"%04d" % seq + header.pack() + b"[" + body
    else:
        # Pad at the front so that pad + '|' + body fills whole AES blocks, pad >= 16 bytes.
        pad_len = 16 + (-(len(body) + 1)) % 16
        pad = bytes(_PAD_CHARS[b % len(_PAD_CHARS)] for b in os.urandom(pad_len))
        cipher = _aes(key, pad + b"|" + body, encrypt=True).hex().upper().encode("ascii")
        message = (b'"*' + token.encode("ascii") + b'"' + b"%04d" % seq + header.pack() + b"["
                   + cipher)
    return LF + b"%04X" % crc16(message) + b"%04X" % len(message) + message + CR


@dataclass(frozen=True)
class Response:
    """A receiver's answer: ACK, NAK, DUH (or RSP); `timestamp` in Unix seconds when given."""

    token: str
    seq: int
    encrypted: bool
    timestamp: float | None
    account: str | None


_RESPONSE = re.compile(
    rb'^"(?P<star>\*)?(?P<token>[A-Z0-9-]+)"(?P<seq>\d{4})(?P<addr>[^\[]*)\[(?P<rest>.*)$', re.DOTALL)
_TIME_AT_END = re.compile(r"_(\d{2}:\d{2}:\d{2},\d{2}-\d{2}-\d{4})\s*$")


def decode_response(frame: bytes, key: bytes | None = None) -> Response:
    """Parse one frame (LF ... CR, envelope included) sent by a receiver."""
    frame = frame.strip(b"\r\n\x00 ")
    if len(frame) < 9:
        raise FrameError(f"frame too short: {frame[:80]!r}")
    try:
        crc, length, message = int(frame[0:4], 16), int(frame[4:8], 16), frame[8:]
    except ValueError:
        raise FrameError(f"no CRC/length header: {frame[:8]!r}") from None
    if length != len(message):
        raise FrameError(f"length field says {length} bytes, the message has {len(message)}")
    if crc16(message) != crc:
        raise FrameError(f"CRC mismatch in {frame[:80]!r}")
    m = _RESPONSE.match(message)
    if m is None:
        raise FrameError(f"not a DC-09 response: {message!r}")
    addr = m["addr"].decode("ascii", "replace")
    account = addr.split("#", 1)[1] if "#" in addr else None
    rest = m["rest"]
    encrypted = m["star"] is not None
    if encrypted:
        if key is None:
            raise FrameError("encrypted response but no key configured")
        hex_part = rest.split(b"]", 1)[0]
        try:
            clear = _aes(key, bytes.fromhex(hex_part.decode("ascii")), encrypt=False)
        except ValueError:
            raise Undecryptable("encrypted response is not whole AES blocks of hex") from None
        text = clear.decode("ascii", "replace")
        tm = _TIME_AT_END.search(text)
        if tm is None:
            raise Undecryptable("the receiver's encrypted answer does not decrypt with our "
                                "key (no timestamp inside)")
    else:
        tm = _TIME_AT_END.search(rest.decode("ascii", "replace"))
    timestamp = None
    if tm is not None:
        try:
            timestamp = parse_dc09_time(tm.group(1))
        except ValueError:
            timestamp = None
    return Response(m["token"].decode("ascii"), int(m["seq"]), encrypted, timestamp, account)
