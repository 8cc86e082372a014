"""Redundant receivers sharing one alarm log in PostgreSQL (issue 11): one row per alarm
id, acks only after the commit, one operator's ack seen at every desk, and a silent
gateway flagged overdue by exactly one receiver."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Self

import aiomqtt
import asyncpg

from gateway.centre.receiver import Centre
from gateway.events import iso

ROOT = "safehome/v1"


def alarm_body(gw: str, eid: str, seq: int, attempt: int = 1) -> bytes:
    now = iso(time.time())
    return json.dumps({"schema": 1, "id": eid, "seq": seq, "gateway_id": gw, "site_id": "s-1",
                       "type": "sos", "class": "alarm", "severity": "critical",
                       "code": {"contact_id": 101}, "occurred_at": now, "detected_at": now,
                       "text": {"fi": "x", "sv": "x", "en": "SOS"}, "attempt": attempt}).encode()


class FakeGateway:
    """Publishes like a gateway and collects the acks it is sent."""

    def __init__(self, broker, gw: str = "gw-pg-1") -> None:
        self.broker, self.gw, self.acks = broker, gw, []
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Self:
        self.client = aiomqtt.Client(self.broker.host, self.broker.port, identifier=self.gw)
        await self.client.__aenter__()
        await self.client.subscribe(f"{ROOT}/{self.gw}/ack", qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        async for m in self.client.messages:
            self.acks.append(json.loads(m.payload))

    async def publish(self, leaf: str, body: bytes) -> None:
        await self.client.publish(f"{ROOT}/{self.gw}/{leaf}", body, qos=1)

    async def __aexit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()
        await self.client.__aexit__(None, None, None)


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def rows(dsn: str, sql: str) -> list[asyncpg.Record]:
    con = await asyncpg.connect(dsn)
    try:
        return await con.fetch(sql)
    finally:
        await con.close()


async def test_two_receivers_log_one_row_per_alarm_and_both_ack_after_commit(mosquitto, pg_dsn):
    async with Centre(mosquitto.url, db=pg_dsn, auto_ack=True, ack_by="r1") as r1, \
            Centre(mosquitto.url, db=pg_dsn, auto_ack=True, ack_by="r2") as r2, \
            FakeGateway(mosquitto) as gw:
        await asyncio.sleep(0.3)
        for attempt in (1, 2, 3):   # the same alarm three times (re-sends)
            await gw.publish("alarm", alarm_body(gw.gw, "a-1", 1, attempt))
        await gw.publish("alarm", alarm_body(gw.gw, "a-2", 2))
        await until(lambda: {a["id"] for a in gw.acks} == {"a-1", "a-2"})
        await until(lambda: len(r1.alarms) == 2 and len(r2.alarms) == 2)
    got = await rows(pg_dsn, "SELECT id, acked_by, logged_by FROM alarms ORDER BY id")
    assert [r["id"] for r in got] == ["a-1", "a-2"]
    assert all(r["acked_by"] in ("r1", "r2") for r in got)


async def test_no_ack_goes_out_until_the_row_is_committed(mosquitto, pg_dsn):
    async with Centre(mosquitto.url, db=pg_dsn, auto_ack=True) as r1, FakeGateway(mosquitto) as gw:
        await asyncio.sleep(0.3)
        await rows(pg_dsn, "ALTER TABLE alarms RENAME TO alarms_away")   # inserts now fail
        await gw.publish("alarm", alarm_body(gw.gw, "a-9", 1))
        await until(lambda: len(r1.alarms) == 1)
        await asyncio.sleep(1.0)
        assert gw.acks == [], "an alarm that is not recorded must not be acknowledged"
        await rows(pg_dsn, "ALTER TABLE alarms_away RENAME TO alarms")
        await gw.publish("alarm", alarm_body(gw.gw, "a-9", 1, attempt=2))   # the re-send
        await until(lambda: [a["id"] for a in gw.acks] == ["a-9"])
    assert [r["id"] for r in await rows(pg_dsn, "SELECT id FROM alarms")] == ["a-9"]


async def test_an_operator_ack_at_one_desk_shows_at_the_other(mosquitto, pg_dsn):
    async with Centre(mosquitto.url, db=pg_dsn) as desk1, Centre(mosquitto.url, db=pg_dsn) as desk2, \
            FakeGateway(mosquitto) as gw:
        await asyncio.sleep(0.3)
        await gw.publish("alarm", alarm_body(gw.gw, "a-5", 1))
        await until(lambda: len(desk1.alarms) == 1 and len(desk2.alarms) == 1)
        await until(lambda: desk1.alarms[0].stored and desk2.alarms[0].stored)
        assert desk2.alarms[0].acked_by is None
        await desk1.ack(1, by="operator-17")
        await until(lambda: desk2.alarms[0].acked_by == "operator-17", timeout=5)
        await desk2.ack(1, by="operator-99")      # too late: the first ack stands
        assert desk2.alarms[0].acked_by == "operator-17"
        await until(lambda: len(gw.acks) >= 1)
    got = await rows(pg_dsn, "SELECT acked_by FROM alarms")
    assert [r["acked_by"] for r in got] == ["operator-17"]


async def test_a_silent_gateway_is_flagged_overdue_once_not_once_per_receiver(mosquitto, pg_dsn):
    receivers = [Centre(mosquitto.url, db=pg_dsn) for _ in range(3)]
    for r in receivers:
        await r.__aenter__()
    try:
        async with FakeGateway(mosquitto, "gw-silent") as gw:
            await asyncio.sleep(0.3)
            beat = {"schema": 1, "gateway_id": "gw-silent", "site_id": "s", "seq": 1,
                    "at": iso(time.time()), "interval": 0.4}
            await gw.publish("heartbeat", json.dumps(beat).encode())
            # 2.5 x 0.4 s later every receiver finds it overdue; each tries to flag it.
            await until(lambda: all(r.overdue("gw-silent") for r in receivers))
            await asyncio.sleep(3.0)
        flagged = [g for r in receivers for g in r.overdue_flagged]
        assert flagged == ["gw-silent"]
        assert len(await rows(pg_dsn, "SELECT * FROM overdue_log")) == 1
    finally:
        for r in receivers:
            await r.__aexit__(None, None, None)


async def test_metrics_are_served_in_prometheus_text(mosquitto, pg_dsn):
    import urllib.request

    from gateway.centre.receiver.metrics import CentreMetrics
    from tests.support.broker import free_port

    centre = Centre(mosquitto.url, db=pg_dsn, auto_ack=True)
    centre.metrics = CentreMetrics(centre.gateway_counts)
    port = free_port()
    centre.metrics.serve(port)
    async with centre, FakeGateway(mosquitto, "gw-m") as gw:
        await asyncio.sleep(0.3)
        await gw.publish("status", json.dumps({"state": "online"}).encode())
        await gw.publish("alarm", alarm_body(gw.gw, "m-1", 1))
        await gw.publish("alarm", alarm_body(gw.gw, "m-1", 1, attempt=2))
        await until(lambda: len(gw.acks) == 2)
        await until(lambda: len(centre.acks_sent) == 2)   # counted after the PUBACK
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode())
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    assert values["safehome_centre_alarms_total"] == 1
    assert values["safehome_centre_alarm_copies_total"] == 1
    assert values["safehome_centre_ack_round_trip_seconds_count"] == 2
    assert values["safehome_centre_alarms_per_second"] == 1 / 60
    assert values["safehome_centre_gateways_online"] == 1
    assert values["safehome_centre_gateways_overdue"] == 0


async def test_the_headless_receiver_prints_one_line_per_alarm(mosquitto, pg_dsn, tmp_path):
    """...and stops on SIGINT even when it inherited SIGINT as ignored (a script's background
    job, some supervisors): Python then installs no KeyboardInterrupt of its own."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "centre", "--broker", mosquitto.url, "--db", pg_dsn,
         "--auto-ack", "--headless"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        async with FakeGateway(mosquitto, "gw-h") as gw:
            await asyncio.sleep(2.0)
            for attempt in (1, 2):
                await gw.publish("alarm", alarm_body(gw.gw, "h-1", 7, attempt))
            await until(lambda: len(gw.acks) == 2, timeout=15)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("the receiver did not stop within 15 s of SIGINT:\n"
                                 + out + err) from None
    lines = [x for x in out.splitlines() if x.startswith("ALARM")]
    assert len(lines) == 1 and "gw-h seq=7 sos" in lines[0], out + err
    assert [r["id"] for r in await rows(pg_dsn, "SELECT id FROM alarms")] == ["h-1"]


