"""A SIA DC-09 alarm receiver we did not write: pysiaalarm (Home Assistant's SIA library)
running as a TCP server on a free loopback port, recording what it accepted.

pysiaalarm answers ACK, NAK (bad timestamp: outside its window of -40/+20 s; or content
it cannot decrypt/parse) or DUH itself; this wrapper only starts and stops it (on the same
port, for outage tests) and keeps the events its callback got (it calls back only for
messages it ACKed).

pysiaalarm uses the characters of its key as the AES key bytes ("AAAABBBBCCCCDDDD" is a
16-byte AES-128 key); DC-09 and the bridge give the key in hex, so `hex_key` converts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Self

from pysiaalarm import SIAAccount, SIAEvent
from pysiaalarm.aio import SIAClient

from tests.support.broker import free_port, wait_port


def hex_key(ascii_key: str) -> str:
    return ascii_key.encode("ascii").hex()


class SiaReceiver:
    def __init__(self, accounts: dict[str, str | None], port: int | None = None,
                 timeband: tuple[int, int] = (40, 20)) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.accounts = [SIAAccount(acct, key, allowed_timeband=timeband)
                         for acct, key in accounts.items()]
        self.events: list[Any] = []          # pysiaalarm SIAEvents, in arrival order
        self.arrived_at: list[float] = []
        self.listeners: list[Callable[[Any], None]] = []
        self._client: SIAClient | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _on_event(self, event: Any) -> None:
        self.events.append(event)
        self.arrived_at.append(time.time())
        for listener in self.listeners:
            listener(event)

    async def start(self) -> SiaReceiver:
        self._client = SIAClient(self.host, self.port, self.accounts, self._on_event)
        handle = self._client.sia_server.handle_line

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.add(writer)
            try:
                await handle(reader, writer)
            finally:
                self._writers.discard(writer)

        # pysiaalarm's stop closes the listening socket only; a receiver that is "down"
        # must also drop the connections it has (Python 3.11 has no close_clients()).
        self._client.sia_server.handle_line = tracked  # type: ignore[method-assign]
        await self._client.async_start(reuse_address=True)
        await asyncio.to_thread(wait_port, self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.async_stop()
            self._client = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def cid(self) -> list[tuple[str, str, str, str, str]]:
        """ADM-CID events as (account, qualifier, code, group, zone)."""
        return [(e.account, e.event_qualifier, e.event_type, e.partition, e.ri)
                for e in self.events if str(e.message_type.value) == "ADM-CID"]

    def nulls(self) -> list[Any]:
        return [e for e in self.events if str(e.message_type.value) == "NULL"]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        raise AssertionError(f"receiver condition not met in {timeout} s; it accepted "
                             f"{len(self.events)} messages, the last: {self.cid()[-3:]}")


def answer_to(message: bytes, account: str) -> bytes:
    """What pysiaalarm answers to one message for a known, unencrypted `account` (its own
    ACK frame), for raw receivers in tests that also speak garbage."""
    line = message.decode().strip()
    return SIAEvent.from_line(line, {account: SIAAccount(account)}).create_response()
