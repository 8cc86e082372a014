"""`Bridge`: MQTT alarms and events in, SIA DC-09 (ADM-CID) out, acks back only after ACK.

    gateway --MQTT--> bridge: map (contact_id.py) -> commit (queue.py) -> send (link.py)
                              <-- DC-09 ACK -- receiver
    gateway <--MQTT ack-- bridge  (alarms only, and only after the receiver's ACK)

What each DC-09 answer means (ACK, NAK for the clock or for a wrong key, DUH, none) is
decided in sender.py, shared with the gateway's own DC-09 path. The bridge adds the MQTT
side: an alarm's `ack` (by = `ack_by`) is published only after the receiver's ACK, again
for every later copy of it, and after a reconnect for acks the broker missed.

Supervision: a NULL message per account every `null_interval` while that account's
gateway is online on MQTT (retained status online, heartbeat not overdue). When the
gateway goes silent, its NULLs stop, so the receiver's own supervision of the account
fails: the receiver sees the end-to-end path, not just the bridge.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paho.mqtt.properties import Properties

from gateway.centre.bridge.config import BridgeConfig
from gateway.centre.bridge.mqtt_side import BrokerRefused, MqttSide
from gateway.dc09.contact_id import report_for
from gateway.dc09.link import Link
from gateway.dc09.queue import DELIVERED, Item, Queue
from gateway.dc09.sender import Sender
from gateway.events import iso, parse_iso
from gateway.inbound import RateLimitedLog
from gateway.lifecycle import CLOSE_OUTPUTS, FINAL, STOP_INTAKE, Component, Shutdown
from gateway.received_payloads import clean_event, clean_heartbeat
from gateway.uplink import VERSION

log = logging.getLogger("safehome.bridge")

OVERDUE_FACTOR = 2.5
KEEP_DELIVERED = 7 * 86400.0
CONNECT_TIMEOUT_S = 15.0  # `async with Bridge(...)` waits this long for the broker


@dataclass
class GatewayLife:
    online: bool = False
    heartbeat_at: float | None = None
    interval: float = 60.0

    def alive(self, now: float) -> bool:
        return self.online and (self.heartbeat_at is None
                                or now - self.heartbeat_at <= OVERDUE_FACTOR * self.interval)


class Bridge(Component):
    """A lifecycle Component (gateway/lifecycle.py): `async with` starts it and waits for the
    broker, `run()` serves until cancelled or refused. Stopping: say offline (stop
    intake), cancel the tasks (status, sender, MQTT), close the link, close the queue."""

    def __init__(self, cfg: BridgeConfig, key: bytes | None = None, *,
                 username: str | None = None, password: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__("bridge")
        self.cfg, self.key, self.clock = cfg, key, clock
        rc = cfg.receiver
        self.queue = Queue(cfg.queue)
        self.link = Link(rc.host, rc.port, key=key, ack_timeout=rc.ack_timeout, clock=clock)
        self.sender = Sender(rc, self.queue, self.link, on_delivered=self._delivered,
                             null_accounts=self._alive_accounts,
                             on_change=self._status_changed_set, clock=clock, queue_path=cfg.queue)
        self.mqtt = MqttSide(cfg, self._on_message, self._status_body, self._pay_owed_acks,
                             username=username, password=password)
        self.accounts = {a.gateway_id: a for a in cfg.accounts}
        self.gateways: dict[str, GatewayLife] = {}
        self.since = clock()
        self.acks_published: list[dict[str, Any]] = []
        self.received = {"received": 0, "not_forwarded": 0}
        self._problems = RateLimitedLog(interval=60.0)
        self._acking: set[str] = set()
        self._status_changed = asyncio.Event()
        self._unknown_gateways: set[str] = set()

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self.queue.prune(self.clock() - KEEP_DELIVERED)
        self.tasks.spawn(self.mqtt.run(), "bridge-mqtt", expected=(BrokerRefused,))
        self.tasks.spawn(self.sender.run(), "bridge-sender")
        self.tasks.spawn(self._status_loop(), "bridge-status")

    async def ready(self) -> None:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await self.mqtt.connected.wait()

    def stopping(self, shutdown: Shutdown) -> None:
        # The tasks end in DRAIN (the Component's default), the last started first.
        shutdown.add(STOP_INTAKE, "say offline", self._say_offline)
        shutdown.add(CLOSE_OUTPUTS, "close the DC-09 link", self.link.close)
        shutdown.add(FINAL, "close the queue", self._close_queue)

    async def _say_offline(self) -> None:
        if self.mqtt.connected.is_set():
            await self.mqtt.publish_status("offline", "shutdown")

    async def _close_queue(self) -> None:
        self.queue.close()

    # ---- MQTT in ------------------------------------------------------------------------
    async def _on_message(self, gateway_id: str, kind: str, body: Any,
                          props: Properties | None) -> None:
        now = self.clock()
        if kind == "status":
            life = self.gateways.setdefault(gateway_id, GatewayLife())
            life.online = isinstance(body, dict) and body.get("state") == "online"
            self.sender.wake.set()
            return
        if kind == "heartbeat" and isinstance(body, dict):
            life = self.gateways.setdefault(gateway_id, GatewayLife())
            life.heartbeat_at = now
            interval = clean_heartbeat(body)[0].get("interval")   # finite, 0.1 s .. 1 day
            if interval is not None:
                life.interval = float(interval)
            return
        if kind not in ("alarm", "event") or not isinstance(body, dict):
            return
        # Every field checked first (gateway/received_payloads.py): one of a wrong type is
        # blanked (the alarm still goes), an alarm without a usable id cannot be acked.
        clean_body, dropped = clean_event(body)
        if dropped:
            self._problems("dropped", log.warning, "fields of a wrong type or size blanked in "
                           "a message from %s: %s", gateway_id[:80], ", ".join(dropped)[:300])
        if clean_body is None:
            return
        body = clean_body
        event_id = body["id"]
        self.received["received"] += 1
        account = self.accounts.get(gateway_id)
        if account is None:
            if gateway_id not in self._unknown_gateways:
                self._unknown_gateways.add(gateway_id)
                log.error("gateway %s has no DC-09 account (add --account %s=ACCOUNT); its "
                          "alarms are not forwarded and not acknowledged", gateway_id, gateway_id)
            return
        report = report_for(body, account.mapping())
        if report is None:
            self.received["not_forwarded"] += 1
            return
        try:
            occurred = parse_iso(str(body.get("occurred_at")))
        except ValueError:
            occurred = now
        item = Item(event_id, gateway_id, kind == "alarm", str(body.get("type")), occurred,
                    account.account, report.data(account.account),
                    getattr(props, "ResponseTopic", None) if props else None,
                    getattr(props, "CorrelationData", None) if props else None)
        state = self.queue.add(item, now)
        if state == "new":
            self.sender.added(event_id)
            self._status_changed.set()
        elif state == DELIVERED and item.is_alarm:
            # A copy of an alarm the receiver already ACKed: the gateway missed our ack.
            stored = self.queue.item(event_id) or item
            await self._publish_ack(stored, now)

    # ---- supervision and delivery ------------------------------------------------------
    def _alive_accounts(self, now: float) -> list[str]:
        """Accounts whose gateway is online on MQTT: only these get NULL messages."""
        return [a.account for a in self.cfg.accounts
                if (life := self.gateways.get(a.gateway_id)) is not None and life.alive(now)]

    async def _delivered(self, item: Item, at: float) -> None:
        if item.is_alarm:
            await self._publish_ack(item, at)

    def _status_changed_set(self) -> None:
        self._status_changed.set()

    # views of the sender's state (status, tests)
    @property
    def link_state(self) -> str:
        return self.sender.link_state

    @property
    def problem(self) -> str | None:
        return self.sender.problem

    @property
    def counts(self) -> dict[str, int]:
        return {**self.received, **self.sender.counts}

    @property
    def delays(self) -> deque[float]:
        return self.sender.delays

    # ---- MQTT out -----------------------------------------------------------------------
    async def _publish_ack(self, item: Item, at: float) -> None:
        if item.id in self._acking:            # already on its way (sender and reconnect)
            return
        topic = item.response_topic or f"{self.cfg.mqtt.topic_root}/{item.gateway_id}/ack"
        body = {"id": item.id, "by": self.cfg.ack_by, "at": iso(at)}
        self._acking.add(item.id)
        try:
            if await self.mqtt.publish(topic, body, correlation=item.correlation):
                self.queue.mqtt_acked(item.id)
                self.acks_published.append({"topic": topic, **body})
            else:
                self._status_changed.set()     # owed: retried by the status loop
        finally:
            self._acking.discard(item.id)

    async def _pay_owed_acks(self) -> None:
        for item, at in self.queue.acks_owed():
            await self._publish_ack(item, at)

    def _status_body(self, state: str, reason: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "state": state, "bridge_id": self.cfg.bridge_id, "since": iso(self.since),
            "version": VERSION}
        if reason:
            body["reason"] = reason
        if state == "online":
            oldest = self.queue.oldest_pending_at()
            body.update({
                "receiver": {"host": self.link.host, "port": self.link.port,
                             "link": self.link_state, "problem": self.problem,
                             "last_ack_at": iso(self.sender.last_ack_at)
                             if self.sender.last_ack_at else None,
                             "clock_offset": round(self.link.offset, 1)},
                "pending": self.queue.pending(),
                "oldest_pending_at": iso(oldest) if oldest else None,
                "accounts": len(self.cfg.accounts),
                "gateways_online": sum(g.alive(self.clock()) for g in self.gateways.values())})
        return body

    async def _status_loop(self) -> None:
        """Retained status on change (at most twice a second) and every 30 s; acks whose
        publish failed while connected (a timeout under load) are retried here too, and
        delivered rows older than a week are pruned hourly."""
        last_prune = time.monotonic()
        while True:
            if time.monotonic() - last_prune > 3600:
                self.queue.prune(self.clock() - KEEP_DELIVERED)
                last_prune = time.monotonic()
            try:
                async with asyncio.timeout(30):
                    await self._status_changed.wait()
            except TimeoutError:
                pass
            self._status_changed.clear()
            if self.mqtt.connected.is_set():
                await self.mqtt.publish_status()
                await self._pay_owed_acks()
            await asyncio.sleep(0.5)


