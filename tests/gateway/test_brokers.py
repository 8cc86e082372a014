"""Several brokers per gateway: configuration, the rotation rule, and a real failover
between two mosquitto brokers (status and alarms follow the gateway to the new one)."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from gateway.brokers import Broker, BrokerRotation
from gateway.centre.fleet.virtual import VirtualGateway
from gateway.centre.receiver import Centre
from gateway.config import MqttConfig
from tests.support.broker import Mosquitto
from tests.support.gateway_proc import retained


def test_urls_list_the_brokers_and_url_names_the_first():
    m = MqttConfig(urls=["mqtt://127.0.0.1:1001", "mqtt://127.0.0.1:1002"])
    assert m.broker_urls == ["mqtt://127.0.0.1:1001", "mqtt://127.0.0.1:1002"]
    assert (m.host, m.port) == ("127.0.0.1", 1001)


def test_a_single_url_still_works():
    m = MqttConfig(url="mqtt://127.0.0.1:1884")
    assert m.broker_urls == ["mqtt://127.0.0.1:1884"]


@pytest.mark.parametrize("urls, words", [
    (["http://x:1"], "expected mqtt://"),
    (["mqtt://127.0.0.1:1", "mqtt://127.0.0.1:1"], "listed twice"),
    (["mqtt://127.0.0.1:1", "mqtt://broker.example.org:1883"], "TLS is required"),
])
def test_bad_broker_lists_are_refused_with_the_reason(urls, words):
    with pytest.raises(ValidationError, match=words):
        MqttConfig(urls=urls)


def test_the_rotation_starts_by_gateway_id_and_moves_on_after_each_failure():
    brokers = [Broker.parse(f"mqtt://127.0.0.1:{p}") for p in (1, 2, 3)]
    starts = {BrokerRotation(brokers, start_key=f"gw-{i}").index for i in range(60)}
    assert starts == {0, 1, 2}, "a fleet spreads over every node"
    r = BrokerRotation(brokers, start_key="gw-7")
    first = r.current
    assert r.connected() is False          # the first session is not a failover
    r.failed()
    assert r.current != first
    assert r.connected() is True and r.failovers == 1
    r.failed(), r.failed()
    assert r.current == first              # round robin


def test_mqtts_and_a_ca_file_mean_tls():
    assert Broker.parse("mqtts://h").port == 8883 and Broker.parse("mqtts://h").tls
    assert Broker.parse("mqtt://h:1883", tls_forced=True).tls


async def test_a_gateway_fails_over_to_the_other_broker_and_says_online_there(tmp_path):
    a = Mosquitto(tmp_path / "a").start()
    b = Mosquitto(tmp_path / "b").start()
    mqtt = MqttConfig(urls=[a.url, b.url], reconnect_min=0.2, reconnect_max=1.0)
    acked: list[str] = []
    gw = VirtualGateway("gw-fail-1", mqtt, tmp_path / "gw.db", ack_timeout=2.0,
                        on_acked=lambda g, i, t: acked.append(i))
    status = "safehome/v1/gw-fail-1/status"
    try:
        async with Centre(a.url, auto_ack=True) as ca, Centre(b.url, auto_ack=True) as cb:
            await gw.open()
            gw.connect()
            await asyncio.wait_for(gw.uplink.connected.wait(), 10)
            first, other = (a, b) if gw.uplink.brokers.current.port == a.port else (b, a)
            first.stop()                                   # the gateway's broker dies
            alarm = await gw.raise_alarm()                 # raised during the failover
            await asyncio.wait_for(_until(lambda: alarm.id in acked), 20)
            assert gw.uplink.brokers.current.port == other.port
            assert gw.uplink.brokers.failovers == 1
            body = await retained(other.host, other.port, status)
            assert body["state"] == "online"
            receiver = ca if other is a else cb
            assert [r.id for r in receiver.alarms] == [alarm.id]
    finally:
        await gw.close()
        a.stop()
        b.stop()


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.05)
