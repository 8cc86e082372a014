"""Real storage faults under the real daemon: the database files turn immutable
(`chattr +i`, as root), which SQLite sees as a write error exactly like a read-only mount.

The gateway must not die (it used to die of SIGBUS writing its mmap'ed `-shm`), alarms
keep flowing from memory, acks made meanwhile are kept, and after a crash and a restart
no seq is given out twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.support.gateway_proc import GatewayProcess, Listener, write_config

ACK = "safehome/v1/gw-test-01/ack"
SOS_EVERY = "sos_after = 1\nsos_every = 0.4\nsos_count = 1000"


def _chattr_works(directory: Path) -> str | None:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return "needs root and chattr to make files immutable"
    probe = directory / "chattr-probe"
    probe.write_text("x")
    try:
        if subprocess.run(["chattr", "+i", str(probe)], check=False, capture_output=True).returncode != 0:
            return f"the filesystem of {directory} does not support chattr +i"
        subprocess.run(["chattr", "-i", str(probe)], check=True)
    finally:
        probe.unlink(missing_ok=True)
    return None


def db_files(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def immutable(db: Path, on: bool) -> None:
    for p in db_files(db):
        subprocess.run(["chattr", "+i" if on else "-i", str(p)], check=True)


@pytest.fixture
def db_path(tmp_path: Path):
    problem = _chattr_works(tmp_path)
    if problem:
        pytest.skip(problem)
    path = tmp_path / "gw-test-01.db"
    yield path
    immutable(path, False)  # never leave undeletable files behind


class AckingCentre(Listener):
    """A centre that acknowledges every alarm copy it receives."""

    async def _run(self) -> None:
        async with aiomqtt.Client(self.host, self.port, identifier="acking-centre") as c:
            await c.subscribe(self.topic, qos=1)
            self.ready.set()
            async for m in c.messages:
                body: Any = json.loads(m.payload)
                self.messages.append((str(m.topic), body, bool(m.retain)))
                if str(m.topic).endswith("/alarm"):
                    await c.publish(ACK, json.dumps({"id": body["id"], "by": "op-1"}), qos=1)


def types(centre: Listener) -> list[str]:
    return [b["type"] for b in centre.on("event")]


async def wait_until(cond: Any, timeout: float, what: str) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_immutable_database_files_degrade_the_store_and_the_gateway_lives_on(
        mosquitto, tmp_path, db_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings=SOS_EVERY)
    gw = GatewayProcess(cfg).start()
    try:
        async with AckingCentre(mosquitto.host, mosquitto.port) as centre:
            await centre.wait_for("alarm", 3, timeout=20)
            immutable(db_path, True)
            await wait_until(lambda: "storage_failure" in types(centre), 15, "storage_failure")
            n = len(centre.on("alarm"))
            await centre.wait_for("alarm", n + 5, timeout=15)  # alarms flow from memory
            assert gw.proc is not None and gw.proc.poll() is None, gw.output()[-3000:]
            acked_while_failed = {a["id"] for a in centre.on("alarm")[n:]}
            immutable(db_path, False)
            m = len(centre.on("alarm"))
            await centre.wait_for("alarm", m + 3, timeout=15)  # the store recovered
            await asyncio.sleep(1.0)  # the last acks arrive and are written
    finally:
        immutable(db_path, False)
        gw.signal(signal.SIGTERM)
        rc = gw.wait()
    assert rc == 0, gw.output()[-3000:]
    assert types(centre).count("storage_failure") == 1
    assert "event store recovered" in gw.output()
    with sqlite3.connect(db_path) as db:
        states = dict(db.execute("SELECT id, state FROM events WHERE type = 'sos'"))
    assert acked_while_failed and all(states.get(i) == "acknowledged" for i in acked_while_failed), \
        "alarms sent and acked while the store was failed are stored as acknowledged"


async def test_a_crash_while_the_store_is_failed_never_reuses_a_seq(mosquitto, tmp_path, db_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings=SOS_EVERY)
    async with AckingCentre(mosquitto.host, mosquitto.port) as centre:
        gw = GatewayProcess(cfg).start()
        try:
            await centre.wait_for("alarm", 3, timeout=20)
            immutable(db_path, True)
            await wait_until(lambda: "storage_failure" in types(centre), 15, "storage_failure")
            n = len(centre.on("alarm"))
            await centre.wait_for("alarm", n + 10, timeout=20)  # numbered, never committed
            gw.signal(signal.SIGKILL)
            gw.wait()
        finally:
            gw.kill()
            immutable(db_path, False)
        again = GatewayProcess(cfg).start()
        try:
            k = len(centre.on("alarm"))
            await centre.wait_for("alarm", k + 5, timeout=20)
        finally:
            again.signal(signal.SIGTERM)
            assert again.wait() == 0, again.output()[-3000:]
    ids_by_seq: dict[int, set[str]] = {}
    for body in centre.on("alarm") + centre.on("event"):
        ids_by_seq.setdefault(body["seq"], set()).add(body["id"])
    reused = {seq: ids for seq, ids in ids_by_seq.items() if len(ids) > 1}
    assert reused == {}, f"{len(reused)} seqs given to two events"
