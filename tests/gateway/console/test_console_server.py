"""The console as `safehome run` serves it: the page and /api/ over real HTTP, logins off
loopback, one-time links from `safehome console link`, and containment (a console that
cannot start leaves the alarm path running)."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import textwrap

from gateway.console.server import STATIC
from tests.support.broker import free_port
from tests.support.console_util import demo_home_with_console, get_json, port_taken, wait_http
from tests.support.gateway_proc import REPO, GatewayProcess, Listener, write_config

TOKEN = "a-long-console-token-for-tests-0123456789"


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        con.request(method, path, headers=headers or {})
        resp = con.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        con.close()


async def test_safehome_run_with_the_demo_home_serves_the_page_and_api_sensors(mosquitto, tmp_path):
    cfg, port = demo_home_with_console(tmp_path)
    gw = GatewayProcess(cfg, "--broker", mosquitto.url).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/api/sensors")
        status, _, body = request(port, "GET", "/")
        assert status == 200 and b"Safehome" in body and b"/static/app.js" in body
        status, sensors = get_json(f"http://127.0.0.1:{port}/api/sensors")
        assert status == 200 and isinstance(sensors, list)
        assert [s["id"] for s in sensors] == ["wearable", "radar-living", "pir-kitchen", "door-front"]
        assert all(isinstance(s["state"], str) for s in sensors)
        for asset in ("app.js", "i18n.js", "style.css", "icon.svg"):
            assert request(port, "GET", f"/static/{asset}")[0] == 200
        # The loopback console refuses other host names (DNS rebinding) and cross-site changes.
        assert request(port, "GET", "/api/sensors", {"Host": "attacker.example"})[0] == 421
        assert request(port, "POST", "/api/test-alarm")[0] == 403
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    assert "console on http://127.0.0.1:" in gw.output()


def test_every_asset_ships_in_the_package_and_nothing_is_fetched_from_elsewhere():
    files = sorted(p.name for p in STATIC.iterdir())
    assert {"index.html", "login.html", "app.js", "i18n.js", "style.css", "icon.svg"} <= set(files)
    for p in STATIC.iterdir():
        text = p.read_text(encoding="utf-8")
        urls = re.findall(r"https?://[^\s\"')]+", text)
        assert set(urls) <= {"http://www.w3.org/2000/svg"}, (p.name, urls)  # an XML namespace
    # static/ is not a Python package: it ships because setup.cfg names it (a wheel without it
    # would serve a console without a page).
    assert "gateway.console = static/*" in (REPO / "setup.cfg").read_text()


async def test_a_console_that_cannot_start_leaves_the_alarm_path_running(mosquitto, tmp_path):
    sock, port = port_taken()
    try:
        cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1",
                           extra=f'[console]\nlisten = "127.0.0.1:{port}"\n')
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            gw = GatewayProcess(cfg).start()
            try:
                alarm = (await centre.wait_for("alarm", 1, timeout=30))[0]
            finally:
                gw.signal(signal.SIGTERM)
                assert gw.wait() == 0
    finally:
        sock.close()
    assert alarm["type"] == "sos"
    assert "console could not start" in gw.output() and "runs on without it" in gw.output()


async def test_off_loopback_a_login_is_needed_and_a_one_time_link_works_once(mosquitto, tmp_path):
    port = free_port()
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 3600", extra=textwrap.dedent(f"""\
        [console]
        listen = "0.0.0.0:{port}"
        token_env = "CONSOLE_TOKEN"
        one_time_links = true
        """))
    env = {"CONSOLE_TOKEN": TOKEN}
    gw = GatewayProcess(cfg, env=env).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        assert request(port, "GET", "/api/sensors")[0] == 401
        status, _, page = request(port, "GET", "/")
        assert status == 401 and b"safehome console link" in page      # the login page
        assert request(port, "GET", "/api/sensors", {"Authorization": "Bearer wrong"})[0] == 401
        assert request(port, "GET", "/api/sensors", {"Authorization": f"Bearer {TOKEN}"})[0] == 200

        out = subprocess.run([sys.executable, "-m", "gateway.cli", "console", "link", "--config",
                              str(cfg), "--host", "127.0.0.1", "--lang", "fi"], cwd=REPO,
                             capture_output=True, text=True, timeout=60, env={**env, "PATH": ""})
        assert out.returncode == 0, out.stderr
        url = out.stdout.splitlines()[0]
        match = re.fullmatch(rf"http://127\.0\.0\.1:{port}/\?link=([\w-]+)&lang=fi", url)
        assert match, url
        assert "█" in out.stdout or "▀" in out.stdout, "the QR code is printed in the terminal"

        status, headers, _ = request(port, "GET", f"/?link={match.group(1)}&lang=fi")
        assert status == 302 and headers["location"] == "/?lang=fi"
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        status, sensors = get_json(f"http://127.0.0.1:{port}/api/sensors", {"Cookie": cookie})
        assert status == 200 and sensors[0]["id"] == "pendant"
        # The link is spent: a second browser gets the login page again.
        assert request(port, "GET", f"/?link={match.group(1)}")[0] == 401
        assert request(port, "POST", "/api/walk/start",
                       {"Cookie": cookie, "X-Safehome-Console": "1"})[0] == 200
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    assert "console login refused" in gw.output()
    links = json.loads((tmp_path / "console-links.json").read_text())
    assert links == {}, "only hashes are stored, and a used link is gone"


def test_console_link_on_loopback_prints_the_plain_address(tmp_path):
    cfg = write_config(tmp_path, "mqtt://127.0.0.1:1883", extra='[console]\nlisten = "127.0.0.1:8380"\n')
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "console", "link", "--config", str(cfg)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("http://127.0.0.1:8380/\n")
    assert "no login needed" in out.stdout


def test_console_link_without_a_console_exits_2(tmp_path):
    cfg = write_config(tmp_path, "mqtt://127.0.0.1:1883")
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "console", "link", "--config", str(cfg)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "console.listen is not set" in out.stderr


async def test_a_failing_console_request_is_answered_500_and_alarms_keep_flowing(mosquitto, tmp_path,
                                                                              monkeypatch):
    import asyncio
    import logging

    import aiohttp

    from gateway.config import load_config
    from gateway.console import views
    from gateway.console.attach import attach_console
    from gateway.daemon import Daemon

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the room plan")

    monkeypatch.setattr(views, "radars", broken)
    port = free_port()
    cfg = load_config(write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 2",
                                   extra=f'[console]\nlisten = "127.0.0.1:{port}"\n'), env={})
    logging.getLogger("safehome.console").setLevel(logging.ERROR)
    async with Listener(mosquitto.host, mosquitto.port) as centre:
        daemon = Daemon(cfg)
        attach_console(daemon)  # as `safehome run` does
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.uplink.connected.wait(), 10)
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                async with http.get(base + "/api/radar") as r:
                    assert r.status == 500 and "a bug in the room plan" in (await r.json())["error"]
                async with http.get(base + "/api/sensors") as r:
                    assert r.status == 200 and (await r.json())[0]["id"] == "pendant"
            alarm = (await centre.wait_for("alarm", 1, timeout=20))[0]
            assert alarm["type"] == "sos"
            assert not task.done()
        finally:
            daemon.stop_requested.set()
            await asyncio.wait_for(task, 20)


async def test_without_a_broker_the_test_alarm_stops_at_committed_and_the_checklist_says_not_ready(tmp_path):
    import asyncio
    port, dead_broker = free_port(), free_port()
    cfg = write_config(tmp_path, f"mqtt://127.0.0.1:{dead_broker}", sensor_settings="sos_after = 3600",
                       extra=f'[console]\nlisten = "127.0.0.1:{port}"\n')
    gw = GatewayProcess(cfg).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/api/overview")
        status, _, body = request(port, "POST", "/api/test-alarm", {"X-Safehome-Console": "1"})
        item = json.loads(body)
        assert status == 200 and item["step"] == "committed" and item["committed"] is True
        assert request(port, "POST", "/api/test-alarm", {"X-Safehome-Console": "1"})[0] == 429
        await asyncio.sleep(1.5)
        _, tests = get_json(f"http://127.0.0.1:{port}/api/test-alarm")
        assert tests[0]["step"] == "committed" and tests[0]["sent_at"] is None
        _, doctor = get_json(f"http://127.0.0.1:{port}/api/doctor")
        broker = next(c for c in doctor["checks"] if c["item"] == "uplink: broker")
        assert doctor["ready"] is False and broker["status"] == "fail"
        _, events = get_json(f"http://127.0.0.1:{port}/api/events")
        assert [e["state"] for e in events["events"] if e["type"] == "test_alarm"] == ["pending"]
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
