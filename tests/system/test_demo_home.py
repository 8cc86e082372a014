"""The README's promise: the demo home raises a fall alarm over a real broker within 60 s."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.support.gateway_proc import REPO, Listener


@pytest.mark.slow
async def test_demo_home_publishes_online_heartbeats_and_a_fall_alarm_within_60s(mosquitto, tmp_path):
    async with Listener(mosquitto.host, mosquitto.port) as centre:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", "examples/demo-home.toml",
             "--broker", mosquitto.url, "--db", str(tmp_path / "demo.db")],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            alarm = (await centre.wait_for("alarm", 1, timeout=60))[0]
            elapsed = time.monotonic() - start
            await centre.wait_for("heartbeat", 2, timeout=15)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert elapsed < 60
    status = [(b, r) for t, b, r in centre.messages if t.endswith("/status")]
    assert status[0][0]["state"] == "online"
    assert alarm["type"] == "fall" and alarm["room"] == "living"
    for key in ("id", "seq", "type", "occurred_at"):
        assert alarm[key]
    assert all(alarm["text"][lang] for lang in ("fi", "sv", "en"))
    assert "Kaatuminen" in alarm["text"]["fi"]
