"""One TCP connection to the alarm receiver: send a frame, wait for its answer.

WHY one message at a time: DC-09 pairs each answer with a message by sequence number,
and receivers (pysiaalarm among them) read one message per TCP read; a transmitter that
pipelines risks two frames in one read, which such a receiver cannot parse. One
outstanding message per connection is also what the standard describes.

The link keeps the clock offset a NAK taught it (the receiver's timestamp minus ours), so
every later message carries a timestamp inside the receiver's window.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable

from gateway.dc09.frame import (
    CR,
    LF,
    MAX_FRAME,
    FrameError,
    Header,
    Response,
    Undecryptable,
    decode_response,
    encode,
)
from gateway.inbound import RateLimitedLog

log = logging.getLogger("safehome.bridge.link")


# pysiaalarm answers a bare `"NAK"` (no frame) for an account it does not know. It is
# taken as a rejection: the message stays pending and is retried, as after no answer.
# Nothing else unframed means anything: a bare `"DUH"` or `"ACK"` could be any garbage,
# and only a valid frame may settle a message's fate (issue 26).
_BARE_NAK = re.compile(rb'\s*"NAK"\s*')


class NoAnswer(Exception):
    """The receiver could not be reached or did not answer in time."""


class Rejected(Exception):
    """The receiver's answer proves it does not share our key (an encrypted answer that
    does not decrypt)."""


class Link:
    def __init__(self, host: str, port: int, *, key: bytes | None, ack_timeout: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.host, self.port, self.key = host, port, key
        self.ack_timeout = ack_timeout
        self.clock = clock
        self.offset = 0.0                       # receiver clock - our clock, learned from NAKs
        self._seq = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buffer = b""
        self.garbage = RateLimitedLog(interval=60.0)   # counts per kind, logs once a minute

    def _garbage(self, kind: str, msg: str, *args: object) -> None:
        self.garbage(kind, log.warning, msg, *args)

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def next_seq(self) -> int:
        """1..9999, then round again (0000 is what NAKs carry)."""
        self._seq = self._seq % 9999 + 1
        return self._seq

    def now(self) -> float:
        return self.clock() + self.offset

    async def exchange(self, token: str, seq: int, header: Header, data: str) -> tuple[Response, float]:
        """Send one message; return the receiver's answer and the timestamp we sent."""
        sent_ts = self.now()
        frame = encode(token, seq, header, data, sent_ts, self.key)
        try:
            if not self.connected:
                self._buffer = b""
                self._reader, self._writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.ack_timeout)
            assert self._writer is not None and self._reader is not None
            self._writer.write(frame)
            await self._writer.drain()
            return await asyncio.wait_for(self._answer(seq, header.account), self.ack_timeout), sent_ts
        except (OSError, asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError) as exc:
            await self.close()
            reason = "no answer" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            raise NoAnswer(f"receiver {self.host}:{self.port}: {reason}") from None

    async def _answer(self, seq: int, account: str) -> Response:
        """The answer to message `seq` for `account`: the first valid frame (LF, CRC,
        length, CR) that belongs to it. An ACK or DUH must carry our sequence number, a
        NAK ours or 0000 (pysiaalarm's NAKs carry 0000); a frame naming another account
        is not ours. Anything else is skipped, so garbage reads as no answer. Bytes
        without a CR are kept up to the length of the longest frame, then dropped."""
        assert self._reader is not None
        while True:
            line, sep, rest = self._buffer.partition(CR)
            if not sep:
                if _BARE_NAK.fullmatch(self._buffer):
                    self._buffer = b""
                    return Response("NAK", 0, False, None, None)
                if len(self._buffer) > MAX_FRAME:
                    start = self._buffer.rfind(LF)   # a frame may have begun; keep that
                    kept = self._buffer[start:] if start >= 0 and len(self._buffer) - start <= MAX_FRAME else b""
                    self._garbage("overlong", "receiver sent %d bytes without a CR (a DC-09 frame "
                                  "is at most %d); dropped", len(self._buffer) - len(kept), MAX_FRAME)
                    self._buffer = kept
                chunk = await self._reader.read(4096)
                if not chunk:
                    raise asyncio.IncompleteReadError(self._buffer, None)
                self._buffer += chunk
                continue
            self._buffer = rest
            start = line.rfind(LF)
            if start < 0:
                self._garbage("unframed", "receiver sent something that is not a DC-09 frame "
                              "(no LF); taken as no answer: %r", line[:80])
                continue
            try:
                response = decode_response(line[start:], self.key)
            except Undecryptable as exc:
                raise Rejected(str(exc)) from None
            except FrameError as exc:
                self._garbage("invalid", "receiver sent a frame we cannot use; taken as no "
                              "answer: %s", exc)
                continue
            if response.account is not None and response.account.upper() != account.upper():
                self._garbage("account", "receiver answered %s for account %s while we wait for "
                              "%s; not ours", response.token, response.account[:20], account)
                continue
            if response.seq == seq or (response.token == "NAK" and response.seq == 0):
                return response
            log.debug("ignoring a %s for sequence %d (waiting for %d)", response.token,
                      response.seq, seq)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (OSError, TimeoutError):
                pass
