"""The console under attack from the network (issue 26 items 3, 4, 5 and 8), against the
real daemon (`safehome run` with the demo home) through aiohttp's client and raw sockets.

Loopback gives every test many client addresses: the whole of 127.0.0.0/8 is this
machine, so a client bound to 127.0.0.2 is another address than one bound to 127.0.0.3.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from gateway.console.listener import HEADER_TIMEOUT_S, MAX_CONNECTIONS, MAX_PER_CLIENT
from gateway.console.server import LOGIN_FAILURES, LOGIN_LOCK_S, STREAMS_PER_CLIENT
from tests.support.console_util import demo_home_with_console, wait_http
from tests.support.gateway_proc import REPO, GatewayProcess

TOKEN = "a-long-console-token-for-tests-0123456789"
ATTACKER, INSTALLER, OTHER = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def session(source: str) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from `source`."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=True),
        timeout=aiohttp.ClientTimeout(total=20))


async def raw(port: int, source: str, data: bytes = b"", rcvbuf: int | None = None
              ) -> socket.socket:
    """A plain TCP connection from `source` that sends `data` and then nothing."""
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.setblocking(False)
    await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
    if data:
        await asyncio.get_running_loop().sock_sendall(s, data)
    return s


async def closed_by_server(s: socket.socket, timeout: float) -> tuple[bool, bytes]:
    """Read until the server closes the connection (True) or `timeout` passes (False)."""
    loop = asyncio.get_running_loop()
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(s, 65536), deadline - time.monotonic())
        except TimeoutError:
            return False, got
        except ConnectionResetError:
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def stop(gw: GatewayProcess) -> str:
    gw.signal(signal.SIGTERM)
    assert gw.wait() == 0, gw.output()[-3000:]
    return gw.output()


@pytest.fixture
def lan_console(tmp_path):
    """The demo home with its console on 0.0.0.0 (a login needed) and a token; no broker
    (the console does not need one)."""
    cfg, port = demo_home_with_console(tmp_path, listen="0.0.0.0",
                                       extra='token_env = "CONSOLE_TOKEN"')
    gw = GatewayProcess(cfg, "--broker", "mqtt://127.0.0.1:9", env={"CONSOLE_TOKEN": TOKEN}).start()
    wait_http(f"http://127.0.0.1:{port}/")
    try:
        yield gw, port
    finally:
        gw.kill()


@pytest.fixture
def local_console(tmp_path):
    """The demo home with its console on loopback (no login)."""
    cfg, port = demo_home_with_console(tmp_path)
    gw = GatewayProcess(cfg, "--broker", "mqtt://127.0.0.1:9").start()
    wait_http(f"http://127.0.0.1:{port}/api/overview")
    try:
        yield gw, port
    finally:
        gw.kill()


# -- item 3: a token flood from one address ------------------------------------------------
async def test_a_wrong_token_flood_from_one_address_does_not_lock_out_the_installer(lan_console):
    gw, port = lan_console
    base = f"http://127.0.0.1:{port}"
    statuses: Counter[int] = Counter()

    async def flood() -> None:
        async with session(ATTACKER) as s:
            for n in range(200):
                async with s.get(f"{base}/?token=wrong-{n}", allow_redirects=False) as r:
                    statuses[r.status] += 1

    started = time.monotonic()
    flooding = asyncio.create_task(flood())
    while sum(statuses.values()) < 100:          # the installer comes in mid-flood
        await asyncio.sleep(0.01)
    async with session(INSTALLER) as s:
        async with s.get(f"{base}/?token={TOKEN}", allow_redirects=False) as r:
            assert r.status == 302, "the right token from another address still logs in"
            cookie = r.cookies["safehome_console"].value
        async with s.get(f"{base}/api/sensors", cookies={"safehome_console": cookie}) as r:
            assert r.status == 200
    await flooding
    # LOGIN_FAILURES wrong tokens are checked, then one more every LOGIN_LOCK_S / LOGIN_FAILURES.
    extra = int((time.monotonic() - started) / (LOGIN_LOCK_S / LOGIN_FAILURES))
    assert LOGIN_FAILURES <= statuses[401] <= LOGIN_FAILURES + extra, statuses
    assert statuses[401] + statuses[429] == 200, statuses

    async with session(ATTACKER) as s:
        async with s.get(f"{base}/?token={TOKEN}", allow_redirects=False) as r:
            # No exception for the right token from a locked address: otherwise the lock
            # would still answer every guess (302 or 429) at the request rate.
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
    async with session(OTHER) as s:
        for _ in range(3):
            async with s.get(f"{base}/api/sensors", headers={"Authorization": "Bearer nope"}) as r:
                assert r.status == 401

    out = stop(gw)
    # Every refusal is counted (a wrong token, a locked address, or over 30 requests a
    # second), in a few lines: the first at once, then a summary per minute and at stop.
    lines = [line for line in out.splitlines() if "console login refused" in line
             or "requests refused" in line]
    assert 2 <= len(lines) <= 6, lines
    assert f"console login refused from {ATTACKER} (wrong token)" in lines[0]
    assert any(re.search(rf"console login refused: \d+ more .* {OTHER} x3", x) for x in lines), lines
    counted = sum(int(n) for x in lines for n in re.findall(rf"{re.escape(ATTACKER)} x(\d+)", x))
    counted += sum(x.endswith(f"from {ATTACKER}") or f"from {ATTACKER} (" in x for x in lines)
    assert counted == 201, lines                  # the 200 wrong tokens and the right one
    print(f"flood from {ATTACKER}: {statuses[401]} x 401, {statuses[429]} x 429; "
          f"the installer at {INSTALLER} logged in mid-flood; {len(lines)} log lines:\n"
          + "\n".join(lines))


# -- item 4: live streams that never read ----------------------------------------------------
async def test_live_streams_that_never_read_cannot_starve_another_page(local_console):
    gw, port = local_console
    request = f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    t0 = time.monotonic()
    idle = [await raw(port, ATTACKER, request, rcvbuf=4096) for _ in range(8)]

    async with session(INSTALLER) as s:
        async with s.get(f"http://127.0.0.1:{port}/api/stream") as r:
            assert r.status == 200, "another address still gets its live stream"
            first = await asyncio.wait_for(r.content.readuntil(b"\n\n"), 10)
            assert first.startswith(b"event: status")

    # Beyond STREAMS_PER_CLIENT the attacker's streams were refused at once ...
    refused = 0
    for s in idle[STREAMS_PER_CLIENT:]:
        closed, got = await closed_by_server(s, 5)
        refused += got.startswith(b"HTTP/1.1 503")
    assert refused == 8 - STREAMS_PER_CLIENT
    # ... and those it got are reset once their data has waited STREAM_STALL_S.
    dropped = await asyncio.gather(*(closed_after_filling(s, 90) for s in idle[:STREAMS_PER_CLIENT]))
    held_s = time.monotonic() - t0
    for s in idle:
        s.close()
    assert all(dropped), "a stream that never reads is dropped, not held for ever"
    print(f"non-reading streams dropped {held_s:.1f} s after they connected")
    out = stop(gw)
    assert f"live stream refused from {ATTACKER} ({STREAMS_PER_CLIENT} open from this address)" in out
    assert f"live stream dropped from {ATTACKER} (the page did not read;" in out


async def closed_after_filling(s: socket.socket, timeout: float) -> bool:
    """Wait, without reading, until the kernel says the server closed or reset this
    connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        if info[0] in (7, 8):          # TCP_CLOSE or TCP_CLOSE_WAIT: the server closed it
            return True
    return False


