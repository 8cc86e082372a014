"""Attaching the console to a running gateway: the one module that loads the server.

Kept apart from `host.py` so the protocol the console's views and server are written
against imports none of them (no circle, not even through this lazy import): `safehome
run` and the demo call `attach_console`, which loads aiohttp and the server only when
`[console] listen` is set."""

from __future__ import annotations

import logging

from gateway.console.host import AttachingHost

log = logging.getLogger("safehome.console")


def attach_console(host: AttachingHost) -> None:
    """Serve the installer's console from `host` when `[console] listen` is set. A console
    that cannot be loaded (aiohttp missing) is logged; the gateway runs on without it."""
    if not host.cfg.console.enabled:
        return
    try:
        from gateway.console.server import running_console
    except Exception:  # noqa: BLE001 - e.g. aiohttp missing: the alarm path runs on
        log.exception("console failed to start; the gateway runs on without it")
        return
    host.attach("console", running_console(host))
