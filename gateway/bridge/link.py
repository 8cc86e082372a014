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

from gateway.bridge.frame import (
    FrameError,
    Header,
    Response,
    Undecryptable,
    decode_response,
    encode,
)

log = logging.getLogger("safehome.bridge.link")


_BARE = re.compile(rb'\s*"(NAK|DUH)"\s*')


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
            return await asyncio.wait_for(self._answer(seq), self.ack_timeout), sent_ts
        except (OSError, asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError) as exc:
            await self.close()
            reason = "no answer" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            raise NoAnswer(f"receiver {self.host}:{self.port}: {reason}") from None

    async def _answer(self, seq: int) -> Response:
        """The answer to message `seq`. Answers to older messages are skipped. A bare
        `"NAK"` without a frame is taken as a NAK too: pysiaalarm sends exactly that for an
        account it does not know."""
        assert self._reader is not None
        while True:
            frame, sep, rest = self._buffer.partition(b"\r")
            if not sep:
                if _BARE.fullmatch(self._buffer):
                    token = self._buffer.strip(b' "\n').decode("ascii")
                    self._buffer = b""
                    return Response(token, 0, False, None, None)
                chunk = await self._reader.read(4096)
                if not chunk:
                    raise asyncio.IncompleteReadError(self._buffer, None)
                self._buffer += chunk
                continue
            self._buffer = rest
            try:
                response = decode_response(frame, self.key)
            except Undecryptable as exc:
                raise Rejected(str(exc)) from None
            except FrameError as exc:
                log.warning("receiver sent a frame we cannot use: %s", exc)
                continue
            if response.seq in (seq, 0):        # NAKs carry 0000
                return response
            log.debug("ignoring an answer to an older message (seq %d, waiting for %d)",
                      response.seq, seq)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (OSError, TimeoutError):
                pass
