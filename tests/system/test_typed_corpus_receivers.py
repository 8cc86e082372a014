"""Issue 26's corpus against the other two readers: the reference receiver (gateway/centre)
and the DC-09 bridge. Both read what gateways publish (`alarm`, `event`, `status`,
`heartbeat`); a broken or hostile gateway sends every field of each with every JSON type
in its place (tests/faults/typed_corpus.py). Afterwards an honest gateway's alarm must
still be received, logged once and acknowledged (the receiver), or forwarded to a real
DC-09 receiver (pysiaalarm) and acknowledged (the bridge); nothing may crash or flood the log.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiomqtt
import pytest

from gateway.catalogue import render
from gateway.centre.bridge.service import Bridge
from gateway.centre.receiver import Centre
from gateway.centre.receiver.alarm_log import AlarmLog
from gateway.events import Event, new_event_id
from tests.faults.typed_corpus import Hostile, gateway_outbound, generate
from tests.support.bridge_util import ACCOUNT, GW, FakeGateway, bridge_config, event
from tests.support.sia_receiver import SiaReceiver

ROOT = "safehome/v1"
LOG_LINES_LIMIT = 200


def _event(kind: str, gateway: str) -> dict:
    t = time.time()
    ev = Event(new_event_id(), 5, kind, "critical", t, t, render(kind, {"room": "bath"}),
               room="bath", sensor="radar-bath", confidence=0.9, evidence={"x": 1.0})
    return ev.payload(gateway, "site-h")


def corpus(gateway: str) -> list[Hostile]:
    status = {"state": "online", "gateway_id": gateway, "site_id": "site-h",
              "since": "2026-11-26T02:00:00.000Z", "version": "0.1.0", "reason": "x"}
    heartbeat = {"schema": 1, "gateway_id": gateway, "site_id": "site-h", "seq": 3,
                 "at": "2026-11-26T02:00:00.000Z", "interval": 60, "uptime": 5, "pending": 0,
                 "unacknowledged": 0, "storage": "ok", "sensors": {}}
    return list(generate(gateway_outbound(_event("fall", gateway), _event("sensor_restored", gateway),
                                          status, heartbeat)))


async def _publish_all(host: str, port: int, gateway: str, messages: list[Hostile]) -> None:
    async with aiomqtt.Client(host, port, identifier=f"hostile-{gateway}", timeout=30) as c:
        for h in messages:
            await c.publish(f"{ROOT}/{gateway}/{h.leaf}", h.payload, qos=1)


def test_the_corpus_covers_every_field_with_every_type():
    msgs = corpus("gw-H")
    leaves = {h.leaf for h in msgs}
    assert leaves == {"alarm", "event", "status", "heartbeat"}
    names = {h.name for h in msgs}
    assert {"alarm.id lone surrogate", "alarm.code.contact_id huge int", "heartbeat.interval NaN",
            "status.state object", "event.text.en NUL in string"} <= names
    assert len(msgs) > 1000


@pytest.mark.parametrize("suffix", [".csv", ".sqlite"])
async def test_the_receiver_survives_the_corpus_and_still_logs_and_acks_an_honest_alarm(
        mosquitto, tmp_path, caplog, suffix):
    caplog.set_level(logging.INFO)
    path = tmp_path / f"alarms{suffix}"
    honest = _event("sos", "gw-A")
    async with Centre(mosquitto.url, log_path=path, auto_ack=True, ack_by="op-1") as centre, \
            FakeGateway(mosquitto.host, mosquitto.port, "gw-A") as gw:
        await _publish_all(mosquitto.host, mosquitto.port, "gw-H", corpus("gw-H"))
        await _publish_all(mosquitto.host, mosquitto.port, "gw-A", [])
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
            import json
            await c.publish(f"{ROOT}/gw-A/alarm", json.dumps(honest), qos=1)
        ack = await gw.wait_ack(honest["id"], timeout=20)
        assert ack["by"] == "op-1"
        assert centre.alarm(honest["id"]) is not None if hasattr(centre, "alarm") else True
    rows = AlarmLog(path).rows()
    assert [r["id"] for r in rows].count(honest["id"]) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage()[:200] for r in errors[:5]]
    assert len(caplog.records) < LOG_LINES_LIMIT * 10


async def test_the_bridge_survives_the_corpus_and_still_forwards_and_acks_an_honest_alarm(
        mosquitto, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with SiaReceiver({ACCOUNT: None}) as rx, FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        async with Bridge(cfg, key) as bridge:
            await gw.status("online")
            await _publish_all(mosquitto.host, mosquitto.port, GW, corpus(GW))
            sos = event("sos")
            await gw.publish(sos)
            await gw.wait_ack(sos.id, timeout=60)
            assert bridge.sender.counts["delivered"] >= 1
            await asyncio.sleep(0.5)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage()[:200] for r in tracebacks[:5]]
    assert len(caplog.records) < LOG_LINES_LIMIT * 10
