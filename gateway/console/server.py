"""The console's web server: aiohttp in the daemon's own event loop, contained.

Why aiohttp: one well-kept asyncio package gives the HTTP server, static files and
streaming responses (server-sent events) without a second framework or a thread; the
gateway already runs an asyncio loop, so the console is a few more coroutines in it.

Containment, because the alarm path comes first:
- it only reads the daemon's state (health, outbox, uplink state, its own reading tap);
  the one thing it writes is a test alarm, through the same `emit` as every alarm;
- store reads and the clock/disk checks run in threads, payloads are small (a radar
  frame is capped), at most `MAX_STREAMS` live streams at once;
- a failure to start (port taken) or in a handler is logged and answered, never raised
  into the daemon, and stopping it is bounded in time.

Access: on loopback no login, but the Host header must be a loopback name (a web page
elsewhere cannot reach the console through DNS rebinding). Off loopback a session cookie
is required (auth.py). Requests that change something (walk test, test alarm) must carry
the `X-Safehome-Console` header, which a cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from gateway.console import mounting, views
from gateway.console.auth import COOKIE, Gate, LinkBook
from gateway.console.live import LiveState
from gateway.console.settings import is_loopback
from gateway.console.test_alarm import SentTestAlarms
from gateway.doctor.checks import Check, exit_code
from gateway.uplink import VERSION

if TYPE_CHECKING:
    from gateway.daemon import Daemon

log = logging.getLogger("safehome.console")

STATIC = Path(__file__).parent / "static"
MAX_STREAMS = 8
FRAME_S = 0.25            # radar frames to the page at most 4 per second
STATUS_EVERY = 4          # sensors, walk test, test alarm and uplink once a second
TEST_ALARM_GAP_S = 5.0    # one test alarm per 5 s, however often the button is pressed
CHANGE_HEADER = "X-Safehome-Console"
REQUESTS_PER_S = 30.0     # all clients together: a page needs a few per second at most
REQUEST_BURST = 60.0      # opening the page fetches about ten at once
MACHINE_CHECKS_S = 10.0   # clock, disk, recording: asked again at most this often

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False, default=str), status=status,
                        content_type="application/json",
                        headers={"Cache-Control": "no-store"})


class ConsoleServer:
    def __init__(self, daemon: Daemon, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.d = daemon
        self.cc = daemon.cfg.console
        self.live = LiveState()
        self.tests = SentTestAlarms()
        links = (LinkBook(self.cc.links_path(daemon.cfg.storage.path))
                 if self.cc.one_time_links else None)
        self.gate = Gate(self.cc.needs_login, env.get(self.cc.token_env) if self.cc.token_env
                         else None, links, self.cc.session_hours * 3600)
        # From the frozen config, once: a TI radar's mounting is read from its chirp file.
        self.zones = {s.id: views.zones(daemon, s.id) for s in daemon.cfg.sensors}
        self.mounting = {s.id: mounting.configured(s) for s in daemon.cfg.sensors
                         if s.type in mounting.RADAR_TYPES or s.type == "simulated"}
        self.runner: web.AppRunner | None = None
        self.streams = 0
        self.stopping = asyncio.Event()
        self._last_test = -TEST_ALARM_GAP_S
        self._bucket, self._bucket_at = REQUEST_BURST, time.monotonic()
        self._machine: tuple[float, list[Check]] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._contain, self._guard])
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

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False,
                                    shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.cc.host, self.cc.port, reuse_address=True)
        await site.start()
        self.d.reading_taps.append(self.live.tap)
        self.d.ack_listeners.append(self.tests.acknowledged)
        login = "no login (loopback)" if not self.cc.needs_login else "login by token or one-time link"
        log.info("console on http://%s:%d/ (%s)", self._url_host(), self.cc.port, login)

    def _url_host(self) -> str:
        return f"[{self.cc.host}]" if ":" in self.cc.host else self.cc.host

    async def stop(self) -> None:
        self.stopping.set()
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
        except Exception as exc:
            log.exception("console request %s %s failed", request.method, request.path)
            return _json({"error": f"{type(exc).__name__}: {exc}"}, status=500)

    def _allow(self) -> bool:
        """A token bucket over all requests: a runaway script cannot take the loop's time."""
        now = time.monotonic()
        self._bucket = min(REQUEST_BURST, self._bucket + (now - self._bucket_at) * REQUESTS_PER_S)
        self._bucket_at = now
        if self._bucket < 1.0:
            return False
        self._bucket -= 1.0
        return True

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._allow():
            return _json({"error": "too many requests; the console slows down to keep the "
                          "alarm path fast"}, status=429)
        if not self.cc.needs_login:
            if not is_loopback(request.url.host or ""):
                return _json({"error": "the console answers only to loopback host names"}, 421)
        elif not self._authorised(request):
            if request.path == "/" and request.method == "GET":
                return await self._login(request)
            if not request.path.startswith("/static/"):
                return _json({"error": "log in first: open the link from "
                              "`safehome console link` or add ?token=..."}, status=401)
        if request.method == "POST" and request.headers.get(CHANGE_HEADER) != "1":
            return _json({"error": f"missing header {CHANGE_HEADER}: 1"}, status=403)
        return await handler(request)

    def _authorised(self, request: web.Request) -> bool:
        if self.gate.has_session(request.cookies.get(COOKIE)):
            return True
        auth = request.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and self.gate.token_ok(auth[7:].strip())

    async def _login(self, request: web.Request) -> web.StreamResponse:
        token, link = request.query.get("token"), request.query.get("link")
        if (token and self.gate.token_ok(token)) or (link and self.gate.link_ok(link)):
            lang = request.query.get("lang")
            resp = web.HTTPFound("/" + (f"?lang={lang}" if lang in ("fi", "sv", "en") else ""))
            resp.set_cookie(COOKIE, self.gate.open_session(), httponly=True, samesite="Strict",
                            max_age=int(self.cc.session_hours * 3600), path="/")
            raise resp
        if token or link:
            log.warning("console login refused from %s", request.remote)
        page = (STATIC / "login.html").read_text(encoding="utf-8")
        return web.Response(text=page, content_type="text/html", status=401)

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
        if self.streams >= MAX_STREAMS:
            return _json({"error": "too many open console pages"}, status=503)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        self.streams += 1
        radar_seen, tick = -1, 0
        try:
            while not self.stopping.is_set():
                if tick % STATUS_EVERY == 0:
                    await self._send(resp, "status", self._status())
                if self.live.version != radar_seen and self.live.radar:
                    radar_seen = self.live.version
                    await self._send(resp, "radar", views.radars(self.d, self.live, self.zones, self.mounting))
                tick += 1
                try:
                    await asyncio.wait_for(self.stopping.wait(), FRAME_S)
                except TimeoutError:
                    pass
        except (ConnectionResetError, ConnectionError):
            pass
        except Exception:
            log.exception("console stream failed; the page reconnects")
        finally:
            self.streams -= 1
        return resp

    @staticmethod
    async def _send(resp: web.StreamResponse, name: str, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
        await resp.write(f"event: {name}\ndata: {body}\n\n".encode())


async def start_console(daemon: Daemon) -> ConsoleServer | None:
    """Serve the console, or log why not and return None: the gateway runs on either way."""
    server = ConsoleServer(daemon)
    try:
        await server.start()
    except Exception as exc:  # noqa: BLE001 - e.g. the port is taken: contained
        log.error("console could not start on %s: %s; the gateway runs on without it",
                  server.cc.listen, exc)
        try:
            await server.stop()
        except Exception:  # noqa: BLE001
            pass
        return None
    return server
