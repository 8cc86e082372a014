"""The DC-09 bridge against a receiver this project did not write (issue 12).

pysiaalarm runs as the DC-09 receiver on a free loopback port, a real mosquitto is the
broker, and a fake gateway publishes real event payloads. What is asserted is what the
receiver accepted (it calls back only for messages it ACKed) and what the gateway got
back on MQTT.
"""

from __future__ import annotations

import asyncio
import time

from gateway.catalogue import CATALOGUE
from gateway.centre.bridge.service import Bridge
from tests.support.bridge_util import ACCOUNT, GW, FakeGateway, bridge_config, event
from tests.support.sia_receiver import SiaReceiver, hex_key

KEY = "AAAABBBBCCCCDDDD"


async def test_a_fall_and_a_restore_arrive_as_contact_id_and_the_receivers_ack_acks_the_alarm(
        mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: None}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        async with Bridge(cfg, key):
            fall = event("fall", room="bath")
            restore = event("sensor_restored", room="bath", sensor="radar-bath")
            await gw.publish(fall)
            await gw.publish(restore)
            ack = await gw.wait_ack(fall.id)
            await rx.wait_for(lambda: len(rx.cid()) == 2)
            await asyncio.sleep(0.3)
    assert rx.cid() == [(ACCOUNT, "1", "120", "01", "003"), (ACCOUNT, "3", "381", "01", "003")]
    assert ack["by"] == "dc09-receiver"
    assert gw.ack_correlations[0] == fall.id.encode()        # MQTT 5 correlation echoed
    assert rx.arrived_at[0] <= gw.ack_times[0]               # ack only after the receiver had it
    assert [a["id"] for a in gw.acks] == [fall.id]           # events are not acked


async def test_aes_encrypted_messages_are_accepted_by_a_receiver_with_the_same_key(
        mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: KEY}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port, key_hex=hex_key(KEY))
        async with Bridge(cfg, key):
            sos = event("sos", room="kitchen", sensor="band-1")
            await gw.publish(sos)
            await gw.wait_ack(sos.id)
    assert rx.cid() == [(ACCOUNT, "1", "101", "01", "002")]
    assert all(e.encrypted for e in rx.events)


async def test_with_the_wrong_key_nothing_is_acked_and_the_bridge_says_why(mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: KEY}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port,
                                 key_hex=hex_key("ZZZZBBBBCCCCDDDD"))
        async with Bridge(cfg, key) as bridge:
            fall = event("fall")
            await gw.publish(fall)
            await rx.wait_for(lambda: bridge.link_state == "rejected", timeout=15)
            await asyncio.sleep(1.0)
            assert bridge.queue.state(fall.id) == "pending"   # kept, retried, never acked
            assert "AES key" in (bridge.problem or "")
    assert rx.cid() == [] and gw.acks == []


async def test_a_receiver_that_is_down_loses_nothing_and_gets_the_oldest_alarm_first(
        mosquitto, tmp_path):
    rx = SiaReceiver({ACCOUNT: None})                     # not started: the receiver is down
    t0 = time.time()
    newer = event("sos", occurred_at=t0 - 10, room="kitchen")
    older = event("fall", occurred_at=t0 - 20, room="bath")
    info = event("battery_low", occurred_at=t0 - 30, room="kitchen")
    async with FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        async with Bridge(cfg, key) as bridge:
            for ev in (info, newer, older):
                await gw.publish(ev)
            await rx.wait_for(lambda: bridge.queue.pending() == 3)
            await rx.wait_for(lambda: bridge.link_state == "down")
        # The bridge stopped (as after a crash or a restart) with three messages kept.
        assert gw.acks == []
        async with rx, Bridge(cfg, key):
            await gw.wait_ack(older.id)
            await gw.wait_ack(newer.id)
            await rx.wait_for(lambda: len(rx.cid()) == 3)
        await rx.stop()
    assert [c[2] for c in rx.cid()] == ["120", "101", "384"]   # alarms oldest first, then events
    assert sorted(a["id"] for a in gw.acks) == sorted([older.id, newer.id])   # both, once


async def test_a_nak_for_our_timestamp_is_answered_with_a_corrected_timestamp(mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: None}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        skewed = Bridge(cfg, key, clock=lambda: time.time() - 300)   # our clock 5 min slow
        async with skewed:
            fall = event("fall")
            await gw.publish(fall)
            await gw.wait_ack(fall.id)
            assert skewed.counts["naks"] >= 1 and skewed.counts["clock_fixes"] >= 1
            assert abs(skewed.link.offset - 300) < 3
    assert rx.cid() == [(ACCOUNT, "1", "120", "01", "003")]     # once, after the resend


async def test_a_copy_of_a_delivered_alarm_is_acked_again_without_a_second_dc09_message(
        mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: None}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        async with Bridge(cfg, key):
            fall = event("fall")
            await gw.publish(fall)
            await gw.wait_ack(fall.id)
            await gw.publish(fall, attempt=2)              # the gateway missed our ack
            await rx.wait_for(lambda: len(gw.acks) == 2)
            await asyncio.sleep(0.3)
    assert len(rx.cid()) == 1


async def test_null_messages_supervise_each_account_only_while_its_gateway_is_online(
        mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: None}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port, null_interval=1.0)
        async with Bridge(cfg, key) as bridge:
            await asyncio.sleep(1.5)
            assert rx.nulls() == []                        # no gateway online yet
            await gw.status("online")
            await rx.wait_for(lambda: len(rx.nulls()) >= 2, timeout=10)
            await gw.status("offline")
            await rx.wait_for(lambda: not bridge.gateways[GW].online)
            await asyncio.sleep(1.0)                       # a NULL already on its way lands
            seen = len(rx.nulls())
            await asyncio.sleep(2.5)
            assert len(rx.nulls()) == seen                 # the receiver's supervision now fails
    assert all(n.account == ACCOUNT for n in rx.nulls())


async def test_every_event_type_of_the_catalogue_goes_through_as_its_contact_id(
        mosquitto, tmp_path):
    expected = {name: (str(t.qualifier), f"{t.contact_id:03d}")
                for name, t in CATALOGUE.items() if t.contact_id}
    async with SiaReceiver({ACCOUNT: KEY}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port, key_hex=hex_key(KEY))
        async with Bridge(cfg, key) as bridge:
            sent = [event(name, room="kitchen", seq=i) for i, name in enumerate(CATALOGUE)]
            for ev in sent:
                await gw.publish(ev)
            alarms = [ev for ev in sent if ev.is_alarm]
            for ev in alarms:
                await gw.wait_ack(ev.id)
            await rx.wait_for(lambda: len(rx.cid()) == len(expected))
            await asyncio.sleep(0.3)
            assert bridge.counts["not_forwarded"] == len(CATALOGUE) - len(expected)
    got = sorted((c[1], c[2]) for c in rx.cid())
    assert got == sorted(expected.values())
    assert {c[4] for c in rx.cid()} == {"002"}                  # the kitchen's zone
    assert sorted(a["id"] for a in gw.acks) == sorted(ev.id for ev in alarms)


async def test_an_account_the_receiver_does_not_know_is_a_clear_rejection_not_an_outage(
        mosquitto, tmp_path):
    async with SiaReceiver({"9999": None}) as rx, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        async with Bridge(cfg, key) as bridge:
            sos = event("sos")
            await gw.publish(sos)
            await rx.wait_for(lambda: bridge.link_state == "rejected", timeout=15)
            assert f"account {ACCOUNT}" in (bridge.problem or "")
            assert bridge.queue.state(sos.id) == "pending"
    assert rx.cid() == [] and gw.acks == []
