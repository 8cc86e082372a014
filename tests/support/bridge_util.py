"""Helpers for the DC-09 bridge tests: a bridge config, a fake gateway's MQTT side
(publishes real `Event.payload()`s and records the acks it gets)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.catalogue import CATALOGUE, render
from gateway.centre.bridge.config import BridgeConfig, parse_bridge_config
from gateway.centre.bridge.mqtt_side import set_no_delay
from gateway.centre.bridge.service import Bridge
from gateway.events import Event, new_event_id
from tests.support.broker import free_port

GW, ACCOUNT = "gw-test-01", "1234"
ROOT = "safehome/v1"


def bridge_config(tmp_path: Path, broker_url: str, receiver_port: int, *, key_hex: str | None = None,
                  **receiver: Any) -> tuple[BridgeConfig, bytes | None]:
    data: dict[str, Any] = {
        "bridge_id": "bridge-test", "queue": str(tmp_path / "dc09-queue.sqlite"),
        "mqtt": {"url": broker_url, "reconnect_min": 0.2, "reconnect_max": 1.0},
        "receiver": {"host": "127.0.0.1", "port": receiver_port, "ack_timeout": 2.0,
                     "retry_min": 0.1, "retry_max": 0.5, "null_interval": 3600, **receiver},
        "accounts": [{"gateway_id": GW, "account": ACCOUNT,
                      "zones": {"bath": 3, "kitchen": 2}, "users": {"band-1": 7}}]}
    env = {}
    if key_hex is not None:
        data["receiver"]["key_env"] = "TEST_DC09_KEY"
        env["TEST_DC09_KEY"] = key_hex
    return parse_bridge_config(data, "test", env)


def event(type_name: str, *, occurred_at: float | None = None, room: str | None = "bath",
          sensor: str | None = "radar-bath", seq: int = 1) -> Event:
    t = time.time() if occurred_at is None else occurred_at
    values = {"room": room, "sensor": sensor, "hours_inactive": 13.5, "minutes": 42,
              "seconds": 600, "bpm": 38, "active_hours": 6.2, "attempts": 5, "command": "x",
              "problem": "y", "usual_hour": 7, "usual_minute": 30}
    return Event(new_event_id(), seq, type_name, CATALOGUE[type_name].severity, t, t,
                 render(type_name, values), room=room, sensor=sensor, confidence=0.9)


class FakeGateway:
    """The gateway's MQTT side as the bridge sees it: status, alarms/events, acks back."""

    def __init__(self, host: str, port: int, gateway_id: str = GW) -> None:
        self.host, self.port, self.gw = host, port, gateway_id
        self.acks: list[dict[str, Any]] = []
        self.ack_times: list[float] = []
        self.ack_correlations: list[bytes | None] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiomqtt.Client(self.host, self.port, identifier=f"fake-{self.gw}-{time.monotonic_ns()}",
                                  protocol=aiomqtt.ProtocolVersion.V5) as client:
            self._client = client
            set_no_delay(client)     # as a gateway should (see gateway.centre.bridge.mqtt_side)
            await client.subscribe(f"{ROOT}/{self.gw}/ack", qos=1)
            self._ready.set()
            async for m in client.messages:
                self.acks.append(json.loads(m.payload))
                self.ack_times.append(time.time())
                props = m.properties
                self.ack_correlations.append(getattr(props, "CorrelationData", None))

    async def publish(self, ev: Event, attempt: int = 1) -> None:
        assert self._client is not None
        kind = "alarm" if ev.is_alarm else "event"
        props = None
        if ev.is_alarm:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = f"{ROOT}/{self.gw}/ack"
            props.CorrelationData = ev.id.encode()
        await self._client.publish(f"{ROOT}/{self.gw}/{kind}",
                                   json.dumps(ev.payload(self.gw, "site-1", attempt)), qos=1,
                                   properties=props)

    async def status(self, state: str) -> None:
        assert self._client is not None
        await self._client.publish(f"{ROOT}/{self.gw}/status",
                                   json.dumps({"state": state, "gateway_id": self.gw}), qos=1,
                                   retain=True)

    def acked(self, event_id: str) -> bool:
        return any(a["id"] == event_id for a in self.acks)

    async def wait_ack(self, event_id: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for a in self.acks:
                if a["id"] == event_id:
                    return a
            await asyncio.sleep(0.02)
        raise AssertionError(f"no ack for {event_id} in {timeout} s; acks: {self.acks}")


async def raw_receiver(answer: Callable[[bytes], bytes | None]) -> tuple[asyncio.Server, list[bytes]]:
    """A raw TCP receiver: each message (up to CR) gets `answer(message)` (None: silence).
    `server.got_at` holds when each message arrived (monotonic)."""
    got: list[bytes] = []
    got_at: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.readuntil(b"\r"):
                got.append(data)
                got_at.append(time.monotonic())
                reply = answer(data)
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", free_port())
    server.got_at = got_at  # type: ignore[attr-defined]
    return server, got


@asynccontextmanager
async def bridge_against(server: asyncio.Server, broker: Any, tmp_path: Path,
                         **receiver: Any) -> AsyncIterator[tuple[FakeGateway, Bridge]]:
    """A fake gateway and a bridge whose receiver is `server` (on the test's broker)."""
    port = server.sockets[0].getsockname()[1]
    async with server, FakeGateway(broker.host, broker.port) as gw:
        cfg, key = bridge_config(tmp_path, broker.url, port, **receiver)
        async with Bridge(cfg, key) as bridge:
            yield gw, bridge