# -- item 5: half-sent requests and the connection cap ------------------------------------------
async def test_half_sent_requests_are_closed_and_capped_per_address(local_console):
    gw, port = local_console
    head = f"GET /api/sensors HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()   # never ends
    t0 = time.monotonic()
    slow = [await raw(port, ATTACKER, head) for _ in range(200)]
    async with session(INSTALLER) as s:
        async with s.get(f"http://127.0.0.1:{port}/api/sensors") as r:
            assert r.status == 200, "another address is served during the flood"

    # A kept-alive connection: one whole request, then half of the next one.
    kept = await raw(port, OTHER, f"GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
                     .encode())
    first = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(kept, 65536), 5)
    assert first.startswith(b"HTTP/1.1 200")
    await asyncio.get_running_loop().sock_sendall(kept, head)
    t_kept = time.monotonic()

    results = await asyncio.gather(*(closed_by_server(c, HEADER_TIMEOUT_S + 10) for c in slow))
    held = time.monotonic() - t0
    kept_closed, _ = await closed_by_server(kept, HEADER_TIMEOUT_S + 10)
    kept_held = time.monotonic() - t_kept
    kept.close()
    assert kept_closed and kept_held < HEADER_TIMEOUT_S + 5, kept_held
    for c in slow:
        c.close()
    refused = sum(got.startswith(b"HTTP/1.1 503") for _, got in results)
    assert all(closed for closed, _ in results), "no half-sent request is held open"
    assert refused == 200 - MAX_PER_CLIENT, refused
    assert held < HEADER_TIMEOUT_S + 5, held
    print(f"200 half-sent requests: {refused} refused at once, the rest closed after {held:.1f} s")

    # A request whose body never comes: nothing here reads a body, so it is refused at
    # once and the connection closed after aiohttp's short lingering time.
    body = f"POST /api/walk/start HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Safehome-Console: 1\r\n" \
           "Content-Length: 1000\r\n\r\n0123456789".encode()
    c = await raw(port, INSTALLER, body)
    t1 = time.monotonic()
    closed, got = await closed_by_server(c, 10)
    c.close()
    assert closed and got.startswith(b"HTTP/1.1 413") and time.monotonic() - t1 < 5
    stop(gw)


