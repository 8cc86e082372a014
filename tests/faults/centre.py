"""An alarm centre that acknowledges every alarm copy and remembers everything it heard.

It behaves as docs/mqtt-api.md asks of a centre: subscribe to `safehome/v1/+/#`,
acknowledge *every* copy of an alarm (a copy proves the gateway missed the earlier ack),
echo the correlation data. It reconnects by itself after a broker outage, polling fast,
so its own reconnect adds little to the gateway's measured reconnect delay.
Everything received is kept with the harness's wall-clock receive time for the checker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class Received:
    topic: str
    body: Any             # decoded JSON, or the raw bytes when not JSON
    retained: bool
    at: float             # harness wall clock when received

    @property
    def leaf(self) -> str:
        return self.topic.rsplit("/", 1)[-1]


@dataclass
class AckingCentre:
    host: str
    port: int
    ack: bool = True
    messages: list[Received] = field(default_factory=list)
    acks_sent: list[tuple[str, float]] = field(default_factory=list)
    # Hostile acks for an alarm, published before the honest one (issue 26's corpus), for
    # the first `hostile_alarms` alarms: they name a pending alarm, so they reach the store.
    before_ack: Callable[[str], list[bytes]] | None = None
    hostile_alarms: int = 0
    hostile_sent: int = 0

    def __post_init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.changed = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._hostile_tasks: set[asyncio.Task[None]] = set()

    async def publish(self, topic: str, body: dict[str, Any]) -> None:
        """Publish as the centre (a command); waits for the connection if needed."""
        await asyncio.wait_for(self.connected.wait(), 30)
        assert self._client is not None
        await self._client.publish(topic, json.dumps(body), qos=1, timeout=10)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="centre")
        await asyncio.wait_for(self.connected.wait(), 15)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        for task in (self._task, *self._hostile_tasks):
            task.cancel()
        await asyncio.gather(self._task, *self._hostile_tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(self.host, self.port, identifier=f"centre-{time.monotonic_ns()}",
                                          protocol=aiomqtt.ProtocolVersion.V5, keepalive=10,
                                          timeout=5) as c:
                    await c.subscribe("safehome/v1/#", qos=1)
                    self._client = c
                    self.connected.set()
                    async for m in c.messages:
                        await self._on(c, m)
            except aiomqtt.MqttError:
                pass
            self.connected.clear()
            self._client = None
            await asyncio.sleep(0.05)

    async def _on(self, c: aiomqtt.Client, m: aiomqtt.Message) -> None:
        try:
            body: Any = json.loads(m.payload)  # type: ignore[arg-type]
        except (ValueError, TypeError, RecursionError):   # hostile input reaches us too
            body = m.payload
        rec = Received(str(m.topic), body, bool(m.retain), time.time())
        self.messages.append(rec)
        self.changed.set()
        if self.ack and rec.leaf == "alarm" and isinstance(body, dict) and "id" in body:
            if self.before_ack is not None and self.hostile_alarms > 0:
                # Off the receive loop: the copies arriving meanwhile keep their true
                # receive time (the checker judges re-sends after an ack by it).
                self.hostile_alarms -= 1
                task = asyncio.create_task(self._ack(c, rec, hostile=self.before_ack(str(body["id"]))))
                self._hostile_tasks.add(task)
                task.add_done_callback(self._hostile_tasks.discard)
            else:
                await self._ack(c, rec)

    async def _ack(self, c: aiomqtt.Client, rec: Received, hostile: Sequence[bytes] = ()) -> None:
        body = rec.body
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = str(body["id"]).encode()
        ack_topic = rec.topic.rsplit("/", 1)[0] + "/ack"
        try:
            for payload in hostile:
                await c.publish(ack_topic, payload, qos=1, timeout=5)
                self.hostile_sent += 1
            await c.publish(ack_topic, json.dumps({"id": body["id"], "by": "fault-centre"}),
                            qos=1, properties=props, timeout=5)
            self.acks_sent.append((body["id"], time.time()))
        except aiomqtt.MqttError:
            pass  # the broker went away; the gateway re-sends, and we ack that copy

    # -- views ------------------------------------------------------------------------
    def on(self, leaf: str) -> list[Received]:
        return [m for m in self.messages if m.leaf == leaf]

    def bodies(self, leaf: str) -> list[dict[str, Any]]:
        return [m.body for m in self.on(leaf) if isinstance(m.body, dict)]

    async def wait_until(self, pred: Any, timeout: float) -> bool:
        """Wait until `pred()` holds (checked on every message and every 0.1 s)."""
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.1))
            except TimeoutError:
                pass
        return True


async def retained_status(host: str, port: int, gateway_id: str, timeout: float = 2.0) -> Any:
    """What a centre connecting now would read as the gateway's retained status (None: none)."""
    topic = f"safehome/v1/{gateway_id}/status"
    async with aiomqtt.Client(host, port, identifier=f"probe-{time.monotonic_ns()}", timeout=5) as c:
        await c.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(timeout):
                async for m in c.messages:
                    if m.retain:
                        return json.loads(m.payload)  # type: ignore[arg-type]
        except TimeoutError:
            return None
    return None
