"""The console's listening socket and its own accept loop, so a flood of connections
costs bounded file descriptors, bounded time and a bounded log.

Why not aiohttp's TCPSite: it hands the socket to asyncio's server, which at the file
limit (EMFILE) logs a traceback for every failed `accept()` and schedules another retry
for each (85,503 tracebacks, 38 MB of log in 24 s, issue 26); it has no connection cap,
and nothing closes a connection whose request never completes. Here:

- `MAX_CONNECTIONS` open at once, `MAX_PER_CLIENT` from one client address (a trusted
  reverse proxy only counts against the total); beyond that a connection gets a short
  503 and is closed at once, so its file descriptor is back within the same loop turn;
- a connection must send a complete request head within `HEADER_TIMEOUT_S`, or it is
  closed (later requests on a kept-alive connection have aiohttp's keep-alive timeout,
  set to the same value by the server);
- when `accept()` fails for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) the loop
  waits `ACCEPT_RETRY_S` and tries again, and the failure is logged once per minute
  with a count (`limits.Throttled`).

The protocol per connection is aiohttp's own (`web.Server`), given the accepted socket
with `loop.connect_accepted_socket`, so requests are parsed and answered exactly as
before.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: binding the socket loads no aiohttp (attach.py)
    from aiohttp import web

    from gateway.console_config import ConsoleConfig

from gateway.console.limits import Throttled, client_key

log = logging.getLogger("safehome.console")

MAX_CONNECTIONS = 64       # a phone's page uses up to 6; the file limit is thousands (unit)
MAX_PER_CLIENT = 16        # two browsers' tabs from one device
HEADER_TIMEOUT_S = 10.0    # from connect (or the previous response) to a whole request head
ACCEPT_RETRY_S = 0.5       # after accept() failed for lack of file descriptors or memory
BACKLOG = 128
OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def _refusal(reason: str) -> bytes:
    body = json.dumps({"error": reason}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Retry-After: 5\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def console_url(cc: ConsoleConfig) -> str:
    """Where the console is served and how one logs in, for the log."""
    host = f"[{cc.host}]" if ":" in cc.host else cc.host
    login = "no login (loopback)" if not cc.needs_login else "login by token or one-time link"
    return f"http://{host}:{cc.port}/ ({login})"


def _bind(host: str, port: int) -> socket.socket:
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.create_server(addr[:2], family=family, backlog=BACKLOG)
    sock.setblocking(False)
    return sock


class Listener:
    """Accepts connections for `server` (aiohttp's protocol factory) on host:port. Without
    a server, `load` makes it when the first connection comes (attach.py: the console's
    code and aiohttp are loaded only once someone opens it)."""

    def __init__(self, server: web.Server | None, host: str, port: int, *,
                 uncapped: Callable[[str], bool] = lambda _addr: False,
                 load: Callable[[], Awaitable[web.Server]] | None = None) -> None:
        self.server = server
        self.load = load
        self.host, self.port = host, port
        self.uncapped = uncapped          # e.g. a trusted reverse proxy's address
        self.sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen: set[asyncio.BaseTransport] = set()
        self.accept_failed = Throttled(log, "console: cannot accept a connection", level=logging.ERROR)
        self.refused = Throttled(log, "console: connection refused (too many open)")
        self.timed_out = Throttled(log, f"console: connection closed, no request within "
                                        f"{HEADER_TIMEOUT_S:.0f} s")

    async def start(self) -> None:
        self.sock = _bind(self.host, self.port)
        self._task = asyncio.create_task(self._accept_loop(), name="console-accept")

    async def stop(self) -> None:
        from gateway.task_cancel import cancel_and_wait

        if self._task is not None:
            task, self._task = self._task, None
            await cancel_and_wait([task])
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        for throttled in (self.accept_failed, self.refused, self.timed_out):
            throttled.flush()

    def tick(self) -> None:
        for throttled in (self.accept_failed, self.refused, self.timed_out):
            throttled.tick()

    def request_seen(self, transport: asyncio.BaseTransport | None) -> None:
        """Called for every request: its connection met the header deadline."""
        if transport is not None:
            self._seen.add(transport)

    # -- accepting ------------------------------------------------------------------------
    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.sock is not None
        while True:
            try:
                conn, addr = await loop.sock_accept(self.sock)
            except OSError as exc:
                if exc.errno in OUT_OF_RESOURCES:
                    self.accept_failed.note("the console's socket", f"{exc.strerror}; "
                                            f"retrying every {ACCEPT_RETRY_S} s")
                    await asyncio.sleep(ACCEPT_RETRY_S)
                    continue
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue   # the client gave up before we took it
                raise
            try:
                await self._admit(loop, conn, str(addr[0]))
            except Exception as exc:  # noqa: BLE001 - one connection's failure stays its own
                conn.close()
                self.accept_failed.note(str(addr[0]), f"{type(exc).__name__}: {exc}")

    async def _admit(self, loop: asyncio.AbstractEventLoop, conn: socket.socket, peer: str) -> None:
        if self.server is None:   # the first connection: load the console (a failure is
            assert self.load is not None   # this connection's; the next one tries again)
            self.server = await self.load()
        live = self.server.connections
        key = client_key(peer)
        reason = None
        if len(live) >= MAX_CONNECTIONS:
            reason = f"the console has {MAX_CONNECTIONS} connections open; try again shortly"
        elif not self.uncapped(peer) and sum(
                1 for h in live if self._key_of(h) == key) >= MAX_PER_CLIENT:
            reason = f"{MAX_PER_CLIENT} connections from {key} are open; close some pages"
        if reason is not None:
            with contextlib.suppress(OSError):
                conn.setblocking(False)
                conn.send(_refusal(reason))
            conn.close()
            self.refused.note(key, reason)
            return
        conn.setblocking(False)
        transport, _ = await loop.connect_accepted_socket(self.server, conn)
        loop.call_later(HEADER_TIMEOUT_S, self._header_deadline, transport, key)

    @staticmethod
    def _key_of(handler: web.RequestHandler) -> str | None:
        transport = handler.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        return client_key(str(peer[0])) if peer else None

    def _header_deadline(self, transport: asyncio.BaseTransport, key: str) -> None:
        if transport in self._seen:
            self._seen.discard(transport)
        elif isinstance(transport, asyncio.Transport) and not transport.is_closing():
            transport.abort()
            self.timed_out.note(key)
