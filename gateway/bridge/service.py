"""`Bridge`: MQTT alarms and events in, SIA DC-09 (ADM-CID) out, acks back only after ACK.

    gateway --MQTT--> bridge: map (contact_id.py) -> commit (queue.py) -> send (link.py)
                              <-- DC-09 ACK -- receiver
    gateway <--MQTT ack-- bridge  (alarms only, and only after the receiver's ACK)

Answers, as SIA DC-09 says:
- ACK: delivered; an alarm's MQTT `ack` is published now (by = `ack_by`).
- NAK with a timestamp away from ours: our clock is off. The link adopts the receiver's
  time and the message goes again at once with a corrected timestamp.
- NAK while the clocks agree, or an encrypted ACK that does not decrypt: the receiver
  rejects us (wrong AES key, unknown account). Logged loudly, shown in the status,
  retried with backoff; nothing is acked.
- DUH: the receiver cannot process this message; resending will not help. It is marked
  refused (never acked; the gateway's own unacknowledged-alarm path takes over) and the
  queue moves on.
- No answer / no connection: retry with exponential backoff and jitter, for ever; new
  messages wait in SQLite, alarms first, oldest first.

Supervision: a NULL message per account every `null_interval` while that account's
gateway is online on MQTT (retained status online, heartbeat not overdue). When the
gateway goes silent, its NULLs stop, so the receiver's own supervision of the account
fails: the receiver sees the end-to-end path, not just the bridge.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Self

from paho.mqtt.properties import Properties

from gateway.bridge.config import BridgeConfig
from gateway.bridge.contact_id import report_for
from gateway.bridge.frame import Header
from gateway.bridge.link import Link, NoAnswer, Rejected
from gateway.bridge.mqtt_side import MqttSide
from gateway.bridge.queue import DELIVERED, Item, Queue
from gateway.events import iso, parse_iso
from gateway.uplink import VERSION

log = logging.getLogger("safehome.bridge")

OVERDUE_FACTOR = 2.5
MAX_CLOCK_FIXES = 3
KEEP_DELIVERED = 7 * 86400.0


class Answer(Enum):
    ACKED = "ack"                 # the receiver has it
    CANNOT_PROCESS = "duh"        # DUH: resending cannot help
    CLOCK_FIXED = "clock"         # NAK for our timestamp, clock corrected: send again now
    FAILED = "failed"             # no answer, or rejected: back off and retry


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    problem: str | None = None


@dataclass
class GatewayLife:
    online: bool = False
    heartbeat_at: float | None = None
    interval: float = 60.0

    def alive(self, now: float) -> bool:
        return self.online and (self.heartbeat_at is None
                                or now - self.heartbeat_at <= OVERDUE_FACTOR * self.interval)


class Bridge:
    def __init__(self, cfg: BridgeConfig, key: bytes | None = None, *,
                 username: str | None = None, password: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.key, self.clock = cfg, key, clock
        rc = cfg.receiver
        self.queue = Queue(cfg.queue)
        self.link = Link(rc.host, rc.port, key=key, ack_timeout=rc.ack_timeout, clock=clock)
        self.mqtt = MqttSide(cfg, self._on_message, self._status_body, self._pay_owed_acks,
                             username=username, password=password)
        self.accounts = {a.gateway_id: a for a in cfg.accounts}
        self.gateways: dict[str, GatewayLife] = {}
        self.link_state = "unknown"           # up / down / rejected / unknown
        self.problem: str | None = None
        self.last_ack_at: float | None = None
        self.since = clock()
        self.acks_published: list[dict[str, Any]] = []
        self.counts = {"received": 0, "not_forwarded": 0, "delivered": 0, "naks": 0,
                       "clock_fixes": 0, "refused": 0, "retries": 0, "nulls": 0}
        self._last_ok: dict[str, float] = {}  # account -> last ACK (message or NULL)
        self._seqs: dict[str, int] = {}       # item id -> its DC-09 sequence number
        self._acking: set[str] = set()
        self._taken: dict[str, float] = {}    # item id -> perf_counter when taken from MQTT
        self.delays: deque[float] = deque(maxlen=10_000)  # s, MQTT in -> receiver ACK
        self._clock_fixes = 0
        self._wake = asyncio.Event()
        self._status_changed = asyncio.Event()
        self._unknown_gateways: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ----------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        self.start()
        await asyncio.wait_for(self.mqtt.connected.wait(), 15)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        self.queue.prune(self.clock() - KEEP_DELIVERED)
        self._tasks = [asyncio.create_task(self.mqtt.run(), name="bridge-mqtt"),
                       asyncio.create_task(self._sender(), name="bridge-sender"),
                       asyncio.create_task(self._status_loop(), name="bridge-status")]

    async def run(self) -> None:
        """Run until cancelled or until the broker refuses the credentials."""
        self.start()
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.mqtt.connected.is_set():
            await self.mqtt.publish_status("offline", "shutdown")
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.link.close()
        self.queue.close()

    # ---- MQTT in ------------------------------------------------------------------------
    async def _on_message(self, gateway_id: str, kind: str, body: Any,
                          props: Properties | None) -> None:
        now = self.clock()
        if kind == "status":
            life = self.gateways.setdefault(gateway_id, GatewayLife())
            life.online = isinstance(body, dict) and body.get("state") == "online"
            self._wake.set()
            return
        if kind == "heartbeat" and isinstance(body, dict):
            life = self.gateways.setdefault(gateway_id, GatewayLife())
            life.heartbeat_at = now
            if isinstance(body.get("interval"), (int, float)) and body["interval"] > 0:
                life.interval = float(body["interval"])
            return
        if kind not in ("alarm", "event") or not isinstance(body, dict):
            return
        event_id = body.get("id")
        if not isinstance(event_id, str) or not event_id:
            return
        self.counts["received"] += 1
        account = self.accounts.get(gateway_id)
        if account is None:
            if gateway_id not in self._unknown_gateways:
                self._unknown_gateways.add(gateway_id)
                log.error("gateway %s has no DC-09 account (add --account %s=ACCOUNT); its "
                          "alarms are not forwarded and not acknowledged", gateway_id, gateway_id)
            return
        report = report_for(body, account.mapping())
        if report is None:
            self.counts["not_forwarded"] += 1
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
            self._taken[event_id] = time.perf_counter()
            self._wake.set()
            self._status_changed.set()
        elif state == DELIVERED and item.is_alarm:
            # A copy of an alarm the receiver already ACKed: the gateway missed our ack.
            stored = self.queue.item(event_id) or item
            await self._publish_ack(stored, now)

    # ---- DC-09 out ----------------------------------------------------------------------
    async def _sender(self) -> None:
        rc = self.cfg.receiver
        delay = rc.retry_min
        while True:
            self._wake.clear()
            item = self.queue.next_pending()
            wait: float | None
            if item is None:
                wait = await self._supervise()
            else:
                wait = 0.0 if await self._deliver(item) else None
            if wait is None:                                # failed: back off
                self.counts["retries"] += 1
                wait = delay * random.uniform(0.8, 1.2)
                delay = min(delay * 2, rc.retry_max)
                await asyncio.sleep(wait)                   # a backoff is not cut short
                continue
            delay = rc.retry_min
            if wait > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass

    def _header(self, account: str) -> Header:
        rc = self.cfg.receiver
        return Header(account, rc.prefix, rc.receiver_number)

    async def _deliver(self, item: Item) -> bool:
        """One attempt. True: progress (ACK, DUH, clock fixed); False: back off."""
        seq = self._seqs.setdefault(item.id, self.link.next_seq())
        outcome = await self._exchange("ADM-CID", seq, item.account, item.data)
        if outcome.answer is Answer.ACKED:
            at = self.clock()
            self.queue.delivered(item.id, at)
            self._seqs.pop(item.id, None)
            self.counts["delivered"] += 1
            taken = self._taken.pop(item.id, None)
            if taken is not None:
                self.delays.append(time.perf_counter() - taken)
            if item.is_alarm:
                await self._publish_ack(item, at)
            return True
        self.queue.attempted(item.id, outcome.problem)
        if outcome.answer is Answer.CANNOT_PROCESS:
            why = (f"receiver answered DUH (cannot process) to {item.type} {item.id} "
                   f"({item.data}); not resent, not acknowledged")
            log.error("%s", why)
            self.queue.refused(item.id, self.clock(), why)
            self._seqs.pop(item.id, None)
            self.counts["refused"] += 1
            return True
        return outcome.answer is Answer.CLOCK_FIXED

    async def _exchange(self, token: str, seq: int, account: str, data: str) -> Outcome:
        """Send once and read what the receiver's answer means for us."""
        try:
            response, sent_ts = await self.link.exchange(token, seq, self._header(account), data)
        except NoAnswer as exc:
            self._set_link("down", str(exc))
            return Outcome(Answer.FAILED, str(exc))
        except Rejected as exc:
            return self._rejected(account, str(exc))
        if response.token == "ACK":
            self._clock_fixes = 0
            self.last_ack_at = self._last_ok[account] = self.clock()
            self._set_link("up", None)
            return Outcome(Answer.ACKED)
        if response.token == "DUH":
            self._set_link("up", None)
            return Outcome(Answer.CANNOT_PROCESS, "DUH")
        if response.token == "NAK":
            self.counts["naks"] += 1
            tolerance = self.cfg.receiver.clock_tolerance
            if response.timestamp is not None and abs(response.timestamp - sent_ts) > tolerance \
                    and self._clock_fixes < MAX_CLOCK_FIXES:
                step = response.timestamp - sent_ts
                self.link.offset += step
                self._clock_fixes += 1
                self.counts["clock_fixes"] += 1
                log.warning("receiver NAKed our timestamp (%+.0f s from its clock); resending "
                            "with the receiver's time", step)
                return Outcome(Answer.CLOCK_FIXED, "NAK for the timestamp")
            return self._rejected(account, "NAK although our clocks agree"
                                  if response.timestamp is not None else "NAK")
        return self._rejected(account, f"unexpected answer {response.token}")

    def _rejected(self, account: str, detail: str) -> Outcome:
        why = (f"receiver {self.link.host}:{self.link.port} rejects account {account}'s "
               f"messages ({detail}): the AES key (--key-env / receiver.key_env) or the "
               "account number does not match the receiver's")
        if self.link_state != "rejected":
            log.error("%s", why)
        self._set_link("rejected", why)
        return Outcome(Answer.FAILED, why)

    async def _supervise(self) -> float:
        """Send the NULL messages that are due; seconds until the next one (0 after a failure and a short pause)."""
        now = self.clock()
        interval = self.cfg.receiver.null_interval
        next_due = interval
        for account in self.cfg.accounts:
            if self._wake.is_set():
                return 0.0                                # real traffic first
            life = self.gateways.get(account.gateway_id)
            if life is None or not life.alive(now):
                continue
            due = self._last_ok.get(account.account, 0.0) + interval - now
            if due > 0:
                next_due = min(next_due, due)
                continue
            outcome = await self._exchange("NULL", self.link.next_seq(), account.account, "")
            if outcome.answer is Answer.CLOCK_FIXED:
                return 0.0
            if outcome.answer is Answer.FAILED:
                return await self._failed()
            self._last_ok[account.account] = self.clock()
            self.counts["nulls"] += 1
        return max(0.05, next_due)

    async def _failed(self) -> float:
        rc = self.cfg.receiver
        await asyncio.sleep(rc.retry_min * random.uniform(0.8, 1.2))
        return 0.0

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

    def _set_link(self, state: str, problem: str | None) -> None:
        if (state, problem) != (self.link_state, self.problem):
            if state == "up" and self.link_state in ("down", "rejected"):
                log.warning("receiver %s:%s answers again", self.link.host, self.link.port)
            elif state == "down" and self.link_state != "down":
                log.warning("%s; retrying with backoff, messages kept in %s", problem,
                            self.cfg.queue)
            self.link_state, self.problem = state, problem
            self._status_changed.set()

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
                             "last_ack_at": iso(self.last_ack_at) if self.last_ack_at else None,
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
                await asyncio.wait_for(self._status_changed.wait(), 30)
            except TimeoutError:
                pass
            self._status_changed.clear()
            if self.mqtt.connected.is_set():
                await self.mqtt.publish_status()
                await self._pay_owed_acks()
            await asyncio.sleep(0.5)