async def test_at_the_file_limit_the_log_stays_small_and_the_console_recovers(tmp_path):
    """The daemon with 64 file descriptors, 300 connections from 20 addresses held open:
    accept() fails with EMFILE; that costs a few log lines, not a traceback per attempt."""
    cfg, port = demo_home_with_console(tmp_path)
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(cfg), "--broker",
             "mqtt://127.0.0.1:9"], cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
    try:
        wait_http(f"http://127.0.0.1:{port}/api/overview")
        before = log_path.stat().st_size
        held = []
        for n in range(300):
            source = f"127.0.1.{n % 20 + 1}"
            try:
                held.append(await asyncio.wait_for(raw(port, source, b"GET / HTTP/1.1\r\n"), 2))
            except (TimeoutError, OSError):
                break
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        await asyncio.sleep(8)
        grown = log_path.stat().st_size - before
        for c in held:
            c.close()
        await asyncio.sleep(1.0)
        async with session(INSTALLER) as s:
            async with s.get(f"http://127.0.0.1:{port}/api/sensors") as r:
                assert r.status == 200, "the console serves again once the flood is gone"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    text = log_path.read_text(errors="replace")
    print(f"file limit 64: {len(held)} connections opened, daemon at {fds} fds, "
          f"log grew {grown} bytes in 8 s")
    assert "cannot accept a connection" in text and "Too many open files" in text
    assert "Traceback" not in text
    assert grown < 4000, text[-3000:]
    assert fds <= 64


def test_the_systemd_unit_raises_the_file_limit_above_the_consoles_cap():
    from tests.system.test_systemd_unit import service_section
    limit = int(service_section()["LimitNOFILE"])
    assert limit >= 4 * MAX_CONNECTIONS + 256


# -- item 8: headers on every answer, cross-site changes ------------------------------------------
async def test_every_answer_carries_the_security_headers_and_cross_site_posts_are_refused(
        local_console):
    gw, port = local_console
    base = f"http://127.0.0.1:{port}"
    async with session(INSTALLER) as s:
        answers = {}
        for path in ("/", "/static/app.js", "/api/sensors", "/api/nothing", "/static/nothing"):
            async with s.get(base + path) as r:
                answers[path] = (r.status, r.headers)
        async with s.get(base + "/api/sensors", headers={"Host": "attacker.example"}) as r:
            answers["rebinding"] = (r.status, r.headers)
        async with s.post(base + "/api/walk/start") as r:
            answers["no header"] = (r.status, r.headers)
        change = {"X-Safehome-Console": "1"}
        async with s.post(base + "/api/walk/start",
                          headers={**change, "Origin": "http://attacker.example"}) as r:
            answers["cross-origin"] = (r.status, r.headers)
        async with s.post(base + "/api/walk/start",
                          headers={**change, "Sec-Fetch-Site": "cross-site"}) as r:
            answers["cross-site"] = (r.status, r.headers)
        async with s.post(base + "/api/walk/start", headers={**change, "Origin": base}) as r:
            answers["same-origin"] = (r.status, r.headers)
        async with s.post(base + "/api/walk/stop", headers=change) as r:
            answers["script"] = (r.status, r.headers)
    assert {k: v[0] for k, v in answers.items()} == {
        "/": 200, "/static/app.js": 200, "/api/sensors": 200, "/api/nothing": 404,
        "/static/nothing": 404, "rebinding": 421, "no header": 403, "cross-origin": 403,
        "cross-site": 403, "same-origin": 200, "script": 200}
    for name, (_, headers) in answers.items():
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), name
        assert headers.get("X-Frame-Options") == "DENY", name
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") == "no-referrer", name
    out = stop(gw)
    assert "cross-site POST /api/walk/start refused" in out


