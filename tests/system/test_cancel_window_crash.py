"""A fall inside the cancel window survives a crash of the gateway: the window is durable.

The resident falls, `fall_suspected` goes out, and the gateway is killed (power cut, OOM,
kill -9) before the window closes. The restarted gateway, on the same database, sends the
`fall` alarm when the window's deadline passes - even when its home config no longer has
the sensors that saw the fall.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from simulator.live import SCENARIOS
from tests.support.gateway_proc import GatewayProcess, Listener, write_home

CANCEL_WINDOW = 15.0


def quick_fall_scenario(tmp: Path) -> Path:
    """The shipped demo flat with the fall 8 s in instead of 30 s."""
    text = (SCENARIOS / "demo.toml").read_text().replace('at = "+30s"', 'at = "+8s"')
    assert 'at = "+8s"' in text
    path = tmp / "quick-fall.toml"
    path.write_text(text.replace('duration = "5m"', 'duration = "2m"'))
    return path


HOME = """\
    gateway_id = "gw-window-01"
    site_id = "site-test"
    [alarm]
    cancel_window = {window}
    [[rooms]]
    id = "living"
    [[rooms]]
    id = "hall"
    """

FALLING_SENSORS = """\
    [[sensors]]
    id = "wearable"
    type = "simulated"
    placement = "waist"
    timeout = 60
    [sensors.settings]
    scenario = "{scenario}"
    sensors = ["wearable"]
    [[sensors]]
    id = "radar-living"
    type = "simulated"
    room = "living"
    placement = "wall"
    timeout = 60
    [sensors.settings]
    scenario = "{scenario}"
    sensors = ["radar-living"]
    """

OTHER_SENSOR = """\
    [[sensors]]
    id = "pendant"
    type = "demo"
    room = "hall"
    timeout = 60
    [sensors.settings]
    sos_after = 1000
    """


async def test_a_gateway_killed_inside_the_cancel_window_sends_the_fall_alarm_after_restart(
        mosquitto, tmp_path):
    scenario = quick_fall_scenario(tmp_path)
    home = HOME.format(window=CANCEL_WINDOW)
    first = write_home(tmp_path, mosquitto.url, home + FALLING_SENSORS.format(scenario=scenario),
                       name="gw-window-01")
    async with Listener(mosquitto.host, mosquitto.port) as centre:
        gw = GatewayProcess(first).start()
        try:
            suspected = await _wait_type(centre, "fall_suspected", timeout=60)
            gw.signal(signal.SIGKILL)  # inside the window: the alarm is not out yet
            gw.wait()
            killed_at = time.time()
        finally:
            gw.kill()
        assert centre.on("alarm") == [], "the alarm went out before the kill: no window left to test"
        # Same database, a home that no longer has the sensors that saw the fall.
        second = write_home(tmp_path, mosquitto.url, home + OTHER_SENSOR, name="gw-window-01")
        restarted = GatewayProcess(second).start()
        try:
            alarm = (await centre.wait_for("alarm", 1, timeout=CANCEL_WINDOW + 30))[0]
        finally:
            restarted.signal(signal.SIGTERM)
            assert restarted.wait() == 0, restarted.output()[-3000:]
    assert alarm["type"] == "fall" and alarm["ref"] == suspected["id"]
    assert alarm["occurred_at"] == suspected["occurred_at"]
    # Not before the window's deadline (sensor time is wall time live; 1 s for rounding).
    deadline = _seconds(suspected["occurred_at"]) + CANCEL_WINDOW
    assert _seconds(alarm["detected_at"]) >= deadline - 1.0
    assert killed_at < deadline, "the kill must fall inside the window"
    assert [a["type"] for a in centre.on("alarm")].count("fall") == 1
    assert alarm["seq"] > suspected["seq"]


async def _wait_type(centre: Listener, type_name: str, timeout: float) -> dict:
    import asyncio
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for body in centre.on("event"):
            if body.get("type") == type_name:
                return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {type_name} event in {timeout} s: {[b.get('type') for b in centre.on('event')]}")


def _seconds(iso_text: str) -> float:
    from gateway.events import parse_iso
    return parse_iso(iso_text)
