"""The console's web server: aiohttp in the daemon's own event loop, contained.

Why aiohttp: one well-kept asyncio package gives the HTTP server, static files and
streaming responses (server-sent events) without a second framework or a thread; the
gateway already runs an asyncio loop, so the console is a few more coroutines in it.

Containment, because the alarm path comes first:
- it only reads the gateway's state through `ConsoleHost` (host.py: health, outbox,
  uplink state, its own reading tap); the one thing it writes is a test alarm, through
  the same `emit` as every alarm;
- store reads and the clock/disk checks run in threads, payloads are small (a radar
  frame is capped), at most `MAX_STREAMS` live streams at once;
- a failure to start (port taken) or in a handler is logged and answered, never raised
  into the daemon, and stopping it is bounded in time.

Limits, per client address so that one client cannot lock out another (issue 26): the
connection cap and header deadline of listener.py; `REQUESTS_PER_S` requests a second
(burst `REQUEST_BURST`); `LOGIN_FAILURES` wrong tokens or links, then `LOGIN_LOCK_S`
during which that address's login attempts are not even checked (a correct token too:
otherwise the lock would still answer guesses); `STREAMS_PER_CLIENT` live streams, each
dropped once the page stops reading (data waiting in the queue for `STREAM_STALL_S`,
`STREAM_BUFFER_BYTES` waiting, or a write stuck for `STREAM_WRITE_TIMEOUT_S`). Every refusal is logged through `limits.Throttled`: the first
at once, then one line per minute with a count.

Access: on loopback no login, but the Host header must be a loopback name (a web page
elsewhere cannot reach the console through DNS rebinding). Off loopback a session cookie
is required (auth.py). Requests that change something (walk test, test alarm) must carry
the `X-Safehome-Console` header, which a cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.checks.check import Check, exit_code
from gateway.console import mounting, views
from gateway.console.auth import COOKIE, Gate, LinkBook
from gateway.console.host import ConsoleHost
from gateway.console.limits import Buckets, Throttled, client_key
from gateway.console.listener import HEADER_TIMEOUT_S, Listener, console_url
from gateway.console.live import LiveState
from gateway.console.policy import ClientAddress, add_security_headers, cross_site
from gateway.console.test_alarm import SentTestAlarms
from gateway.console_config import is_loopback
from gateway.uplink import VERSION

log = logging.getLogger("safehome.console")

STATIC = Path(__file__).parent / "static"
MAX_STREAMS = 12          # live streams in all
STREAMS_PER_CLIENT = 3    # a page holds one; a reload briefly two
STREAM_STALL_S = 10.0     # a page whose data waits in our queue this long is dropped ...
STREAM_BUFFER_BYTES = 256 * 1024  # ... or sooner once this much waits (memory per stream)
STREAM_WRITE_TIMEOUT_S = 10.0
STREAM_SNDBUF = 16 * 1024         # the kernel's share of a stream's queue (it doubles it)
FRAME_S = 0.25            # radar frames to the page at most 4 per second
STATUS_EVERY = 4          # sensors, walk test, test alarm and uplink once a second
TEST_ALARM_GAP_S = 5.0    # one test alarm per 5 s, however often the button is pressed
CHANGE_HEADER = "X-Safehome-Console"
REQUESTS_PER_S = 30.0     # per client address: a page needs a few per second at most
REQUEST_BURST = 60.0      # opening the page fetches about ten at once
LOGIN_FAILURES = 10       # wrong tokens or links from one address, then it waits
LOGIN_LOCK_S = 60.0       # ... until one attempt is allowed again (one more every 6 s)
HOUSEKEEPING_S = 5.0      # throttled log summaries are written this often
MACHINE_CHECKS_S = 10.0   # clock, disk, recording: asked again at most this often

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200, retry_after: float | None = None) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return web.Response(text=json.dumps(data, ensure_ascii=False, default=str), status=status,
                        content_type="application/json", headers=headers)


class ConsoleServer:
    def __init__(self, host: ConsoleHost, env: dict[str, str] | None = None,
                 live: LiveState | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.d = host
        self.cc = host.cfg.console
        self.live = LiveState() if live is None else live   # attach.py's, tapping since start
        self.tests = SentTestAlarms()
        links = (LinkBook(self.cc.links_path(host.cfg.storage.path))
                 if self.cc.one_time_links else None)
        self.gate = Gate(self.cc.needs_login, env.get(self.cc.token_env) if self.cc.token_env
                         else None, links, self.cc.session_hours * 3600)
        # From the frozen config, once: a TI radar's mounting is read from its chirp file.
        self.zones = {s.id: views.zones(host, s.id) for s in host.cfg.sensors}
        self.mounting = {s.id: mounting.configured(s) for s in host.cfg.sensors
                         if s.type in mounting.RADAR_TYPES or s.type == "simulated"}
        self.runner: web.AppRunner | None = None
        self.listener: Listener | None = None
        self.streams: dict[str, int] = {}          # live streams per client
        self.stopping = asyncio.Event()
        self._last_test = -TEST_ALARM_GAP_S
        self.client = ClientAddress(self.cc.trusted_proxies)
        self.requests = Buckets(REQUESTS_PER_S, REQUEST_BURST)
        self.failures = Buckets(LOGIN_FAILURES / LOGIN_LOCK_S, LOGIN_FAILURES)
        self.login_refused = Throttled(log, "console login refused")
        self.too_fast = Throttled(log, "console: requests refused (over the per-client rate)")
        self.stream_refused = Throttled(log, "console: live stream refused")
        self.stream_dropped = Throttled(log, "console: live stream dropped")
        self.failed = Throttled(log, "console request failed", level=logging.ERROR)
        self._login_page = (STATIC / "login.html").read_text(encoding="utf-8")
        self._housekeeping: asyncio.Task[None] | None = None
        self._machine: tuple[float, list[Check]] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._contain, self._guard])
        app.on_response_prepare.append(add_security_headers)
        r = app.router
        r.add_get("/", self.page)
        r.add_get("/api/overview", self.overview)
        r.add_get("/api/sensors", self.sensors)
        r.add_get("/api/radar", self.radar)
        r.add_get("/api/walk", self.walk)
        r.add_post("/api/walk/start", self.walk_start)
        r.add_post("/api/walk/stop", self.walk_stop)
        r.add_get("/api/test-alarm", self.test_alarms)
        r.add_post("/api/test-alarm", self.test_alarm)
        r.add_get("/api/doctor", self.doctor)
        r.add_get("/api/events", self.events)
        r.add_get("/api/config", self.config)
        r.add_get("/api/stream", self.stream)
        r.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
        return app

    async def start(self, listener: Listener | None = None) -> None:
        """Serve on a socket of its own, or on `listener`, already accepting (attach.py's:
        the console loaded at its first connection)."""
        # keepalive_timeout: an idle kept-alive connection, or one whose next request head
        # does not arrive, is closed as quickly as a new one (listener.py).
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False,
                                    shutdown_timeout=2.0, keepalive_timeout=HEADER_TIMEOUT_S,
                                    lingering_time=2.0)
        await self.runner.setup()
        assert self.runner.server is not None
        if listener is None:
            self.listener = Listener(self.runner.server, self.cc.host, self.cc.port,
                                     uncapped=self.client.is_proxy)
            await self.listener.start()
            log.info("console on %s", console_url(self.cc))
        else:
            self.listener, listener.server = listener, self.runner.server
        self._housekeeping = asyncio.create_task(self._keep_house(), name="console-housekeeping")
        if self.live.tap not in self.d.reading_taps:
            self.d.reading_taps.append(self.live.tap)
        self.d.ack_listeners.append(self.tests.acknowledged)

    def _throttled(self) -> list[Throttled]:
        return [self.login_refused, self.too_fast, self.stream_refused, self.stream_dropped,
                self.failed]

    async def _keep_house(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            for throttled in self._throttled():
                throttled.tick()
            if self.listener is not None:
                self.listener.tick()

    async def stop(self) -> None:
        from gateway.task_cancel import cancel_and_wait

        self.stopping.set()
        if self._housekeeping is not None:
            await cancel_and_wait([self._housekeeping])
            self._housekeeping = None
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None
        for throttled in self._throttled():
            throttled.flush()
        if self.live.tap in self.d.reading_taps:
            self.d.reading_taps.remove(self.live.tap)
        if self.tests.acknowledged in self.d.ack_listeners:
            self.d.ack_listeners.remove(self.tests.acknowledged)
        if self.runner is not None:
            await asyncio.wait_for(self.runner.cleanup(), 5)
            self.runner = None

    # -- middlewares --------------------------------------------------------------------
    @web.middleware
    async def _contain(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - logged (throttled) and answered 500
            # The first failure of a minute with its traceback, the rest counted: a
            # failure that repeats per request (no file descriptors left) must not fill the disk.
            self.failed.note(client_key(self.client(request)), f"{request.method} {request.path}: "
                             f"{type(exc).__name__}: {exc}", exc_info=True)
            return _json({"error": f"{type(exc).__name__}: {exc}"}, status=500)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.listener is not None:
            self.listener.request_seen(request.transport)
        client = client_key(self.client(request))
        if not self.requests.take(client):
            self.too_fast.note(client)
            return _json({"error": "too many requests from your address; the console slows "
                          "down to keep the alarm path fast"}, status=429,
                         retry_after=self.requests.retry_after(client))
        if request.body_exists:
            return _json({"error": "the console's requests carry no body"}, status=413)
        if not self.cc.needs_login:
            if not is_loopback(request.url.host or ""):
                return _json({"error": "the console answers only to loopback host names"}, 421)
        else:
            refused = await self._check_login(request, client)
            if refused is not None:
                return refused
        if request.method == "POST":
            if request.headers.get(CHANGE_HEADER) != "1":
                return _json({"error": f"missing header {CHANGE_HEADER}: 1"}, status=403)
            why = cross_site(request)
            if why is not None:
                log.warning("console: cross-site %s %s refused from %s: %s", request.method,
                            request.path, client, why)
                return _json({"error": f"refused: {why}"}, status=403)
        return await handler(request)

    def _locked_out(self, client: str) -> web.Response | None:
        """429 while `client` has used up its wrong tokens and links."""
        if not self.failures.empty(client):
            return None
        wait = self.failures.retry_after(client)
        self.login_refused.note(client, "locked out after too many wrong tokens or links")
        return _json({"error": f"too many failed logins from your address; try again in "
                      f"{wait:.0f} s"}, status=429, retry_after=wait)

    def _failed(self, client: str, what: str) -> None:
        self.failures.take(client)
        self.login_refused.note(client, what)

    async def _check_login(self, request: web.Request, client: str) -> web.StreamResponse | None:
        """None when the request may go on (a session, a right Bearer token, a static file);
        otherwise the answer: the login page, 401, or 429 while the address is locked out.
        A right token or link is answered with the session cookie (HTTPFound)."""
        if self.gate.has_session(request.cookies.get(COOKIE)):
            return None
        auth = request.headers.get("Authorization", "")
        login_page = request.path == "/" and request.method == "GET"
        token, link = (request.query.get("token"), request.query.get("link")) if login_page \
            else (None, None)
        if auth or token or link:
            locked = self._locked_out(client)
            if locked is not None:
                return locked
        if auth:
            if auth.startswith("Bearer ") and self.gate.token_ok(auth[7:].strip()):
                return None
            self._failed(client, "wrong Bearer token")
        elif token or link:
            if bool(token and self.gate.token_ok(token)) or \
                    bool(link and await asyncio.to_thread(self.gate.link_ok, link)):
                lang = request.query.get("lang")
                resp = web.HTTPFound("/" + (f"?lang={lang}" if lang in ("fi", "sv", "en") else ""))
                resp.set_cookie(COOKIE, self.gate.open_session(), httponly=True, samesite="Strict",
                                max_age=int(self.cc.session_hours * 3600), path="/",
                                secure=self.client.https(request))
                raise resp
            self._failed(client, "wrong token" if token else "unknown, used or expired link")
        if login_page:
            return web.Response(text=self._login_page, content_type="text/html", status=401)
        if request.path.startswith("/static/"):
            return None
        return _json({"error": "log in first: open the link from `safehome console link` or "
                      "add ?token=..."}, status=401)

    # -- pages and API ------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    def _overview(self) -> dict[str, Any]:
        cfg = self.d.cfg
        return {"gateway_id": cfg.gateway_id, "site_id": cfg.site_id, "version": VERSION,
                "timezone": cfg.timezone, "rooms": cfg.room_names(),
                "uplink": views.uplink(self.d), "login": self.cc.needs_login}

    async def overview(self, request: web.Request) -> web.Response:
        return _json(self._overview())

    async def sensors(self, request: web.Request) -> web.Response:
        return _json(views.sensors(self.d, self.live))

    async def radar(self, request: web.Request) -> web.Response:
        return _json(views.radars(self.d, self.live, self.zones, self.mounting))

    async def walk(self, request: web.Request) -> web.Response:
        return _json(views.walk(self.d, self.live))

    async def walk_start(self, request: web.Request) -> web.Response:
        self.live.start_walk()
        log.info("console: walk test started")
        return _json(views.walk(self.d, self.live))

    async def walk_stop(self, request: web.Request) -> web.Response:
        self.live.stop_walk()
        return _json(views.walk(self.d, self.live))

    async def test_alarms(self, request: web.Request) -> web.Response:
        return _json(self.tests.to_json())

    async def test_alarm(self, request: web.Request) -> web.Response:
        """Raise a test alarm through the real path; answers once the store committed it."""
        if self.d.pipeline is None:
            return _json({"error": "the gateway is still starting"}, status=503)
        now = time.monotonic()
        if now - self._last_test < TEST_ALARM_GAP_S:
            return _json({"error": "a test alarm was just sent; wait a few seconds"}, status=429)
        self._last_test = now
        ev = self.d.technical("test_alarm", test=True)
        item = self.tests.requested(ev.id, ev.seq)
        log.info("console: test alarm %s requested", ev.id)
        await self.d.emit([ev])
        self.tests.committed(item, not self.d.store.failed, self.d.outbox.entries.get(ev.id))
        return _json(self.tests.to_json()[0])

    async def doctor(self, request: web.Request) -> web.Response:
        checks = views.live_checks(self.d, self.live, self.tests.to_json())
        now = time.monotonic()
        if self._machine is None or now - self._machine[0] > MACHINE_CHECKS_S:
            self._machine = (now, await asyncio.to_thread(views.machine_checks, self.d))
        checks += self._machine[1]
        return _json({"ready": exit_code(checks) == 0, "checks": [c.to_json() for c in checks]})

    async def events(self, request: web.Request) -> web.Response:
        if self.d.store.failed:
            return _json({"storage": "degraded", "events": views.memory_events(self.d)})
        rows = await views.recent_events(self.d)
        return _json({"storage": "ok", "events": rows})

    async def config(self, request: web.Request) -> web.Response:
        return _json({"valid": True, "config": views.config(self.d)})

    # -- live updates (server-sent events) ----------------------------------------------
    def _status(self) -> dict[str, Any]:
        return {"sensors": views.sensors(self.d, self.live), "walk": views.walk(self.d, self.live),
                "tests": self.tests.to_json(), "uplink": views.uplink(self.d),
                "events_seq": self.d.pipeline.seq if self.d.pipeline is not None else 0}

    async def stream(self, request: web.Request) -> web.StreamResponse:
        client = client_key(self.client(request))
        if sum(self.streams.values()) >= MAX_STREAMS:
            self.stream_refused.note(client, f"{MAX_STREAMS} open in all")
            return _json({"error": "too many open console pages"}, status=503, retry_after=5)
        if self.streams.get(client, 0) >= STREAMS_PER_CLIENT and not self.client.is_proxy(client):
            self.stream_refused.note(client, f"{STREAMS_PER_CLIENT} open from this address")
            return _json({"error": "too many open console pages from your address; close one"},
                         status=503, retry_after=5)
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        self.streams[client] = self.streams.get(client, 0) + 1
        radar_seen, tick = -1, 0
        out = _Outgoing(request, resp)
        try:
            while not self.stopping.is_set():
                if tick % STATUS_EVERY == 0:
                    await out.send("status", self._status())
                if self.live.version != radar_seen and self.live.radar:
                    radar_seen = self.live.version
                    await out.send("radar", views.radars(self.d, self.live, self.zones, self.mounting))
                tick += 1
                try:
                    await asyncio.wait_for(self.stopping.wait(), FRAME_S)
                except TimeoutError:
                    pass
        except _NotReading as exc:
            self.stream_dropped.note(client, str(exc))
            out.reset()
        except (ConnectionResetError, ConnectionError):
            pass
        except Exception:
            log.exception("console stream failed; the page reconnects")
        finally:
            self.streams[client] -= 1
            if not self.streams[client]:
                del self.streams[client]
        return resp


class _Outgoing:
    """One live stream's sending side: notices a page that stopped reading."""

    def __init__(self, request: web.Request, resp: web.StreamResponse) -> None:
        self.transport = request.transport
        self.resp = resp
        self.waiting_since: float | None = None   # since when data waits in our queue

    async def send(self, name: str, data: Any) -> None:
        """One event, or _NotReading when the page has not taken what it was sent."""
        queued = self.transport.get_write_buffer_size() if self.transport is not None else 0
        now = time.monotonic()
        if not queued:
            self.waiting_since = None
        elif self.waiting_since is None:
            self.waiting_since = now
        if queued > STREAM_BUFFER_BYTES or (
                self.waiting_since is not None and now - self.waiting_since > STREAM_STALL_S):
            raise _NotReading(f"the page did not read; {queued} bytes waiting for "
                              f"{now - (self.waiting_since or now):.0f} s")
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
        try:
            await asyncio.wait_for(self.resp.write(f"event: {name}\ndata: {body}\n\n".encode()),
                                   STREAM_WRITE_TIMEOUT_S)
        except TimeoutError:
            raise _NotReading(f"a write waited {STREAM_WRITE_TIMEOUT_S:.0f} s") from None

    def reset(self) -> None:
        """Close with a reset: the kernel drops what is queued at once, instead of keeping
        it (and the connection) for a peer that does not read."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class _NotReading(Exception):
    """A live stream whose page stopped reading: it is closed to free its slot."""
