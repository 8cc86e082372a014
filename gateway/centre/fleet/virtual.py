"""One virtual gateway: the real Store (its own SQLite file), Outbox and Uplink, with a
timer instead of sensors.

WHY the real parts: the fleet exists to show what the centre side does with thousands
of *these* gateways (their reconnect backoff, broker failover, will and retained
status, heartbeats, durable outbox, re-sends). A re-implementation would measure
something else. What is simulated is only where alarms come from: `raise_alarm()`
commits a test alarm to the store, then hands it to the outbox, exactly as the daemon's
`emit()` does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.catalogue import describe, render
from gateway.config import AlarmConfig, HomeConfig, MqttConfig, StorageConfig
from gateway.events import Event, new_event_id
from gateway.outbox import Outbox
from gateway.store import Store
from gateway.task_cancel import cancel_and_wait
from gateway.uplink import Uplink

ALARM_TYPE = "sos"          # a real alarm type, flagged `test: true` (no help is dispatched)
EVENT_TYPE = "battery_low"  # a non-alarm event, queued during a storm


class VirtualGateway:
    def __init__(self, gateway_id: str, mqtt: MqttConfig, db_path: Path, *,
                 ack_timeout: float = 30.0,
                 on_raised: Callable[[VirtualGateway, Event], None] | None = None,
                 on_acked: Callable[[VirtualGateway, str, float], None] | None = None) -> None:
        self.cfg = HomeConfig.model_validate({
            "gateway_id": gateway_id, "site_id": f"site-{gateway_id}", "mqtt": mqtt,
            "storage": StorageConfig.model_validate({"path": db_path}),
            "alarm": AlarmConfig.model_validate({"ack_timeout": ack_timeout})})
        self.on_raised = on_raised
        self.on_acked = on_acked
        self.store = Store(db_path, batch_ms=5.0)
        self.outbox = Outbox(ack_timeout=ack_timeout)
        self.uplink = self._new_uplink()
        self.seq = 0
        self._task: asyncio.Task[None] | None = None
        self.connect_times: list[float] = []   # monotonic, one per completed connect

    @property
    def gateway_id(self) -> str:
        return self.cfg.gateway_id

    def _new_uplink(self) -> Uplink:
        return Uplink(self.cfg, self.outbox, self.store, health=self._health,
                      on_ack=self._acked)

    def _health(self) -> dict[str, Any]:
        return {"storage": "degraded" if self.store.failed else "ok", "sensors": {}}

    def _acked(self, event_id: str, by: str | None, at: float) -> None:
        if self.on_acked is not None:
            self.on_acked(self, event_id, time.time())

    # -- lifecycle --------------------------------------------------------------------------
    async def open(self) -> None:
        await self.store.open()
        self.seq = await self.store.last_seq()
        for stored in await self.store.undelivered():   # a restart resumes what is owed
            self.outbox.add(stored.event, stored.attempts)

    def connect(self) -> None:
        """Start the uplink (it connects, fails over and reconnects by itself)."""
        if self._task is None or self._task.done():
            if self.uplink.state == "stopped":
                self.uplink = self._new_uplink()
            self._task = asyncio.create_task(self._run_uplink(), name=f"uplink-{self.gateway_id}")

    async def _run_uplink(self) -> None:
        watcher = asyncio.create_task(self._watch_connects())
        try:
            await self.uplink.run()
        finally:
            watcher.cancel()

    async def _watch_connects(self) -> None:
        while True:
            await self.uplink.connected.wait()
            self.connect_times.append(time.monotonic())
            while self.uplink.connected.is_set():  # noqa: ASYNC110 - no event for "disconnected"
                await asyncio.sleep(0.2)

    async def disconnect(self) -> None:
        """The home loses its uplink (a district's network or power cut): events keep
        being committed and queue in the outbox until `connect()`."""
        await self.uplink.stop()
        if self._task is not None:
            try:   # a clean stop takes a publish and a disconnect; never wait forever
                await asyncio.wait_for(asyncio.shield(self._task), 30.0)
            except TimeoutError:
                await cancel_and_wait([self._task])
            self._task = None

    async def close(self) -> None:
        await self.disconnect()
        await self.store.close()

    @property
    def online(self) -> bool:
        return self.uplink.connected.is_set()

    # -- raising ----------------------------------------------------------------------------
    def _event(self, type_name: str, now: float, test: bool) -> Event:
        self.seq += 1
        info = describe(type_name)
        values = {"room": None, "sensor": "virtual-1"}
        return Event(new_event_id(), self.seq, type_name, info.severity, now, now,
                     render(type_name, values), sensor="virtual-1",
                     evidence={"simulated": 1.0}, test=test)

    async def raise_alarm(self) -> Event:
        return await self._emit(self._event(ALARM_TYPE, time.time(), test=True))

    async def raise_event(self) -> Event:
        return await self._emit(self._event(EVENT_TYPE, time.time(), test=False))

    async def _emit(self, event: Event) -> Event:
        await self.store.insert(event)          # committed before it may be sent
        self.outbox.add(event)
        if self.on_raised is not None:
            self.on_raised(self, event)
        return event
