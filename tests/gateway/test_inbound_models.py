"""Issue 26 item 1: an ack with fields of the wrong type never costs persistence.

An ack `{"id": <pending alarm>, "by": {"operator": "op-1", "desk": 3}}` made SQLite refuse
the update, and the store took it for a broken disk: it switched itself off for good, and
an alarm raised later was neither in the database after `kill -9` nor sent after the
restart. Here the real daemon against a real mosquitto gets acks for its pending alarm
with every wrong type in `by`, `at` and `id`; then a test alarm; `kill -9`; the test
alarm must be in the database and be sent again by the restarted daemon. The same acks
straight into a Store (below the model) must not mark it failed either.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time

import aiomqtt
import pytest

from gateway.events import Event, new_event_id
from gateway.inbound import PayloadError
from gateway.inbound_models import Ack
from gateway.remote_commands import RemoteCommands
from gateway.store import Store
from tests.faults.typed_corpus import gateway_inbound
from tests.support.gateway_proc import GatewayProcess, Listener, write_config

BASE = "safehome/v1/gw-test-01"
OBJECT_BY = {"operator": "op-1", "desk": 3}
# A fixed id: parametrised test ids must be the same in every pytest-xdist worker.
PENDING_ID = "01a251f4-3551-7384-8222-91578c44e472"


def hostile_acks(alarm_id: str) -> list[bytes]:
    """Acks naming a real pending alarm, each with one field of a wrong type or value."""
    good = json.dumps({"id": alarm_id})[:-1]   # '{"id": "..."' - fields appended raw
    raw_fields = [
        '"by": ' + json.dumps(OBJECT_BY), f'"by": {2**70}', '"by": [1, 2]', '"by": NaN',
        '"by": Infinity', '"by": 1.5', '"by": true', '"by": "\\ud800"', '"by": "op\\u0000x"',
        '"by": "' + "o" * 5000 + '"', '"by": ""',
        '"at": {"t": 1}', f'"at": {2**70}', '"at": NaN', '"at": "yesterday"',
        '"at": "2026-11-26T10:00:00"', '"at": "\\udfff"',
    ]
    payloads = [f"{good}, {f}}}".encode() for f in raw_fields]
    payloads += [json.dumps({"id": v}).encode() for v in ({"$ne": 1}, [alarm_id], 2**70, None)]
    payloads.append(b'{"id": NaN}')
    return payloads


def db_row(db, event_id: str) -> tuple | None:
    c = sqlite3.connect(db)   # closed at once: the daemon holds its database exclusively
    try:
        return c.execute("SELECT state, acked_by FROM events WHERE id = ?", (event_id,)).fetchone()
    finally:
        c.close()


async def test_acks_of_every_wrong_type_leave_the_store_healthy_through_kill_9(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1",
                       extra="[alarm]\nack_timeout = 30\n")
    db = tmp_path / "gw-test-01.db"
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            alarm = (await centre.wait_for("alarm", 1, timeout=20))[0]
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
                for payload in hostile_acks(alarm["id"]):
                    await c.publish(f"{BASE}/ack", payload, qos=1)
                await asyncio.sleep(1.0)
                await c.publish(f"{BASE}/cmd/test_alarm", json.dumps({"id": "t-after"}), qos=1)
                test = next(a for a in await _wait_test_alarm(centre) if a.get("ref") == "t-after")
        out_before_kill = gw.output()
        gw.kill()   # SIGKILL: only what was committed survives
    finally:
        gw.kill()
    # The alarm published after the hostile acks was committed first (it survives kill -9);
    # none of the hostile acks acknowledged the pending alarm.
    assert db_row(db, test["id"]) is not None, "the test alarm is not in the database"
    assert db_row(db, alarm["id"])[0] == "sent"
    assert "event store failed" not in out_before_kill, out_before_kill[-3000:]
    assert "Traceback" not in out_before_kill
    assert out_before_kill.count("malformed ack ignored") == 1, "logged once, rate-limited"
    assert "field 'by'" in out_before_kill, "the log names the field"

    gw2 = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            again = await centre.wait_for("alarm", 2, timeout=30)
            await asyncio.sleep(0.5)
            ids = {a["id"] for a in centre.on("alarm")}
            assert {test["id"], alarm["id"]} <= ids, f"re-sent after the restart: {again}"
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:   # an honest ack still works
                await c.publish(f"{BASE}/ack", json.dumps({"id": test["id"], "by": "op-7",
                                                           "at": "2026-11-26T10:00:00Z"}), qos=1)
            await asyncio.sleep(1.0)
    finally:
        gw2.signal(signal.SIGTERM)
        assert gw2.wait() == 0
    assert db_row(db, test["id"]) == ("acknowledged", "op-7")
    assert "event store failed" not in gw2.output()


async def _wait_test_alarm(centre: Listener) -> list[dict]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [a for a in centre.on("alarm") if a.get("type") == "test_alarm"]
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no test alarm after the hostile acks")


@pytest.mark.parametrize("payload", hostile_acks(PENDING_ID))
def test_every_hostile_ack_is_refused_by_the_model_naming_the_field(payload):
    with pytest.raises(PayloadError, match=r"field '(by|at|id)'"):
        Ack.parse(payload)


def test_an_honest_ack_is_typed():
    eid = new_event_id()
    ack = Ack.parse(json.dumps({"id": eid.upper(), "by": "op-7", "at": "2026-11-26T02:10:41.250Z",
                                "desk": {"extra": "ignored"}}))
    assert (ack.id, ack.by, ack.at) == (eid, "op-7", 1795659041.25)
    assert Ack.parse(json.dumps({"id": eid})).by is None


@pytest.mark.parametrize("by", [OBJECT_BY, 2**70, [1], "\ud800", {1}])
async def test_a_write_sqlite_refuses_for_its_values_does_not_fail_the_store(tmp_path, by):
    """Below the model: the failed state is the disk's, not one row's."""
    failures: list[str] = []
    store = Store(tmp_path / "s.db", batch_ms=1, on_failure=failures.append)
    await store.open()
    try:
        first = _alarm(1)
        assert await store.insert(first)
        store.mark_acked(first.id, by, time.time())
        later = _alarm(2)
        assert await store.insert(later), "the store must stay durable after a refused write"
        store.mark_acked(later.id, "op-1", time.time())
        await store.flush()
        assert store.failed is None and failures == [] and store.rows_refused == 1
    finally:
        await store.close()
    assert db_row(tmp_path / "s.db", first.id) == ("pending", None)
    assert db_row(tmp_path / "s.db", later.id) == ("acknowledged", "op-1")


def _alarm(seq: int) -> Event:
    now = time.time()
    return Event(id=new_event_id(), seq=seq, type="sos", severity="critical", occurred_at=now,
                 detected_at=now, text={"en": "SOS"}, room="hall", sensor="pendant")


class _Home:
    """The little of the running gateway that commands read."""

    def status_snapshot(self) -> dict:
        return {"storage": "ok"}

    def sensor_ids(self) -> set[str]:
        return {"pir-hall"}


@pytest.mark.parametrize("hostile", gateway_inbound(PENDING_ID, "pir-hall"),
                         ids=lambda h: h.name[:60])
def test_every_field_of_every_ack_and_command_with_every_json_type_is_refused(hostile):
    """The generated corpus (tests/faults/typed_corpus.py) against the typed models: each
    spoiled ack is malformed, each spoiled command gets an error result naming the problem
    and a command_error event; nothing raises anything else."""
    if hostile.name in ("ack.by null", "ack.at null"):   # optional: null means absent
        assert Ack.parse(hostile.payload).id
        return
    if hostile.leaf == "ack":
        with pytest.raises(PayloadError):
            Ack.parse(hostile.payload)
        return
    out = RemoteCommands(_Home()).handle(hostile.leaf.removeprefix("cmd/"), hostile.payload,
                                         False, time.time())
    assert not out.ok and out.error and [e.type for e in out.events] == ["command_error"]
    json.loads(out.result_payload)
    out.result_payload.decode("utf-8")
