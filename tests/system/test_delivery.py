"""End to end against a real mosquitto: what the alarm centre can rely on.

These run the real daemon in a child process (`python -m gateway.cli run`), with the
real SQLite store, and watch the broker like the centre would.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time

import pytest

from tests.support.broker import Mosquitto, unreachable_port
from tests.support.db_files import crash_copy
from tests.support.gateway_proc import GatewayProcess, Listener, retained, write_config

STATUS = "safehome/v1/gw-test-01/status"


async def test_an_alarm_reaches_the_centre_with_its_contract_fields(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1")
    async with Listener(mosquitto.host, mosquitto.port) as centre:
        gw = GatewayProcess(cfg).start()
        try:
            alarm = (await centre.wait_for("alarm", 1, timeout=20))[0]
            assert (await centre.wait_for("heartbeat"))[0]["seq"] == 1
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0, gw.output()
    assert alarm["type"] == "sos" and alarm["class"] == "alarm"
    assert alarm["code"] == {"contact_id": 101, "qualifier": 1}
    for key in ("id", "seq", "type", "occurred_at", "detected_at", "text"):
        assert key in alarm
    assert set(alarm["text"]) == {"fi", "sv", "en"} and all(alarm["text"].values())
    online = [b for t, b, r in centre.messages if t == STATUS]
    assert online[0]["state"] == "online"
    # A clean stop leaves a retained offline status.
    assert (await retained(mosquitto.host, mosquitto.port, STATUS))["state"] == "offline"


async def test_sigkill_leaves_the_will_offline_status(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    gw = GatewayProcess(cfg).start()
    try:
        deadline = time.monotonic() + 15
        while (await retained(mosquitto.host, mosquitto.port, STATUS, 0.5) or {}).get("state") != "online":
            assert time.monotonic() < deadline, gw.output()
        gw.kill()
        await asyncio.sleep(0.5)
        status = await retained(mosquitto.host, mosquitto.port, STATUS)
        assert status["state"] == "offline"
        assert status["reason"] == "connection lost"
    finally:
        gw.kill()


@pytest.mark.slow
async def test_fifty_events_during_a_20s_broker_outage_all_arrive_in_seq_order(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    cfg = write_config(tmp_path, broker.url,
                       sensor_settings="sos_after = 4\nsos_every = 0.3\nsos_count = 50")
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(broker.host, broker.port) as before:
            await before.wait_for("status", 1, timeout=15)
            await asyncio.sleep(2.5)
            broker.stop()  # the outage starts before the first SOS press (at 4 s)
            sent_before = before.on("alarm")
        assert sent_before == []
        await asyncio.sleep(20)
        with crash_copy(tmp_path / "gw-test-01.db") as copy, sqlite3.connect(copy) as db:
            pending = db.execute(
                "SELECT COUNT(*) FROM events WHERE type='sos' AND state='pending'").fetchone()[0]
        assert pending == 50, "all 50 alarms committed while the broker was away"
        broker.start()
        async with Listener(broker.host, broker.port) as after:
            alarms = await after.wait_for("alarm", 50, timeout=30)
            await asyncio.sleep(1.0)
        alarms = after.on("alarm")
        seqs = [a["seq"] for a in alarms]
        assert len(set(a["id"] for a in alarms)) == 50
        assert seqs == sorted(seqs), "delivered oldest first"
        assert seqs == list(range(seqs[0], seqs[0] + 50)), "no gap in seq"
        time.sleep(0.5)
        with crash_copy(tmp_path / "gw-test-01.db") as copy, sqlite3.connect(copy) as db:
            states = dict(db.execute(
                "SELECT state, COUNT(*) FROM events WHERE type='sos' GROUP BY state"))
        assert states == {"sent": 50}
    finally:
        try:
            gw.signal(signal.SIGTERM)
            gw.wait()
        finally:
            broker.stop()


async def test_events_pending_at_sigkill_are_sent_after_restart(mosquitto, tmp_path):
    dead = f"mqtt://127.0.0.1:{unreachable_port()}"  # nothing listens here: every event stays pending
    cfg = write_config(tmp_path, dead, sensor_settings="sos_after = 0.5\nsos_every = 0.2\nsos_count = 5")
    gw = GatewayProcess(cfg).start()
    db_path = tmp_path / "gw-test-01.db"
    deadline = time.monotonic() + 20
    pending: list[str] = []
    while len(pending) < 5:
        assert time.monotonic() < deadline, gw.output()
        await asyncio.sleep(0.2)
        if db_path.exists():
            with crash_copy(db_path) as copy, sqlite3.connect(copy) as db:
                try:
                    pending = [r[0] for r in db.execute(
                        "SELECT id FROM events WHERE type='sos' AND state='pending'")]
                except sqlite3.OperationalError:   # the file exists a moment before its tables
                    continue
    gw.kill()
    restarted = GatewayProcess(write_config(tmp_path, mosquitto.url,
                                            sensor_settings="sos_after = 1000")).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            alarms = await centre.wait_for("alarm", 5, timeout=20)
        assert {a["id"] for a in alarms} >= set(pending)
        started = [e for e in centre.on("event") if e["type"] == "gateway_started"]
        assert len(started) == 2, "the first run's start event was pending too, and is delivered"
        assert max(started, key=lambda e: e["seq"])["evidence"]["backlog"] >= 6
    finally:
        restarted.signal(signal.SIGTERM)
        assert restarted.wait() == 0


async def test_refused_credentials_stop_retrying_with_one_clear_line(tmp_path):
    broker = Mosquitto(tmp_path / "broker", users={"gw": "right"}).start()
    try:
        cfg = write_config(tmp_path, broker.url, sensor_settings="sos_after = 1000",
                           mqtt_extra='username_env = "T_USER"\npassword_env = "T_PASS"')
        gw = GatewayProcess(cfg, env={"T_USER": "gw", "T_PASS": "wrong-secret"}).start()
        await asyncio.sleep(6)
        out = gw.output()
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
        refused = [line for line in out.splitlines() if "refused the credentials" in line]
        assert len(refused) == 1, out
        assert "wrong-secret" not in out, "secrets never appear in logs"
        assert broker.log_text().count("Sending CONNACK") == 1, "one attempt, no retry loop"
    finally:
        broker.stop()
