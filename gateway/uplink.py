"""The MQTT uplink to the alarm centre (aiomqtt over paho-mqtt, no paho thread).

Each connection is a fresh client with a clean session: the outbox, not paho's memory,
is the source of truth for what must still be sent, so nothing hides in a client queue
during an outage. After every connect the uplink publishes a retained `online` status,
subscribes again to `ack` and `cmd/+`, then drains the outbox (alarms first, oldest
first, at most `max_inflight` publishes awaiting PUBACK). The will is a retained
`offline`. Refused credentials stop the retries with one clear log line: hammering a
broker with bad credentials only gets the gateway banned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.backoff import backoff_delay
from gateway.brokers import Broker, BrokerRotation, check_granted
from gateway.config import HomeConfig
from gateway.events import iso
from gateway.inbound import PayloadError, RateLimitedLog, excerpt
from gateway.inbound_models import Ack
from gateway.instance_lock import InstanceLock
from gateway.mqtt_tls import tls_parameters
from gateway.outbox import Entry, Outbox
from gateway.store import Store
from gateway.task_cancel import cancel_and_wait

log = logging.getLogger("safehome.uplink")
VERSION = "0.1.0"
COMMAND_QUEUE = 32  # commands waiting for the worker; more are dropped (and logged)
AUTH_CODES = {4, 5, 134, 135, 140}  # 3.1.1: bad credentials / not authorised; 5: same


class CredentialsRefused(Exception):
    pass


def is_auth_refusal(exc: BaseException) -> bool:
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    return isinstance(exc, MqttConnectError) and value in AUTH_CODES


class Uplink:
    def __init__(self, config: HomeConfig, outbox: Outbox, store: Store, *,
                 health: Callable[[], dict[str, Any]],
                 on_ack: Callable[[str, str | None, float], None] | None = None,
                 on_command: Callable[[str, bytes, bool, Any], Awaitable[dict[str, Any] | None]] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.cfg = config
        self.m = config.mqtt
        self.outbox = outbox
        self.store = store
        self.health = health
        self.on_ack = on_ack
        self.on_command = on_command
        env = dict(os.environ) if env is None else env
        self.username = env.get(self.m.username_env) if self.m.username_env else None
        self.password = env.get(self.m.password_env) if self.m.password_env else None
        self.base = f"{self.m.topic_root}/{config.gateway_id}"
        # Claimed here, before the daemon reads the store's last seq: while this process
        # numbers the gateway's events, `safehome doctor` must not publish beside it.
        self.instance_lock = InstanceLock(config.storage.path).acquire()
        if self.instance_lock.busy:
            log.error("another safehome process (pid %s) holds %s: two processes numbering this "
                      "gateway's events would reuse seq numbers; stop the other one",
                      self.instance_lock.holder(), self.instance_lock.path)
        self.client_id = self.m.client_id or f"safehome-{config.gateway_id}-{uuid.uuid4().hex[:8]}"
        self.brokers = BrokerRotation([Broker.parse(u, tls_forced=self.m.ca_file is not None)
                                       for u in self.m.broker_urls], start_key=config.gateway_id)
        self.connected = asyncio.Event()
        self.stopping = asyncio.Event()
        self.state = "starting"
        self.started = time.monotonic()
        self.heartbeat_seq = 0
        self.connects = 0
        self.sessions_online = 0   # sessions that got as far as `online` (ends an outage)
        self._client: aiomqtt.Client | None = None
        self._offline_since: float | None = None
        self._acked_recently: dict[str, float] = {}
        # Bad acks are counted per kind and logged at most once a minute per kind, cut to
        # 200 characters: a flood of hostile acks can neither fill the log nor the memory.
        self._problems = RateLimitedLog(interval=60.0)
        self.latencies: list[float] = []  # seconds from detected_at to PUBACK (benchmarks)

    # -- topics and payloads ------------------------------------------------------------
    def topic(self, leaf: str) -> str:
        return f"{self.base}/{leaf}"

    def _status(self, state: str, reason: str | None = None) -> bytes:
        body = {"state": state, "gateway_id": self.cfg.gateway_id, "site_id": self.cfg.site_id,
                "since": iso(time.time()), "version": VERSION}
        if reason:
            body["reason"] = reason
        return json.dumps(body).encode()

    def _client_kwargs(self) -> dict[str, Any]:
        v5 = self.m.protocol == "5"
        broker = self.brokers.current
        kw: dict[str, Any] = {
            "hostname": broker.host, "port": broker.port, "identifier": self.client_id,
            "username": self.username, "password": self.password, "keepalive": self.m.keepalive,
            "protocol": aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            "will": aiomqtt.Will(self.topic("status"), self._status("offline", "connection lost"),
                              qos=1, retain=True),
            "timeout": 15, "max_inflight_messages": self.m.max_inflight,
        }
        if v5:
            kw["clean_start"] = True
        else:
            kw["clean_session"] = True
        if broker.tls:
            kw["tls_params"] = tls_parameters(self.m)
        return kw

    # -- the connection loop ------------------------------------------------------------
    async def run(self) -> None:
        """Connect, serve the session, and after a loss reconnect with backoff.

        `failures` counts the failed attempts of the current outage only: a session that
        got as far as `online` ends the outage, so the next one starts again at
        `reconnect_min` (a gateway must come back as fast after its tenth outage as after
        its first). One WARNING when an outage starts, one INFO when it ends."""
        failures = 0
        while not self.stopping.is_set():
            online_before = self.sessions_online
            delay = 0.1
            try:
                await self._session()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a gateway keeps trying, whatever broke
                if is_auth_refusal(exc):
                    self.state = "credentials_refused"
                    log.critical("broker %s refused the credentials (%s); not retrying. Fix the "
                                 "username/password or client certificate and restart the gateway.",
                                 self.brokers.current, exc)
                    return
                if self.sessions_online > online_before:
                    failures = 0  # that session came online: this is a new outage
                failures += 1
                self.state = "disconnected"
                failed_broker = self.brokers.current
                self.brokers.failed()  # the next attempt goes to the next broker (if several)
                delay = self._backoff(failures)
                self._log_failure(exc, failures, delay, failed_broker)
            finally:
                self.connected.clear()
                self._client = None
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
        self.state = "stopped"
        # Stopped by the daemon's shutdown: it numbers no more events. (A return on refused
        # credentials keeps the lock: the daemon goes on numbering and escalating.)
        self.instance_lock.release()

    def _backoff(self, failures: int) -> float:
        """Exponential from reconnect_min to reconnect_max, with jitter: a city of
        gateways must not reconnect in step when its broker comes back."""
        return backoff_delay(failures, self.m.reconnect_min, self.m.reconnect_max)

    def _log_failure(self, exc: BaseException, failures: int, delay: float, broker: Broker) -> None:
        if failures == 1:
            self._offline_since = time.monotonic()
        if not isinstance(exc, (aiomqtt.MqttError, OSError)):
            log.exception("uplink failed unexpectedly; retry in %.1f s", delay)
            return
        # One warning per outage; the retries themselves only at debug level.
        (log.warning if failures == 1 else log.debug)(
            "uplink to %s lost or refused (%s); retry in %.1f s", broker, exc, delay)

    async def _session(self) -> None:
        async with aiomqtt.Client(**self._client_kwargs()) as client:
            client.pending_calls_threshold = self.m.max_inflight + 8
            self._client = client
            self.connects += 1
            if self.m.protocol == "5":
                # retainAsPublished: a retained command keeps its flag even when it arrives
                # live, so it is recognised and ignored (retained state is never a command).
                opts = SubscribeOptions(qos=self.m.subscribe_qos, retainAsPublished=True)
                granted = await client.subscribe([(self.topic("ack"), opts), (self.topic("cmd/+"), opts)])
            else:
                qos = int(self.m.subscribe_qos)
                granted = await client.subscribe([(self.topic("ack"), qos), (self.topic("cmd/+"), qos)])
            check_granted(granted, f"{self.topic('ack')} and cmd/+")
            await client.publish(self.topic("status"), self._status("online"), qos=1, retain=True)
            self.state = "connected"
            self.connected.set()
            failover = self.brokers.connected()
            self.sessions_online += 1
            if self._offline_since is not None:
                log.info("uplink reconnected to %s after %.1f s offline", self.brokers.current,
                         time.monotonic() - self._offline_since)
                self._offline_since = None
            else:
                log.info("uplink connected to %s as %s", self.brokers.current, self.client_id)
            commands: asyncio.Queue[Any] = asyncio.Queue(maxsize=COMMAND_QUEUE)
            jobs = [("uplink-drain", self._drain(client)), ("uplink-heartbeat", self._heartbeats(client)),
                    ("uplink-receive", self._receive(client, commands)),
                    ("uplink-commands", self._run_commands(commands)),
                    ("uplink-stop", self.stopping.wait())]
            if failover:
                jobs.append(("uplink-status-again", self._status_after_failover(client)))
            tasks = [asyncio.create_task(c, name=n) for n, c in jobs]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_and_wait(tasks)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
            # A clean stop: say so, then disconnect (the will is not sent on a clean disconnect).
            await client.publish(self.topic("status"), self._status("offline", "shutdown"),
                                 qos=1, retain=True, timeout=5)

    async def _status_after_failover(self, client: aiomqtt.Client) -> None:
        """After moving to another broker, say `online` once more when the old broker has
        surely given up on the old connection (1.5 keepalives): if that broker is still up
        (the link, not the node, failed) it publishes our will late and its retained
        `offline` would otherwise stand while we are online."""
        await asyncio.sleep(1.5 * self.m.keepalive + 1)
        await client.publish(self.topic("status"), self._status("online"), qos=1, retain=True,
                             timeout=20)
        await asyncio.Event().wait()   # done; stay pending so the session does not end

    # -- sending ---------------------------------------------------------------------------
    async def _drain(self, client: aiomqtt.Client) -> None:
        """Send what is due, at most `max_inflight` at once. The publishes in flight
        belong to this drain: when it ends (session lost, stop, cancelled) they are
        cancelled and awaited, so each has told the outbox (`failed`: due again at once)
        before the next session starts, and none lingers on a dead connection."""
        inflight: set[asyncio.Task[None]] = set()
        try:
            while True:
                for entry in self.outbox.expired():
                    log.error("alarm %s expired unacknowledged after %d attempts", entry.event.id,
                              entry.attempts)
                    self.store.mark_expired(entry.event.id)
                room = self.m.max_inflight - len(inflight)
                for entry in self.outbox.due(limit=room) if room > 0 else []:
                    entry.in_flight = True
                    inflight.add(asyncio.create_task(self._publish(client, entry),
                                                     name=f"uplink-publish-{entry.event.id}"))
                self.outbox.changed.clear()
                changed = asyncio.create_task(self.outbox.changed.wait())
                timeout = self.outbox.next_due_in()
                try:
                    done, _ = await asyncio.wait(
                        [*inflight, changed], return_when=asyncio.FIRST_COMPLETED,
                        timeout=None if timeout is None else max(timeout, 0.01))
                finally:
                    changed.cancel()
                for t in done & inflight:
                    inflight.discard(t)
                    exc = t.exception()
                    if exc is not None:
                        raise exc
        finally:
            await cancel_and_wait(inflight)

    async def _publish(self, client: aiomqtt.Client, entry: Entry) -> None:
        ev = entry.event
        # backslashreplace: a lone surrogate in some text becomes its JSON escape (`\ud800`)
        # instead of an error that would fail this publish, and every later drain, for good.
        payload = json.dumps(ev.payload(self.cfg.gateway_id, self.cfg.site_id, entry.attempts + 1),
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")
        props = None
        if self.m.protocol == "5":
            props = Properties(PacketTypes.PUBLISH)
            props.ContentType = "application/json"
            if ev.is_alarm:
                props.ResponseTopic = self.topic("ack")
                props.CorrelationData = ev.id.encode()
        try:
            await client.publish(self.topic("alarm" if ev.is_alarm else "event"), payload, qos=1,
                                 retain=False, properties=props, timeout=20)
        except BaseException:
            self.outbox.failed(ev.id)
            raise
        done = self.outbox.published(ev.id)
        if done is None:
            return  # acknowledged by the centre while the PUBACK was on its way
        if done.attempts == 1:
            self.latencies.append(time.time() - ev.detected_at)
        self.store.mark_sent(ev.id, done.attempts, ev.is_alarm)
        # Escalation is not counted here: gateway/escalation.py times it from the alarm's
        # creation, so it also fires when no copy ever reaches the broker.

    def heartbeat_body(self) -> dict[str, Any]:
        """The next heartbeat, numbered in the heartbeats' own sequence (also sent on request)."""
        self.heartbeat_seq += 1
        return {"schema": 1, "gateway_id": self.cfg.gateway_id, "site_id": self.cfg.site_id,
                "seq": self.heartbeat_seq, "at": iso(time.time()),
                "interval": self.m.heartbeat_interval,
                "uptime": round(time.monotonic() - self.started, 1),
                "pending": self.outbox.pending, "unacknowledged": self.outbox.unacknowledged,
                **self.health()}

    async def _heartbeats(self, client: aiomqtt.Client) -> None:
        while True:
            await client.publish(self.topic("heartbeat"), json.dumps(self.heartbeat_body()).encode(),
                                 qos=1, timeout=20)
            await asyncio.sleep(self.m.heartbeat_interval)

    async def publish_json(self, leaf: str, body: dict[str, Any], *, retain: bool = False,
                           correlation: bytes | None = None) -> bool:
        """Publish an answer or status now if connected; False when offline. `correlation`
        is echoed as MQTT 5 correlation data so a requester can pair the answer."""
        client = self._client
        if client is None:
            return False
        props = None
        if self.m.protocol == "5":
            props = Properties(PacketTypes.PUBLISH)
            props.ContentType = "application/json"
            if correlation is not None:
                props.CorrelationData = correlation
        await client.publish(self.topic(leaf), json.dumps(body, ensure_ascii=False).encode(), qos=1,
                             retain=retain, properties=props, timeout=20)
        return True

    # -- receiving ------------------------------------------------------------------------
    async def _receive(self, client: aiomqtt.Client, commands: asyncio.Queue[Any]) -> None:
        """Acks are handled here at once; commands go to their own worker (bounded queue),
        so a command waiting on a commit or a PUBACK never holds up an ack."""
        ack_topic = self.topic("ack")
        async for msg in client.messages:
            topic = str(msg.topic)
            if topic == ack_topic:
                try:
                    self._handle_ack(msg.payload)
                except Exception:  # noqa: BLE001 - one bad ack must not end the session
                    self._problems("ack_error", log.exception, "ack %s could not be handled",
                                   excerpt(msg.payload))
            elif topic.startswith(self.topic("cmd/")) and self.on_command is not None:
                name = topic[len(self.topic("cmd/")):]
                try:
                    commands.put_nowait((name, bytes(msg.payload or b""), bool(msg.retain),
                                         msg.properties))
                except asyncio.QueueFull:
                    self._problems("command_overflow", log.warning,
                                   "command %s dropped: %d commands already waiting", name[:80],
                                   commands.qsize())

    async def _run_commands(self, commands: asyncio.Queue[Any]) -> None:
        """One command at a time, in arrival order (a duplicate id must see the first's
        result); a failing command is logged and the next one runs."""
        while True:
            name, payload, retained, props = await commands.get()
            if self.on_command is None:
                continue
            try:
                await self.on_command(name, payload, retained, props)
            except Exception:
                log.exception("command %s failed", name[:80])

    def _handle_ack(self, raw: Any) -> None:
        # Validated into a typed model first (gateway/inbound_models.py): a field of the
        # wrong type is refused here, logged rate-limited, and never reaches the store.
        try:
            ack = Ack.parse(raw)
        except PayloadError as exc:
            self._problems("malformed", log.warning, "malformed ack ignored (%s): %s", exc,
                           excerpt(raw))
            return
        event_id = ack.id
        at = time.time() if ack.at is None else ack.at
        entry = self.outbox.acknowledged(event_id)
        if entry is None:
            kind = "duplicate" if event_id in self._acked_recently else "unknown"
            self._problems(kind, log.warning, "%s ack for %s ignored", kind, event_id)
            return
        self._acked_recently[event_id] = time.monotonic()
        if len(self._acked_recently) > 10000:
            self._acked_recently.pop(next(iter(self._acked_recently)))
        self.store.mark_acked(event_id, ack.by, at)
        log.info("alarm %s acknowledged by %s after %d attempt(s)", event_id, ack.by,
                 entry.attempts)
        if self.on_ack:
            self.on_ack(event_id, ack.by, at)

    async def stop(self) -> None:
        self.stopping.set()
