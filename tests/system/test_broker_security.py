"""The broker configuration in examples/mosquitto/ keeps gateways apart (issue 3, item 6).

A real mosquitto runs the shipped config and ACL with certificates made for this test
run. Proving that something is *not* delivered needs care: each test publishes the
forbidden message, then an allowed marker on the same connection, and waits for the
marker. MQTT keeps a connection's messages in order, so once the marker arrived a
forwarded forbidden message would have arrived before it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
import uuid

import aiomqtt
import pytest

from gateway.centre.receiver import Centre
from gateway.events import Event, new_event_id
from tests.support.tls_broker import make_pki, needs_mosquitto, needs_openssl, start_tls_mosquitto

pytestmark = [needs_mosquitto, needs_openssl]
ROOT = "safehome/v1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(pki, tmp_path_factory):
    b = start_tls_mosquitto(pki, tmp_path_factory.mktemp("mosquitto"))
    yield b
    b.stop()


def client(pki, broker, name: str, **kw) -> aiomqtt.Client:
    cert, key = pki.client(name)
    return aiomqtt.Client(broker.host, broker.port, identifier=f"{name}-{uuid.uuid4().hex[:6]}",
                          protocol=aiomqtt.ProtocolVersion.V5, timeout=5,
                          tls_params=aiomqtt.TLSParameters(ca_certs=str(pki.ca), certfile=str(cert),
                                                           keyfile=str(key)), **kw)


def raw_connect(pki, broker, name: str | None) -> bytes:
    """TLS handshake plus an MQTT 3.1.1 CONNECT; returns the broker's first bytes.
    Raises ssl.SSLError/OSError when the broker refuses the certificate."""
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if name is not None:
        cert, key = pki.client(name)
        ctx.load_cert_chain(str(cert), str(key))
    client_id = b"raw-" + uuid.uuid4().hex[:8].encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
    with socket.create_connection((broker.host, broker.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(bytes([0x10, len(body)]) + body)
            return tls.recv(4)


class Collector:
    """Subscribes as `name` and records (topic, payload) of every message received."""

    def __init__(self, mqtt: aiomqtt.Client, topics: list[str]) -> None:
        self.mqtt, self.topics, self.got = mqtt, topics, []

    async def run(self) -> None:
        for t in self.topics:
            await self.mqtt.subscribe(t, qos=1)
        async for m in self.mqtt.messages:
            self.got.append((m.topic.value, m.payload))

    def topics_seen(self) -> set[str]:
        return {t for t, _ in self.got}

    async def wait_for(self, topic: str, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while topic not in self.topics_seen():
                await asyncio.sleep(0.02)


def test_a_client_certificate_from_our_ca_connects(pki, broker):
    assert raw_connect(pki, broker, "gw-A") == b"\x20\x02\x00\x00"   # CONNACK, accepted


@pytest.mark.parametrize("who", ["rogue", None], ids=["other-CA", "no-certificate"])
def test_a_certificate_from_another_ca_or_none_is_refused(pki, broker, who):
    # With TLS 1.3 the client learns of the refusal as an alert or as a bare EOF,
    # depending on timing; the broker's log says why it refused.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        answer = raw_connect(pki, broker, who)
        if answer == b"":
            raise ConnectionError("closed without CONNACK")
    reason = "certificate verify failed" if who else "peer did not return a certificate"
    deadline = time.monotonic() + 2
    while reason not in broker.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reason in broker.log()


async def _with_collectors(pki, broker, specs: dict[str, list[str]], action):
    """Run `action(clients)` while a Collector per name in `specs` listens."""
    async with client(pki, broker, "centre") as c, client(pki, broker, "gw-A") as a, \
            client(pki, broker, "gw-B") as b:
        clients = {"centre": c, "gw-A": a, "gw-B": b}
        collectors = {n: Collector(clients[n], topics) for n, topics in specs.items()}
        tasks = [asyncio.create_task(col.run()) for col in collectors.values()]
        await asyncio.sleep(0.3)     # subscriptions in place
        try:
            await action(clients, collectors)
        finally:
            for t in tasks:
                t.cancel()
        return collectors


async def test_gateway_a_cannot_publish_under_gateway_b(pki, broker):
    async def action(clients, cols):
        a = clients["gw-A"]
        for kind in ("status", "heartbeat", "alarm", "event"):
            await a.publish(f"{ROOT}/gw-B/{kind}", b'{"forged": true}', qos=1)
        await a.publish(f"{ROOT}/gw-A/event", b'{"marker": true}', qos=1)
        await cols["centre"].wait_for(f"{ROOT}/gw-A/event")

    cols = await _with_collectors(pki, broker, {"centre": [f"{ROOT}/#"]}, action)
    assert cols["centre"].topics_seen() == {f"{ROOT}/gw-A/event"}


async def test_commands_and_acks_published_by_a_gateway_are_dropped(pki, broker):
    async def action(clients, cols):
        a = clients["gw-A"]
        await a.publish(f"{ROOT}/gw-A/cmd/test_alarm", b'{"id": "self"}', qos=1)
        await a.publish(f"{ROOT}/gw-B/cmd/silence_sensor", b'{"id": "x"}', qos=1)
        await a.publish(f"{ROOT}/gw-A/ack", b'{"id": "self-ack"}', qos=1)
        await a.publish(f"{ROOT}/gw-B/ack", b'{"id": "b-ack"}', qos=1)
        await a.publish(f"{ROOT}/gw-A/event", b'{"marker": true}', qos=1)
        await cols["centre"].wait_for(f"{ROOT}/gw-A/event")
        await asyncio.sleep(0.2)

    cols = await _with_collectors(pki, broker, {
        "centre": [f"{ROOT}/#"],
        "gw-A": [f"{ROOT}/gw-A/ack", f"{ROOT}/gw-A/cmd/+"],
        "gw-B": [f"{ROOT}/gw-B/ack", f"{ROOT}/gw-B/cmd/+"],
    }, action)
    assert cols["centre"].topics_seen() == {f"{ROOT}/gw-A/event"}
    assert cols["gw-A"].got == [] and cols["gw-B"].got == []


async def test_the_centre_acks_and_commands_and_each_gateway_reads_only_its_own(pki, broker):
    """The Centre library over TLS: it acknowledges gw-A's alarm and commands gw-A;
    gw-A receives both and answers; gw-B, subscribed to everything, receives nothing."""
    cert, key = pki.client("centre")
    alarm = Event(new_event_id(), 1, "sos", "critical", 1.79e9, 1.79e9,
                  {"fi": "Hätä", "sv": "Larm", "en": "SOS"}, room="hall").payload("gw-A", "s-1")
    async with Centre(broker.url, ca_file=str(pki.ca), cert_file=str(cert), key_file=str(key),
                      auto_ack=True, ack_by="op-7") as centre, \
            client(pki, broker, "gw-A") as a, client(pki, broker, "gw-B") as b:
        col_a = Collector(a, [f"{ROOT}/gw-A/ack", f"{ROOT}/gw-A/cmd/+"])
        col_b = Collector(b, [f"{ROOT}/#"])
        tasks = [asyncio.create_task(col.run()) for col in (col_a, col_b)]
        await asyncio.sleep(0.3)
        await a.publish(f"{ROOT}/gw-A/alarm", json.dumps(alarm).encode(), qos=1)
        await col_a.wait_for(f"{ROOT}/gw-A/ack")
        [(_, ack)] = [m for m in col_a.got if m[0].endswith("/ack")]
        assert json.loads(ack)["id"] == alarm["id"] and json.loads(ack)["by"] == "op-7"

        command = asyncio.create_task(centre.send_command("gw-A", "status", timeout=5))
        await col_a.wait_for(f"{ROOT}/gw-A/cmd/status")
        [(_, cmd)] = [m for m in col_a.got if m[0].endswith("/cmd/status")]
        cid = json.loads(cmd)["id"]
        await a.publish(f"{ROOT}/gw-A/cmd/status/result",
                        json.dumps({"id": cid, "ok": True, "result": {}}).encode(), qos=1)
        assert (await command)["ok"] is True
        # The centre's marker to gw-B comes after its ack and command to gw-A on the same
        # connection; gw-A's alarm and result came before the centre reacted to them.
        await centre.publish_command("gw-B", "status")
        await col_b.wait_for(f"{ROOT}/gw-B/cmd/status")
        for t in tasks:
            t.cancel()
    assert col_b.topics_seen() == {f"{ROOT}/gw-B/cmd/status"}
