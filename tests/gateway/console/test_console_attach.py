"""The console is loaded when first opened (gateway/console/attach.py, issue 25): a running
`safehome run` with `[console] listen` set binds the port at start but maps no aiohttp
until the first connection; then it answers, with each sensor's latest reading known."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.support.console_util import demo_home_with_console, get_json
from tests.support.gateway_proc import GatewayProcess


def aiohttp_mapped(pid: int) -> bool:
    """Whether aiohttp's compiled parts are mapped into the process (seen from outside,
    as /proc shows it: no import hook of the test's own)."""
    return "/aiohttp/" in Path(f"/proc/{pid}/maps").read_text()


def wait_bound(gw: GatewayProcess, timeout: float = 30.0) -> None:
    """Until the gateway says its console's port is bound (a connection would load it)."""
    deadline = time.monotonic() + timeout
    while "loaded when first opened" not in gw.output():
        assert time.monotonic() < deadline, gw.output()[-2000:]
        time.sleep(0.1)


def test_the_console_is_loaded_at_its_first_request_not_at_start(mosquitto, tmp_path):
    cfg, port = demo_home_with_console(tmp_path)
    gw = GatewayProcess(cfg, "--broker", mosquitto.url).start()
    try:
        assert gw.proc is not None
        wait_bound(gw)
        time.sleep(3)   # the simulated sensors play: the console's tap sees their readings
        assert not aiohttp_mapped(gw.proc.pid), "aiohttp loaded before anyone opened the console"
        status, sensors = get_json(f"http://127.0.0.1:{port}/api/sensors")
        assert status == 200
        assert aiohttp_mapped(gw.proc.pid)
        radar = next(s for s in sensors if s["id"] == "radar-living")
        # read by the console's tap since start, before the load
        assert radar["last_reading"] is not None and radar["rate_hz"], radar
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    out = gw.output()
    assert "loaded when first opened" in out and "console loaded" in out
