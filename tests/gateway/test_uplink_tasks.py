"""The uplink's tasks own what they start: publishes in flight end with the drain, and a
slow command never holds up the centre's acks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiomqtt

from gateway.config import HomeConfig, parse_config
from gateway.events import Event
from gateway.outbox import Outbox
from gateway.store import Store
from gateway.uplink import Uplink
from tests.support.broker import Mosquitto


def home(url: str, tmp: Path) -> HomeConfig:
    return parse_config({"gateway_id": "gw-t", "site_id": "site-t",
                         "mqtt": {"url": url, "reconnect_min": 0.2},
                         "storage": {"path": str(tmp / "t.db")}}, env={})


def alarm_id(seq: int) -> str:
    return f"01a2159e-61d8-71de-8b9f-{seq:012d}"   # acks name event ids, which are UUIDs


def alarm(seq: int) -> Event:
    return Event(alarm_id(seq), seq, "sos", "critical", time.time(), time.time(), {"en": "SOS"})


class HangingClient:
    """A broker connection whose PUBACKs never come (a half-dead TCP connection)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = 0

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_cancelling_the_drain_ends_its_publishes_and_frees_their_alarms(tmp_path):
    box = Outbox(ack_timeout=30)
    box.add(alarm(1))
    box.add(alarm(2))
    uplink = Uplink(home("mqtt://127.0.0.1:1", tmp_path), box, Store(tmp_path / "t.db"),
                    health=dict)
    client = HangingClient()
    drain = asyncio.create_task(uplink._drain(client))  # type: ignore[arg-type]
    await asyncio.wait_for(client.started.wait(), 5)
    assert all(e.in_flight for e in box.entries.values())
    drain.cancel()
    await asyncio.gather(drain, return_exceptions=True)
    # The publishes were cancelled and awaited, not orphaned: the next session sends
    # both alarms at once instead of waiting for stray tasks to time out.
    assert client.cancelled == 2
    assert [e.in_flight for e in box.entries.values()] == [False, False]
    assert [e.event.id for e in box.due()] == [alarm_id(1), alarm_id(2)]
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()
                and "_publish" in repr(t.get_coro())]


async def test_a_slow_command_does_not_hold_up_acks(mosquitto: Mosquitto, tmp_path):
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_command(name: str, payload: bytes, retained: bool, props: Any) -> None:
        started.set()
        await release.wait()   # e.g. a commit on a slow disk, or a PUBACK that is late

    cfg = home(mosquitto.url, tmp_path)
    store = Store(cfg.storage.path)
    await store.open()
    box = Outbox(ack_timeout=30)
    box.add(alarm(1))
    uplink = Uplink(cfg, box, store, health=dict, on_command=slow_command)
    task = asyncio.create_task(uplink.run())
    try:
        await asyncio.wait_for(uplink.connected.wait(), 10)
        base = "safehome/v1/gw-t"
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
            await c.publish(f"{base}/cmd/status", json.dumps({"id": "c-1"}), qos=1)
            await asyncio.wait_for(started.wait(), 5)
            await c.publish(f"{base}/ack", json.dumps({"id": alarm_id(1), "by": "op"}), qos=1)
            deadline = time.monotonic() + 5
            while alarm_id(1) in box.entries and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert alarm_id(1) not in box.entries, "the ack waited behind a command"
    finally:
        release.set()
        await uplink.stop()
        await asyncio.wait_for(task, 10)
        await store.close()


async def test_a_flood_of_commands_is_bounded_and_the_overflow_logged(mosquitto: Mosquitto,
                                                                      tmp_path, caplog):
    from gateway.uplink import COMMAND_QUEUE

    release = asyncio.Event()
    handled: list[bytes] = []

    async def slow_command(name: str, payload: bytes, retained: bool, props: Any) -> None:
        handled.append(payload)
        await release.wait()

    cfg = home(mosquitto.url, tmp_path)
    store = Store(cfg.storage.path)
    await store.open()
    uplink = Uplink(cfg, Outbox(), store, health=dict, on_command=slow_command)
    task = asyncio.create_task(uplink.run())
    try:
        await asyncio.wait_for(uplink.connected.wait(), 10)
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
            for i in range(COMMAND_QUEUE + 20):
                await c.publish("safehome/v1/gw-t/cmd/status", json.dumps({"id": f"c-{i}"}), qos=1)
        await asyncio.sleep(1.0)
        release.set()
        await asyncio.sleep(1.0)
        assert uplink.sessions_online == 1, "the flood did not end the session"
    finally:
        release.set()
        await uplink.stop()
        await asyncio.wait_for(task, 10)
        await store.close()
    assert COMMAND_QUEUE <= len(handled) <= COMMAND_QUEUE + 1
    assert handled[0] == b'{"id": "c-0"}', "in arrival order"
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 1, "the overflow is logged once per minute, not once per command"