async def test_the_login_page_and_a_lock_out_carry_the_headers_too(lan_console):
    gw, port = lan_console
    async with session(INSTALLER) as s:
        async with s.get(f"http://127.0.0.1:{port}/") as r:
            assert r.status == 401 and r.headers["X-Frame-Options"] == "DENY"
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    stop(gw)


def _issue_links(path: str, n: int) -> list[str]:
    from gateway.console.auth import LinkBook
    book = LinkBook(Path(path))
    return [book.issue(15) for _ in range(n)]


def test_links_issued_and_consumed_by_several_processes_at_once_are_never_lost(tmp_path):
    """`safehome console link` (one process per call) and the daemon's logins change the
    links file at the same time: no FileNotFoundError, no link lost, each used once."""
    import multiprocessing

    path = tmp_path / "console-links.json"
    first = _issue_links(str(path), 40)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        issuing = pool.starmap_async(_issue_links, [(str(path), 40)] * 4)
        from gateway.console.auth import LinkBook
        book = LinkBook(path)
        consumed = [book.consume(code) for code in first]      # while the others issue
        issued = [code for codes in issuing.get(60) for code in codes]
    assert all(consumed)
    assert all(book.consume(code) for code in issued), "every link issued meanwhile works"
    assert not any(book.consume(code) for code in first + issued), "and only once"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    assert path.read_text() == "{}"


# -- behind a reverse proxy ------------------------------------------------------------------
async def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(tmp_path):
    """nginx on the gateway connects from 127.0.0.1 for every browser: its X-Forwarded-For
    names the client, so one browser's wrong tokens lock out that browser only. The header
    from anyone else is ignored (anyone can write it), and a login is needed although the
    console listens on loopback."""
    cfg, port = demo_home_with_console(tmp_path, extra='token_env = "CONSOLE_TOKEN"\n'
                                                       'trusted_proxies = ["127.0.0.1"]')
    gw = GatewayProcess(cfg, "--broker", "mqtt://127.0.0.1:9", env={"CONSOLE_TOKEN": TOKEN}).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/")
        proxied = {"Host": "gateway.example", "X-Forwarded-Proto": "https"}
        async with session("127.0.0.1") as proxy, session(ATTACKER) as direct:
            async with proxy.get(base + "/api/sensors", headers=proxied) as r:
                assert r.status == 401, "behind a proxy, loopback is no login"
            seen = Counter()
            for n in range(LOGIN_FAILURES + 5):
                headers = {**proxied, "X-Forwarded-For": "198.51.100.1, 10.0.0.66"}
                async with proxy.get(f"{base}/?token=wrong-{n}", headers=headers,
                                     allow_redirects=False) as r:
                    seen[r.status] += 1
            assert seen == {401: LOGIN_FAILURES, 429: 5}
            headers = {**proxied, "X-Forwarded-For": "10.0.0.7"}
            async with proxy.get(f"{base}/?token={TOKEN}", headers=headers,
                                 allow_redirects=False) as r:
                assert r.status == 302, "another browser behind the same proxy logs in"
                assert "Secure" in r.headers["Set-Cookie"], "the proxy said https: a Secure cookie"
                cookie = {"safehome_console": r.cookies["safehome_console"].value}
            async with proxy.post(base + "/api/walk/start", cookies=cookie, headers={
                    **headers, "X-Safehome-Console": "1", "Origin": "https://gateway.example"}) as r:
                assert r.status == 200, "the page's own POST through the proxy passes"

            for n in range(LOGIN_FAILURES):     # not a proxy: its header is not believed
                async with direct.get(f"{base}/?token=wrong-{n}", allow_redirects=False,
                                      headers={"X-Forwarded-For": f"10.9.9.{n}"}) as r:
                    assert r.status == 401
            async with direct.get(f"{base}/?token=wrong", allow_redirects=False,
                                  headers={"X-Forwarded-For": "10.9.9.99"}) as r:
                assert r.status == 429
    finally:
        out = stop(gw)
    assert "console login refused from 10.0.0.66 (wrong token)" in out
