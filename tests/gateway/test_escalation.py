"""Local escalation is timed from the alarm, not from the broker's PUBACKs.

docs/mqtt-api.md, "Acknowledgement and re-send": an alarm not acknowledged
`max_attempts x ack_timeout` seconds after it was committed raises
`alarm_unacknowledged` and runs the hook, whether the centre is reachable or not; when
the centre is reachable but silent, the last attempt still gets its full ack window.
The buzzer exists for the home whose internet is down, so the real daemon is run
against a broker that is not there, one that refuses its credentials, and one whose
centre never answers.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.broker import Mosquitto, unreachable_port
from tests.support.db_files import crash_copy
from tests.support.gateway_proc import GatewayProcess, Listener, write_config

ACK_TIMEOUT = 4
MAX_ATTEMPTS = 2
BOUND = MAX_ATTEMPTS * ACK_TIMEOUT + 2   # the acceptance bound, seconds after the alarm
SLACK = 1.5                              # a loaded CI machine; still far below one ack window


def _config(tmp: Path, url: str, marker: Path, mqtt_extra: str = "") -> Path:
    return write_config(
        tmp, url, sensor_settings="sos_after = 1", mqtt_extra=mqtt_extra,
        extra=f"[alarm]\nack_timeout = {ACK_TIMEOUT}\nmax_attempts = {MAX_ATTEMPTS}\n"
              f'unacknowledged_hook = ["sh", "-c", "date +%s.%N > {marker}"]\n')


def _alarm_committed_at(tmp: Path) -> float:
    # the running daemon holds its database exclusively: read what a crash would leave
    with crash_copy(tmp / "gw-test-01.db") as copy, closing(sqlite3.connect(copy)) as db:
        row = db.execute("SELECT created_at FROM events WHERE type = 'sos'").fetchone()
    assert row is not None, "the SOS alarm was committed"
    return float(row[0])


def _wait_for_hook(marker: Path, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return float(marker.read_text().strip())
        time.sleep(0.05)
    raise AssertionError(f"the unacknowledged-alarm hook did not run within {timeout} s")


@pytest.mark.parametrize("broker", ["never_started", "stopped", "credentials_refused"])
def test_hook_runs_within_the_bound_while_the_centre_is_unreachable(tmp_path, broker):
    marker = tmp_path / "buzzer-ran"
    mqtt_extra, env = "", {}
    server: Mosquitto | None = None
    if broker == "never_started":
        url = f"mqtt://127.0.0.1:{unreachable_port()}"
    elif broker == "stopped":
        server = Mosquitto(tmp_path / "broker").start()
        server.stop()
        url = server.url
    else:
        server = Mosquitto(tmp_path / "broker", users={"gw-test-01": "right"}).start()
        url = server.url
        mqtt_extra = 'username_env = "SH_TEST_USER"\npassword_env = "SH_TEST_PASS"\n'
        env = {"SH_TEST_USER": "gw-test-01", "SH_TEST_PASS": "wrong"}
    gw = GatewayProcess(_config(tmp_path, url, marker, mqtt_extra), env=env).start()
    try:
        ran_at = _wait_for_hook(marker, timeout=BOUND + 15)
        alarm_at = _alarm_committed_at(tmp_path)
    finally:
        gw.signal(signal.SIGTERM)
        gw.wait()
        if server is not None:
            server.stop()
    delay = ran_at - alarm_at
    print(f"{broker}: hook ran {delay:.2f} s after the alarm (bound {BOUND} s)")
    assert delay <= BOUND, f"hook ran {delay:.2f} s after the alarm (bound {BOUND} s)"
    assert delay >= MAX_ATTEMPTS * ACK_TIMEOUT - SLACK, f"hook ran early: {delay:.2f} s"
    out = gw.output()
    assert "escalating locally" in out
    if broker == "credentials_refused":
        assert "refused the credentials" in out


async def test_last_attempt_gets_its_full_ack_window_when_the_centre_is_silent(mosquitto, tmp_path):
    marker = tmp_path / "buzzer-ran"
    gw = GatewayProcess(_config(tmp_path, mosquitto.url, marker)).start()
    sent_at: list[float] = []
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            deadline = time.monotonic() + BOUND + 15
            while time.monotonic() < deadline:
                while len(sent_at) < len(centre.on("alarm")):
                    sent_at.append(time.time())
                if marker.exists():
                    deadline = min(deadline, time.monotonic() + 0.3)  # catch a copy just behind
                await asyncio.sleep(0.02)
            attempts = [a["attempt"] for a in centre.on("alarm")]
    finally:
        gw.signal(signal.SIGTERM)
        gw.wait()
    ran_at = _wait_for_hook(marker, timeout=1)
    assert attempts[:MAX_ATTEMPTS] == list(range(1, MAX_ATTEMPTS + 1))
    last = sent_at[MAX_ATTEMPTS - 1]
    window = ran_at - last
    print(f"silent centre: hook ran {window:.2f} s after attempt {MAX_ATTEMPTS}")
    assert window >= ACK_TIMEOUT - SLACK, (
        f"attempt {MAX_ATTEMPTS} had only {window:.2f} s for its ack before the hook ran")
    delay = ran_at - _alarm_committed_at(tmp_path)
    assert delay <= BOUND, f"hook ran {delay:.2f} s after the alarm (bound {BOUND} s)"
