"""The reference centre (gateway/centre) applies the receiving side of the contract.

Against a real mosquitto, a plain MQTT client plays the gateway and publishes exactly
the payloads the gateway's Event model produces. The supervision rules that depend on
time are also driven message by message on CentreState with a fake clock.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiomqtt
import pytest
from jsonschema import Draft202012Validator
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.catalogue import render
from gateway.centre.receiver import Centre, CentreError, CentreState
from gateway.centre.receiver.alarm_log import AlarmLog
from gateway.events import Event, new_event_id

ROOT = "safehome/v1"
SCHEMAS = Path(__file__).resolve().parents[4] / "docs" / "schemas"
T0 = 1_790_000_000.0


def alarm(seq: int, kind: str = "fall", attempt: int = 1, eid: str | None = None,
          gateway: str = "gw-A") -> tuple[str, dict]:
    ev = Event(eid or new_event_id(), seq, kind, "critical", T0, T0 + 1,
               render(kind, {"room": "bath"}), room="bath", confidence=0.9)
    return f"{ROOT}/{gateway}/{'alarm' if ev.is_alarm else 'event'}", ev.payload(gateway, "site-9",
                                                                               attempt)


def event(seq: int, gateway: str = "gw-A") -> tuple[str, dict]:
    return alarm(seq, "sensor_restored", gateway=gateway)


def heartbeat(seq: int, interval: float, gateway: str = "gw-A") -> tuple[str, dict]:
    return f"{ROOT}/{gateway}/heartbeat", {
        "schema": 1, "gateway_id": gateway, "site_id": "site-9", "seq": seq,
        "at": "2026-11-26T02:00:00.000Z", "interval": interval, "uptime": 5, "pending": 0,
        "unacknowledged": 0, "storage": "ok", "sensors": {}}


class Gateway:
    """A bare MQTT client standing in for a gateway: publishes, and records its acks."""

    def __init__(self, broker, gateway: str = "gw-A") -> None:
        self.client = aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5)
        self.gateway, self.acks, self._task = gateway, [], None

    async def __aenter__(self) -> "Gateway":
        await self.client.__aenter__()
        await self.client.subscribe(f"{ROOT}/{self.gateway}/ack", qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await self.client.__aexit__(None, None, None)

    async def _collect(self) -> None:
        async for m in self.client.messages:
            self.acks.append((json.loads(m.payload), m.properties))

    async def send(self, topic: str, body, props: Properties | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self.client.publish(topic, raw, qos=1, properties=props)


@pytest.mark.parametrize("suffix", [".csv", ".sqlite"])
async def test_duplicate_alarms_are_shown_and_logged_once(mosquitto, tmp_path, suffix):
    path = tmp_path / f"alarms{suffix}"
    topic, first = alarm(1)
    _, other = alarm(2, "sos")
    async with Centre(mosquitto.url, log_path=path) as centre, Gateway(mosquitto) as gw:
        for attempt in (1, 2, 3):        # the gateway re-sends until acknowledged
            await gw.send(topic, {**first, "attempt": attempt})
        await gw.send(topic, other)
        await centre.wait_until(lambda: centre.state.duplicates == 2 and len(centre.alarms) == 2)
        assert [a.id for a in centre.alarms] == [first["id"], other["id"]]
        assert centre.alarms[0].copies == 3
        assert gw.acks == []             # no --auto-ack: nobody acknowledged yet
    rows = AlarmLog(path).rows()
    assert [r["id"] for r in rows] == [first["id"], other["id"]]
    assert rows[0]["text_fi"] == first["text"]["fi"] and rows[1]["type"] == "sos"

    # A restarted centre shows the still unacknowledged alarm again but logs it no twice.
    async with Centre(mosquitto.url, log_path=path) as centre, Gateway(mosquitto) as gw:
        await gw.send(topic, {**first, "attempt": 4})
        await centre.wait_for_alarm(lambda a: a.id == first["id"])
    assert len(AlarmLog(path).rows()) == 2


async def test_auto_ack_acknowledges_every_copy_with_the_contract_payload(mosquitto):
    ack_schema = Draft202012Validator(json.loads((SCHEMAS / "ack.json").read_text()))
    topic, body = alarm(7)
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = f"{ROOT}/gw-A/ack"
    props.CorrelationData = body["id"].encode()
    async with Centre(mosquitto.url, auto_ack=True, ack_by="op-1") as centre, \
            Gateway(mosquitto) as gw:
        await gw.send(topic, body, props)
        await centre.wait_until(lambda: len(gw.acks) == 1, timeout=5)
        ack, ack_props = gw.acks[0]
        ack_schema.validate(ack)
        assert (ack["id"], ack["by"]) == (body["id"], "op-1")
        assert ack_props.CorrelationData == body["id"].encode()
        await gw.send(topic, {**body, "attempt": 2})   # our ack got lost: ack again
        await centre.wait_until(lambda: len(gw.acks) == 2, timeout=5)
        assert gw.acks[1][0]["id"] == body["id"] and len(centre.alarms) == 1


async def test_auto_ack_works_over_mqtt_3_1_1_too(mosquitto):
    topic, body = alarm(8, "sos")
    async with Centre(mosquitto.url, auto_ack=True, protocol="3.1.1") as centre, \
            Gateway(mosquitto) as gw:
        await gw.send(topic, body)
        await centre.wait_until(lambda: gw.acks, timeout=5)
        assert gw.acks[0][0]["id"] == body["id"]


async def test_without_auto_ack_the_operator_acknowledges_by_number(mosquitto):
    topic, body = alarm(3, "sos")
    async with Centre(mosquitto.url) as centre, Gateway(mosquitto) as gw:
        await gw.send(topic, body)
        record = await centre.wait_for_alarm()
        await asyncio.sleep(0.3)
        assert gw.acks == [] and record.acked_by is None
        await centre.ack(record.number, by="nurse-4")
        await centre.wait_until(lambda: gw.acks, timeout=5)
        assert gw.acks[0][0]["id"] == body["id"] and gw.acks[0][0]["by"] == "nurse-4"


async def test_heartbeat_overdue_after_two_and_a_half_intervals(mosquitto):
    async with Centre(mosquitto.url) as centre, Gateway(mosquitto) as gw:
        await gw.send(*heartbeat(1, interval=0.4))
        await centre.wait_until(lambda: "gw-A" in centre.gateways)
        started = asyncio.get_running_loop().time()
        assert not centre.overdue("gw-A")
        await centre.wait_until(lambda: centre.overdue("gw-A"), timeout=3)
        assert asyncio.get_running_loop().time() - started >= 2.5 * 0.4 - 0.1
        await gw.send(*heartbeat(2, interval=0.4))
        await centre.wait_until(lambda: not centre.overdue("gw-A"), timeout=3)


async def test_a_seq_gap_is_flagged_and_closed_by_the_late_event(mosquitto):
    async with Centre(mosquitto.url, gap_grace=0) as centre, Gateway(mosquitto) as gw:
        for seq in (1, 2, 5):
            await gw.send(*event(seq))
        await centre.wait_until(lambda: centre.seq_gaps("gw-A") == [(3, 4)], timeout=5)
        await gw.send(*alarm(4))         # alarms are drained first after a reconnect
        await gw.send(*event(3))
        await centre.wait_until(lambda: centre.gateways["gw-A"].events == 5, timeout=5)
        assert centre.seq_gaps("gw-A") == []
        assert centre.snapshot()["gateways"][0]["seq_gaps"] == []


async def test_garbage_is_reported_and_does_not_stop_the_centre(mosquitto):
    async with Centre(mosquitto.url) as centre, Gateway(mosquitto) as gw:
        await gw.send(f"{ROOT}/gw-A/alarm", b"\x00not json")
        await gw.send(f"{ROOT}/gw-A/alarm", {"no": "id"})
        await gw.send(*alarm(1))
        await centre.wait_for_alarm(timeout=5)
        assert len(centre.problems) == 2


async def test_the_centre_reconnects_after_a_broker_restart(mosquitto):
    async with Centre(mosquitto.url, reconnect_min=0.2, reconnect_max=0.5) as centre:
        mosquitto.stop()
        await centre.wait_until(lambda: not centre.connected.is_set(), timeout=5)
        mosquitto.start()
        await asyncio.wait_for(centre.connected.wait(), 10)
        async with Gateway(mosquitto) as gw:
            await gw.send(*alarm(1, "sos"))
            await centre.wait_for_alarm(timeout=5)


def test_a_password_in_the_broker_url_or_plain_text_to_a_remote_broker_is_refused():
    with pytest.raises(CentreError, match="password"):
        Centre("mqtt://centre:s3cret@127.0.0.1:1883")
    with pytest.raises(CentreError, match="TLS is required"):
        Centre("mqtt://broker.example.org:1883")
    Centre("mqtt://broker.example.org:1883", allow_insecure=True)


# ---- the supervision rules, message by message with a fake clock -------------------

def feed(state: CentreState, topic_body: tuple[str, dict], now: float):
    topic, body = topic_body
    return state.ingest(topic, json.dumps(body).encode(), False, now)


def test_a_gap_is_reported_only_after_the_grace_period():
    s = CentreState(gap_grace=5)
    feed(s, event(1), T0)
    feed(s, event(4), T0 + 1)
    row = s.gateways["gw-A"]
    assert row.seq.gaps(T0 + 2, 5) == []
    assert row.seq.gaps(T0 + 6, 5) == [(2, 3)]
    feed(s, event(2), T0 + 7)
    assert row.seq.gaps(T0 + 8, 5) == [(3, 3)]


def test_a_counter_that_went_back_is_a_reset_not_a_gap():
    s = CentreState(gap_grace=0)
    for seq in (10, 11, 12):
        feed(s, event(seq), T0 + seq)
    feed(s, event(1), T0 + 20)            # the gateway's database was replaced
    row = s.gateways["gw-A"]
    assert row.seq.resets == 1 and row.seq.gaps(T0 + 30, 0) == []


def test_an_offline_gateway_is_offline_not_overdue_and_heartbeat_gaps_are_counted():
    s = CentreState()
    feed(s, heartbeat(1, 60), T0)
    feed(s, heartbeat(4, 60), T0 + 60)
    row = s.gateways["gw-A"]
    assert row.heartbeats_missed == 2
    assert not row.overdue(T0 + 60 + 150) and row.overdue(T0 + 60 + 151)
    s.ingest(f"{ROOT}/gw-A/status", json.dumps({"state": "offline"}).encode(), True, T0 + 300)
    assert row.state == "offline" and not row.overdue(T0 + 1000)


def test_a_gateway_seen_only_by_its_status_becomes_overdue_without_heartbeats():
    s = CentreState()
    s.ingest(f"{ROOT}/gw-Q/status", json.dumps({"state": "online"}).encode(), True, T0)
    assert not s.gateways["gw-Q"].overdue(T0 + 150)
    assert s.gateways["gw-Q"].overdue(T0 + 151)


async def test_refused_credentials_stop_the_centre_and_the_password_is_never_logged(
        tmp_path, caplog):
    import getpass
    import subprocess

    from tests.support.tls_broker import free_port, start_mosquitto
    pw = tmp_path / "passwd"
    pw.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "centre", "right-horse"], check=True)
    port = free_port()
    broker = start_mosquitto(f"listener {port} 127.0.0.1\nallow_anonymous false\n"
                             f"password_file {pw}\nuser {getpass.getuser()}\n", tmp_path, port)
    try:
        caplog.set_level("DEBUG")
        with pytest.raises(CentreError, match="refused"):
            async with Centre(broker.url, username="centre", password="wrong-battery"):
                pass
        assert "wrong-battery" not in caplog.text and "refused" in caplog.text
        async with Centre(broker.url, username="centre", password="right-horse") as centre:
            assert centre.connected.is_set()
        assert "right-horse" not in caplog.text
    finally:
        broker.stop()


# ---- the command line ----------------------------------------------------------------

def test_the_live_view_shows_overdue_gateways_gaps_and_alarm_text_in_the_chosen_language():
    from rich.console import Console

    from gateway.centre.receiver.view import render as render_view
    centre = Centre("mqtt://127.0.0.1:1", lang="fi", gap_grace=0)
    feed(centre.state, heartbeat(1, 60), T0)
    for seq in (1, 3):
        feed(centre.state, event(seq), T0)
    feed(centre.state, alarm(4, "sos"), T0 + 1)
    console = Console(record=True, width=200)
    console.print(render_view(centre, T0 + 200))
    screen = console.export_text()
    assert "OVERDUE" in screen and "WAITING" in screen
    assert render("sos", {"room": "bath"})["fi"] in screen
    # gw-A: overdue, highest seq 4, seq 2 missing, 3 events received
    assert re.search(r"gw-A .*OVERDUE\s*│\s*4\s*│\s*2\s*│\s*3\s*│", screen), screen


def _cli(*args: str, **kw):
    import subprocess
    import sys
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "centre", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


async def test_cli_once_json_prints_the_gateway_table(mosquitto):
    async with Gateway(mosquitto, "gw-Z") as gw:
        await gw.client.publish(f"{ROOT}/gw-Z/status", json.dumps({
            "state": "online", "gateway_id": "gw-Z", "site_id": "s-2",
            "since": "2026-11-26T02:00:00.000Z", "version": "0.1.0"}), qos=1, retain=True)
    proc = _cli("--broker", mosquitto.url, "--once-json", "--seconds", "0.5")
    out, err = await asyncio.to_thread(proc.communicate, timeout=20)
    assert proc.returncode == 0, err
    [row] = json.loads(out)["gateways"]
    assert (row["gateway_id"], row["state"], row["site_id"]) == ("gw-Z", "online", "s-2")


async def test_cli_auto_ack_prints_logs_and_acknowledges_an_alarm(mosquitto, tmp_path):
    import os
    log = tmp_path / "alarms.csv"
    proc = _cli("--broker", mosquitto.url, "--auto-ack", "--lang", "sv", "--log", str(log),
                "--username-env", "CENTRE_USER", "--log-level", "INFO",
                env={**os.environ, "CENTRE_USER": "centre"})
    try:
        topic, body = alarm(1, "sos")
        async with Gateway(mosquitto) as gw:
            async with asyncio.timeout(15):
                while not gw.acks:         # the CLI may still be connecting: re-send
                    await gw.send(topic, body)
                    await asyncio.sleep(0.3)
            line = await asyncio.to_thread(proc.stdout.readline)
        assert line.startswith("ALARM #1 gw-A seq=1 sos") and body["text"]["sv"] in line
        assert gw.acks[0][0]["id"] == body["id"]
    finally:
        proc.terminate()
        proc.wait(5)
    assert [r["id"] for r in AlarmLog(log).rows()] == [body["id"]]