async def test_a_receiver_stops_even_while_a_query_holds_a_connection(pg_dsn):
    """Stopping must not wait for PostgreSQL: a connection still in use (a hung query, a
    server that stopped answering) is dropped after the close timeout."""
    from gateway.centre.receiver.pg_log import PgAlarmLog

    log = PgAlarmLog(pg_dsn, "r-stop")
    await log.open()
    _held = await log.pool.acquire()          # never released: a graceful close waits forever
    t0 = time.monotonic()
    await asyncio.wait_for(log.close(timeout=0.5), 10)
    assert time.monotonic() - t0 < 3.0


async def listen_connections(dsn: str) -> list[str]:
    """The application names of the receivers' LISTEN connections, from pg_stat_activity."""
    from gateway.centre.receiver.pg_log import LISTEN_APP
    got = await rows(dsn, "SELECT application_name FROM pg_stat_activity"
                          " WHERE datname = current_database()")
    return sorted(r["application_name"] for r in got if r["application_name"].startswith(LISTEN_APP))


async def terminate_backends(dsn: str) -> int:
    """What a PostgreSQL restart or an administrator does to every receiver's connections."""
    got = await rows(dsn, "SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity"
                          " WHERE datname = current_database() AND pid <> pg_backend_pid()")
    return sum(bool(r["gone"]) for r in got)


