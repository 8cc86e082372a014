"""Attaching the console to a running gateway: the one module that loads the server.

Kept apart from `host.py` so the protocol the console's views and server are written
against imports none of them (no circle, not even through this lazy import): `safehome
run` and the demo call `attach_console` when `[console] listen` is set.

The console is loaded when it is first used, not when the gateway starts (issue 25): the
socket is bound at start (a port that is taken is logged then, as before) and the
console's reading tap runs from the start (each sensor's latest reading is known when the
page opens), but aiohttp and the server (about 10 MB of the daemon's 78 MB in the idle
demo home) are imported at the first connection, in a thread, so the loop, and with it
the alarm path, goes on meanwhile. A gateway whose console nobody opens never pays for
it; once opened it stays loaded until the gateway restarts.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING, Any

from gateway.console.host import AttachingHost
from gateway.console.listener import Listener, console_url
from gateway.console.live import LiveState
from gateway.console.policy import ClientAddress

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("safehome.console")

SERVER = "gateway.console.server"


def attach_console(host: AttachingHost) -> None:
    """Serve the installer's console from `host` when `[console] listen` is set (loaded
    at its first connection: OnDemandConsole)."""
    if not host.cfg.console.enabled:
        return
    host.attach("console", OnDemandConsole(host))


class OnDemandConsole:
    """The console as a part of the running gateway: its socket bound and its reading tap
    on once the gateway's core runs, its server loaded at the first connection, all of it
    stopped first when the gateway stops. Failures are logged, never raised: the gateway
    runs on without a console."""

    def __init__(self, host: AttachingHost) -> None:
        self.host = host
        self.live = LiveState()
        self.listener: Listener | None = None
        self.server: Any = None   # gateway.console.server.ConsoleServer, once loaded

    async def __aenter__(self) -> OnDemandConsole:
        cc = self.host.cfg.console
        listener = Listener(None, cc.host, cc.port, uncapped=ClientAddress(cc.trusted_proxies).is_proxy,
                            load=self._load)
        try:
            await listener.start()
        except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: contained
            log.error("console could not start on %s: %s; the gateway runs on without it",
                      cc.listen, exc)
            await listener.stop()
            return self
        self.listener = listener
        self.host.reading_taps.append(self.live.tap)
        log.info("console on %s; loaded when first opened", console_url(cc))
        return self

    async def _load(self) -> web.Server:
        """Import the server (in a thread: a second or two on a Pi) and serve on our socket."""
        assert self.listener is not None
        try:
            module = await asyncio.to_thread(importlib.import_module, SERVER)
            server = module.ConsoleServer(self.host, live=self.live)
            await server.start(self.listener)
        except Exception:
            log.exception("console failed to load; the gateway runs on without it")
            raise
        self.server = server
        log.info("console loaded")
        return server.runner.server

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            await self.server.stop()   # the listener and the tap too
        elif self.listener is not None:
            await self.listener.stop()
        if self.live.tap in self.host.reading_taps:
            self.host.reading_taps.remove(self.live.tap)
        self.listener = self.server = None
