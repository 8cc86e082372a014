"""`safehome doctor`'s test alarm is a real event of the gateway: next seq, committed,
and never published beside a running daemon (which alone numbers the gateway's events)."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from contextlib import closing

from gateway.centre.receiver import Centre
from gateway.cli import main
from gateway.config import load_config
from gateway.events import Event
from gateway.store import Store
from tests.support.gateway_proc import GatewayProcess, Listener, write_config


def doctor_json(capsys, cfg, *args: str) -> tuple[int, dict]:
    rc = main(["doctor", "--config", str(cfg), "--json", "--timeout", "3", *args])
    report = json.loads(capsys.readouterr().out)
    return rc, {c["item"]: c for c in report["checks"]}


async def test_the_test_alarm_takes_the_next_seq_and_is_committed(capsys, mosquitto, tmp_path):
    cfg_path = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    db = load_config(cfg_path).storage.path
    store = Store(db)
    await store.open()
    for seq in range(1, 6):   # the daemon's earlier life: seqs 1..5
        await store.insert(Event(f"old-{seq}", seq, "gateway_started", "info", time.time(),
                                 time.time(), {"en": ""}))
    await store.close()
    async with Centre(mosquitto.url, auto_ack=True) as centre:
        rc, checks = await asyncio.to_thread(doctor_json, capsys, cfg_path)
        test = checks["uplink: test alarm"]
        assert test["status"] == "ok", test
        assert rc == 0
        [alarm] = [a for a in centre.alarms if a.id == test["data"]["event_id"]]
    assert alarm.payload["seq"] == 6, "the next seq: no gap, and no seq used twice"
    with closing(sqlite3.connect(db)) as con:
        state, seq = con.execute("SELECT state, seq FROM events WHERE id = ?", (alarm.id,)).fetchone()
    assert (state, seq) == ("acknowledged", 6)
    store = Store(db)
    await store.open()
    assert await store.last_seq() == 6, "the daemon continues after the doctor's alarm"
    assert alarm.id not in [s.event.id for s in await store.undelivered()]
    await store.close()


async def test_doctor_beside_a_running_daemon_publishes_nothing_and_says_why(capsys, mosquitto,
                                                                            tmp_path):
    cfg_path = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    gw = GatewayProcess(cfg_path).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            await centre.wait_for("status", 1, timeout=15)
            await centre.wait_for("event", 1, timeout=15)   # gateway_started
            rc, checks = await asyncio.to_thread(doctor_json, capsys, cfg_path)
            await asyncio.sleep(0.5)
            alarms = centre.on("alarm")
            seqs = [e["seq"] for e in centre.on("event") + alarms]
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    test = checks["uplink: test alarm"]
    assert rc == 1 and test["status"] == "fail"
    assert "daemon is running" in test["finding"] and "systemctl stop safehome" in test["fix"]
    assert checks["uplink: broker"]["status"] == "ok", "the broker check still runs"
    assert alarms == [], "nothing published with a seq the daemon numbers"
    assert len(seqs) == len(set(seqs))