async def test_after_its_connections_are_terminated_a_receiver_listens_again_and_sees_acks(
        mosquitto, pg_dsn, caplog, monkeypatch):
    """Issue 26 item 6: after pg_terminate_backend the LISTEN connection was gone for good
    and nothing was logged. Now it is back (pg_stat_activity shows it), the loss and the
    recovery are logged, and an ack committed while nobody listened is replayed."""
    import logging

    from gateway.centre.receiver import pg_log

    monkeypatch.setattr(pg_log, "RELISTEN_MIN_S", 2.0)   # time for an ack while deaf
    caplog.set_level(logging.INFO, logger="safehome.centre.pg")
    async with Centre(mosquitto.url, db=pg_dsn) as desk1, Centre(mosquitto.url, db=pg_dsn) as desk2, \
            FakeGateway(mosquitto) as gw:
        await asyncio.sleep(0.3)
        assert len(await listen_connections(pg_dsn)) == 2
        for n, eid in enumerate(("t-1", "t-2"), start=1):
            await gw.publish("alarm", alarm_body(gw.gw, eid, n))
        await until(lambda: len(desk1.alarms) == 2 and len(desk2.alarms) == 2)
        await until(lambda: all(a.stored for a in desk1.alarms + desk2.alarms))

        assert await terminate_backends(pg_dsn) >= 4       # two pools, two LISTEN connections
        await asyncio.sleep(0.3)                            # the pools see their connections end
        await desk1.ack(1, by="operator-deaf")              # committed while desk2 is not listening
        await until(lambda: desk2.shared.relistens == 1 and desk1.shared.relistens == 1, timeout=15)
        assert len(await listen_connections(pg_dsn)) == 2, "both receivers LISTEN again"
        await until(lambda: desk2.alarms[0].acked_by == "operator-deaf", timeout=5)

        await desk1.ack(2, by="operator-back")              # and the NOTIFY path works again
        await until(lambda: desk2.alarms[1].acked_by == "operator-back", timeout=5)
    text = caplog.text
    assert "LISTEN safehome_ack connection was lost" in text
    assert "LISTEN safehome_ack restored after" in text and "replayed" in text
