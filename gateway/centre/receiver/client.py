"""The reference alarm centre's MQTT side, usable as a library (the integration tests'
peer) and behind `safehome centre`.

WHY a library first: a gateway's promises (at-least-once, same id on re-send, ack stops
re-sends, supervision) can only be proven against a receiver that applies the rules a
real centre applies. `Centre` is that receiver: it reconnects through broker outages,
drops duplicates by id, logs each alarm once, acknowledges (automatically or when told)
and flags overdue heartbeats and seq gaps (rules in state.py).

Acknowledging: an ack goes to `ROOT/{gateway_id}/ack` (or the alarm's MQTT 5 response
topic, with its correlation data). A copy of an alarm that was already acknowledged is
acknowledged again: the copy proves the gateway missed the first ack.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from gateway.brokers import Broker, BrokerRotation, SubscriptionRefused, check_granted
from gateway.centre.receiver.alarm_log import AlarmLog
from gateway.centre.receiver.state import OVERDUE_FACTOR, AlarmRecord, CentreState, Received
from gateway.config import MqttConfig
from gateway.events import iso, parse_iso
from gateway.inbound import RateLimitedLog
from gateway.mqtt_tls import tls_parameters
from gateway.task_cancel import cancel_and_wait

if TYPE_CHECKING:
    from gateway.centre.receiver.metrics import CentreMetrics
    from gateway.centre.receiver.pg_log import PgAlarmLog

log = logging.getLogger("safehome.centre")
T = TypeVar("T")
AUTH_CODES = {4, 5, 134, 135}
# What gateways publish. Not `ack` or `cmd/+` (the centre's own traffic): on a cluster
# where QoS 1 subscriptions are stored streams, a `+/#` subscription would make every
# ack a replicated write waiting for its PUBACK.
SUBSCRIBED = ("status", "heartbeat", "alarm", "event", "cmd/+/result")


class CentreError(Exception):
    """A configuration or connection problem the operator must fix (no retry helps)."""


class Centre:
    def __init__(self, broker: str | Sequence[str], *, root: str = "safehome/v1", ca_file: str | None = None,
                 cert_file: str | None = None, key_file: str | None = None,
                 username: str | None = None, password: str | None = None,
                 allow_insecure: bool = False, protocol: str = "5",
                 client_id: str | None = None, auto_ack: bool = False, ack_by: str = "centre",
                 lang: str = "en", log_path: str | Path | None = None, gap_grace: float = 5.0,
                 reconnect_min: float = 0.5, reconnect_max: float = 10.0,
                 db: str | None = None, metrics: "CentreMetrics | None" = None,
                 clock: Callable[[], float] = time.time) -> None:
        urls = [broker] if isinstance(broker, str) else list(broker)
        if any(urlsplit(u).password is not None for u in urls):
            raise CentreError("the broker URL holds a password: pass it through an "
                              "environment variable (--password-env) instead")
        try:
            self.mqtt = MqttConfig(urls=urls, topic_root=root, ca_file=ca_file,
                                   cert_file=cert_file, key_file=key_file,
                                   allow_insecure=allow_insecure, protocol=protocol)
        except ValidationError as exc:
            raise CentreError("; ".join(e["msg"] for e in exc.errors())) from None
        self._username, self._password = username, password
        self.client_id = client_id or f"safehome-centre-{uuid.uuid4().hex[:8]}"
        self.brokers = BrokerRotation([Broker.parse(u, tls_forced=ca_file is not None)
                                       for u in self.mqtt.broker_urls])
        self.shared: PgAlarmLog | None = None
        if db is not None:
            from gateway.centre.receiver.pg_log import PgAlarmLog
            self.shared = PgAlarmLog(db, self.client_id, on_remote_ack=self._remote_ack)
        self.metrics = metrics
        self.overdue_flagged: list[str] = []     # gateways this receiver won the flag for
        self._flagged: set[str] = set()
        self._heartbeats_seen: dict[str, tuple[float, float]] = {}
        self._settling: set[asyncio.Task[None]] = set()
        self._settle_slots = asyncio.Semaphore(32)
        self.auto_ack, self.ack_by, self.lang = auto_ack, ack_by, lang
        self.state = CentreState(root, gap_grace=gap_grace)
        self.alarm_log = AlarmLog(log_path) if log_path else None
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.clock = clock
        self.connected = asyncio.Event()
        self.acks_sent: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self._problem_log = RateLimitedLog(interval=60.0)
        self.listeners: list[Callable[[Received], None]] = []
        self._client: aiomqtt.Client | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._correlation: dict[str, tuple[str | None, bytes | None]] = {}

    # ---- read-only views ------------------------------------------------------------
    @property
    def alarms(self) -> list[AlarmRecord]:
        return self.state.alarms

    @property
    def gateways(self):
        return self.state.gateways

    def overdue(self, gateway_id: str) -> bool:
        row = self.state.gateways.get(gateway_id)
        return bool(row and row.overdue(self.clock()))

    def seq_gaps(self, gateway_id: str) -> list[tuple[int, int]]:
        row = self.state.gateways.get(gateway_id)
        return row.seq.gaps(self.clock(), self.state.gap_grace) if row else []

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot(self.clock())

    # ---- lifecycle --------------------------------------------------------------------
    async def __aenter__(self) -> "Centre":
        if self.shared is not None:
            try:
                await self.shared.open()
            except Exception as exc:  # noqa: BLE001 - asyncpg raises its own error classes
                raise CentreError(f"cannot open the shared alarm log: {exc}") from None
            self._supervisor = asyncio.create_task(self._supervise(), name="centre-supervision")
        self._task = asyncio.create_task(self.run(), name="centre")
        waiter = asyncio.create_task(self.connected.wait())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=15,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            waiter.cancel()
            self._task.result()       # raises what stopped it
        if waiter not in done:
            waiter.cancel()
            await self.__aexit__(None, None, None)
            raise CentreError(f"could not connect to {self.brokers.current} in 15 s")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        sup = getattr(self, "_supervisor", None)
        if sup is not None:
            await cancel_and_wait([sup])
        await cancel_and_wait(list(self._settling))
        if self._task is not None:
            task, self._task = self._task, None
            await cancel_and_wait([task])
            if not task.cancelled() and not isinstance(task.exception(), (CentreError, type(None))):
                raise task.exception()  # type: ignore[misc]
        if self.alarm_log is not None:
            self.alarm_log.close()
        if self.shared is not None:
            await self.shared.close()

    async def run(self) -> None:
        """Connect, subscribe to every gateway, handle messages; reconnect until cancelled."""
        delay = self.reconnect_min
        while True:
            try:
                async with self._make_client() as client:
                    self._client = client
                    filters = [(f"{self.mqtt.topic_root}/+/{leaf}", 1) for leaf in SUBSCRIBED]
                    check_granted(await client.subscribe(filters), "the gateways' topics")
                    self.brokers.connected()
                    log.info("centre connected to %s as %s", self.brokers.current, self.client_id)
                    self.connected.set()
                    self._pulse()
                    delay = self.reconnect_min
                    async for message in client.messages:
                        try:
                            await self._on_message(message)
                        except aiomqtt.MqttError:
                            raise
                        except Exception:  # one bad message (or a full disk) must not
                            log.exception("could not handle a message on %s",  # stop the centre
                                          message.topic.value)
            except (aiomqtt.MqttError, SubscriptionRefused) as exc:
                rc = getattr(exc, "rc", None)
                if isinstance(exc, MqttConnectError) and getattr(rc, "value", rc) in AUTH_CODES:
                    log.error("broker refused the centre's credentials (%s); not retrying", exc)
                    raise CentreError(f"broker refused the credentials: {exc}") from None
                if self.connected.is_set():
                    log.warning("connection to the broker lost (%s); reconnecting", exc)
                else:
                    log.debug("connect failed (%s); retry in %.1f s", exc, delay)
            finally:
                self._client = None
                self.brokers.failed()      # next attempt: the next broker, if several
                self.connected.clear()
                self._pulse()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.reconnect_max)

    def _make_client(self) -> aiomqtt.Client:
        tls = None
        if self.mqtt.tls:
            tls = tls_parameters(self.mqtt)
        v5 = self.mqtt.protocol == "5"
        broker = self.brokers.current
        return aiomqtt.Client(
            broker.host, broker.port, identifier=self.client_id,
            username=self._username, password=self._password,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            tls_params=tls, keepalive=30, timeout=10,
            clean_session=None if v5 else True)

    # ---- incoming ----------------------------------------------------------------------
    async def _on_message(self, message: aiomqtt.Message) -> None:
        now = self.clock()
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        got = self.state.ingest(message.topic.value, payload, message.retain, now)
        if got.problem:   # kept (the last 1,000) and logged at most once a minute per kind
            self.problems.append(got.problem)
            del self.problems[:-1000]
            self._problem_log(got.kind, log.warning, "ignored a message: %s", got.problem[:300])
        if got.dropped:
            self._problem_log("dropped", log.warning, "fields of a wrong type or size blanked in a "
                              "message from %s: %s", (got.gateway_id or "?")[:80],
                              ", ".join(got.dropped)[:300])
        if got.alarm is not None:
            props = message.properties
            self._correlation[got.alarm.id] = (
                getattr(props, "ResponseTopic", None) if props else None,
                getattr(props, "CorrelationData", None) if props else None)
            if not got.duplicate:
                log.info("ALARM #%d %s from %s seq=%s: %s", got.alarm.number, got.alarm.type,
                         got.gateway_id, got.alarm.seq, got.alarm.text(self.lang))
                if self.metrics is not None:
                    self.metrics.alarm()
                if self.alarm_log is not None:
                    self.alarm_log.add(got.alarm.payload, got.alarm.gateway_id, now)
            elif self.metrics is not None:
                self.metrics.copies.inc()
            if self.shared is not None:
                # A database commit and a PUBACK per alarm: settled concurrently (bounded)
                # so that a storm's backlog does not queue behind one round trip at a time.
                task = asyncio.create_task(self._settle_shared(got.alarm, now))
                self._settling.add(task)
                task.add_done_callback(self._settled)
            elif got.alarm.acked_by is not None:
                await self._publish_ack(got.alarm, received=now)  # they missed our ack
            elif self.auto_ack:
                await self.ack(got.alarm.id)
        for listener in self.listeners:
            listener(got)
        self._pulse()

    async def _settle_shared(self, alarm: AlarmRecord, received: float) -> None:
        """The shared log first: no ack before the row is committed. If the database
        fails, nothing is acknowledged and the gateway's re-send tries again."""
        async with self._settle_slots:
            assert self.shared is not None
            if not alarm.stored:
                by = self.ack_by if self.auto_ack else None
                rec = await self.shared.record(alarm.payload, alarm.gateway_id, received, by)
                alarm.stored = True
                if rec.acked_by is not None and alarm.acked_by is None:
                    alarm.acked_by, alarm.acked_at = rec.acked_by, rec.acked_at
            if alarm.acked_by is not None:
                await self._publish_ack(alarm, received=received)  # auto-acked, or a copy
            elif self.auto_ack:
                await self.ack(alarm.id)

    def _settled(self, task: "asyncio.Task[None]") -> None:
        self._settling.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("alarm not recorded in the shared log, not acknowledged (the gateway "
                      "re-sends): %s", task.exception())

    # ---- outgoing ----------------------------------------------------------------------
    async def ack(self, ref: str | int, by: str | None = None) -> AlarmRecord:
        """Acknowledge an alarm by id or operator number. Marked at once; the ack is
        re-sent whenever another copy of the alarm arrives, so a lost ack heals itself."""
        record = self.state.alarm(ref)
        if record is None:
            raise KeyError(f"no alarm {ref!r}")
        if record.acked_by is None:
            who, at = by or self.ack_by, self.clock()
            if self.shared is not None and not await self.shared.ack(record.id, who, at):
                # Another desk acknowledged first: theirs stands (and is what we send).
                who, at = await self.shared.acked(record.id) or (who, at)
            record.acked_by, record.acked_at = who, at
        await self._publish_ack(record)
        self._pulse()
        return record

    def _remote_ack(self, alarm_id: str, by: str, at: float) -> None:
        """Another receiver's operator acknowledged: show it here too."""
        record = self.state.alarm(alarm_id)
        if record is not None and record.acked_by is None:
            record.acked_by, record.acked_at = by, at
            self._pulse()

    async def _publish_ack(self, record: AlarmRecord, received: float | None = None) -> None:
        response_topic, correlation = self._correlation.get(record.id, (None, None))
        topic = response_topic or f"{self.mqtt.topic_root}/{record.gateway_id}/ack"
        body = {"id": record.id, "by": record.acked_by, "at": iso(record.acked_at or self.clock())}
        props = None
        if self.mqtt.protocol == "5" and correlation:
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = correlation
        if await self._publish(topic, body, props):
            self.acks_sent.append({"topic": topic, **body})
            del self.acks_sent[:-10_000]
            if self.metrics is not None:
                now = self.clock()
                self.metrics.acks.inc()
                if received is not None:
                    self.metrics.ack_seconds.observe(max(0.0, now - received))
                detected = record.payload.get("detected_at")
                if record.copies == 1 and isinstance(detected, str):
                    try:
                        self.metrics.alarm_age.observe(max(0.0, now - parse_iso(detected)))
                    except ValueError:
                        pass

    async def publish_command(self, gateway_id: str, name: str,
                              body: dict[str, Any] | None = None) -> str:
        """Publish `cmd/{name}` (not retained: a retained command would be replayed on
        every reconnect, so gateways ignore them). Returns the command id."""
        body = dict(body or {})
        body.setdefault("id", f"cmd-{uuid.uuid4()}")
        topic = f"{self.mqtt.topic_root}/{gateway_id}/cmd/{name}"
        props = None
        if self.mqtt.protocol == "5":
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = f"{topic}/result"
            props.CorrelationData = str(body["id"]).encode()
        if not await self._publish(topic, body, props):
            raise CentreError(f"not connected: command {name} to {gateway_id} not sent")
        return str(body["id"])

    async def send_command(self, gateway_id: str, name: str, body: dict[str, Any] | None = None,
                           timeout: float = 10.0) -> dict[str, Any]:
        """Publish `cmd/{name}` and wait for its result (matched by command id)."""
        cid = await self.publish_command(gateway_id, name, body)
        return await self.wait_until(
            lambda: next((r for r in self.state.results if r.get("id") == cid
                          and r["gateway_id"] == gateway_id), None), timeout)

    async def _publish(self, topic: str, body: dict[str, Any], props: Properties | None) -> bool:
        client = self._client
        if client is None:
            return False
        try:
            await client.publish(topic, json.dumps(body).encode(), qos=1, retain=False,
                                 properties=props, timeout=10)
            return True
        except aiomqtt.MqttError as exc:
            log.warning("could not publish to %s: %s", topic, exc)
            return False

    # ---- supervision shared through the database --------------------------------------
    async def _supervise(self, every: float = 1.0) -> None:
        """Every second: write the heartbeats seen to the shared log, and try to flag each
        gateway this receiver finds overdue; only the receiver whose conditional UPDATE
        wins reports it (so one silent gateway is one report, not one per receiver)."""
        assert self.shared is not None
        while True:
            await asyncio.sleep(every)
            now = self.clock()
            for row in self.state.gateways.values():
                if row.last_heartbeat is not None:
                    self._heartbeats_seen[row.gateway_id] = (row.last_heartbeat, row.interval)
            try:
                await self.shared.heartbeats(self._heartbeats_seen)
                self._heartbeats_seen.clear()
                for row in list(self.state.gateways.values()):
                    gid = row.gateway_id
                    if not row.overdue(now):
                        self._flagged.discard(gid)
                    elif gid not in self._flagged:
                        self._flagged.add(gid)
                        if await self.shared.flag_overdue(gid, OVERDUE_FACTOR):
                            self.overdue_flagged.append(gid)
                            log.warning("OVERDUE %s: no heartbeat for %.0f s", gid,
                                        now - (row.last_heartbeat or row.first_seen))
                            for listener in self.listeners:
                                listener(Received("overdue", gid))
            except Exception:   # the database away: try again next round
                log.exception("shared supervision failed")

    def gateway_counts(self) -> dict[str, int]:
        now = self.clock()
        rows = list(self.state.gateways.values())
        return {"online": sum(1 for r in rows if r.state == "online"),
                "offline": sum(1 for r in rows if r.state == "offline"),
                "overdue": sum(1 for r in rows if r.overdue(now))}

    # ---- waiting (tests, --once-json) -------------------------------------------------
    def _pulse(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """The first truthy value of `predicate()`, re-checked on every message and at least
        every 0.1 s (time-based flags such as overdue change without a message)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.1))
            except TimeoutError:
                pass

    async def wait_for_alarm(self, predicate: Callable[[AlarmRecord], bool] | None = None,
                             timeout: float = 10.0) -> AlarmRecord:
        return await self.wait_until(
            lambda: next((a for a in self.state.alarms if predicate is None or predicate(a)),
                         None), timeout)
