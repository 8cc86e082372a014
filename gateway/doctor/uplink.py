"""The uplink: can the gateway reach its broker, and does a test alarm come back acked?

Why a real round trip: a broker that accepts the connection proves little; the alarm
centre must also be subscribed, able to parse the gateway's alarms and allowed to answer
on its `ack` topic. The doctor publishes a `test_alarm` (`test: true`, so the centre
files it as a test) exactly as the uplink would, then waits for the ack with its id.

The doctor connects with the configured URL, TLS files and credentials but its own client
id and **no will**: a gateway daemon may be running at the same time, and an MQTT will
from the doctor would publish "offline" for a gateway that is online.

Its test alarm is a real event of the gateway: numbered with the next `seq` and committed
to the gateway's database before it is sent (acknowledged or, without an ack, expired),
so the centre sees neither a gap nor a seq used twice, and the daemon continues after
it. That needs the gateway's event counter, which a running daemon holds in memory: so
the doctor takes the daemon's instance lock (gateway/instance_lock.py) first and, while
the daemon holds it, does not publish at all and fails the item saying why. Only an
acknowledged test alarm passes: a centre that does not answer is not ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.checks.check import Check
from gateway.config import HomeConfig
from gateway.events import Event
from gateway.inbound import PayloadError
from gateway.inbound_models import Ack
from gateway.instance_lock import InstanceLock
from gateway.mqtt_tls import tls_parameters
from gateway.store import Store
from gateway.uplink import is_auth_refusal


def numbered_test_alarm(cfg: HomeConfig, last_seq: int) -> Event:
    """The test alarm, built by the same pipeline as every alarm, numbered after `last_seq`."""
    from gateway.pipeline import Pipeline
    return Pipeline(cfg, seq_start=last_seq).technical("test_alarm", time.time(), test=True)


def client_kwargs(cfg: HomeConfig, env: Mapping[str, str], timeout: float) -> dict[str, Any]:
    m = cfg.mqtt
    v5 = m.protocol == "5"
    kw: dict[str, Any] = {
        "hostname": m.host, "port": m.port,
        "identifier": f"safehome-doctor-{cfg.gateway_id}-{uuid.uuid4().hex[:8]}",
        "username": env.get(m.username_env) if m.username_env else None,
        "password": env.get(m.password_env) if m.password_env else None,
        "keepalive": m.keepalive, "timeout": max(1.0, min(timeout, 15.0)),
        "protocol": aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311}
    if not v5:
        kw["clean_session"] = True
    if m.tls:
        kw["tls_params"] = tls_parameters(m)
    return kw


def _connect_fix(cfg: HomeConfig, exc: BaseException) -> str:
    m = cfg.mqtt
    if is_auth_refusal(exc):
        names = [v for v in (m.username_env, m.password_env) if v]
        if names:
            return (f"check the credentials: set {' and '.join(names)} to the values the broker "
                    "expects (or the client certificate)")
        return ("the broker wants credentials: set mqtt.username_env/password_env in the config "
                "and export them, e.g. SAFEHOME_MQTT_PASSWORD")
    text = str(exc).lower()
    if isinstance(exc, ssl.SSLError) or "certificate" in text or "ssl" in text:
        return ("check mqtt.ca_file is the CA that signed the broker's certificate, the host "
                "name matches the certificate, and the clock is right")
    return (f"start the broker or check mqtt.url ({m.url}), the network and the firewall "
            f"(port {m.port})")


async def check_uplink(cfg: HomeConfig, timeout: float,
                       env: Mapping[str, str] | None = None) -> list[Check]:
    env = os.environ if env is None else env
    m = cfg.mqtt
    where = f"{m.host}:{m.port}" + (" (TLS)" if m.tls else "")
    out: list[Check] = []
    db = Path(cfg.storage.path).expanduser()  # noqa: ASYNC240 - no I/O: expands ~ from the environment
    with InstanceLock(db) as lock:
        try:
            kw = client_kwargs(cfg, env, timeout)
            async with aiomqtt.Client(**kw) as client:
                who = f"user {kw['username']!r}" if kw["username"] else "anonymous"
                out.append(Check.ok("uplink: broker", f"connected to {where} as {who}",
                                    broker=m.url))
                out.append(await _test_alarm(cfg, client, db, lock, timeout))
        except (TimeoutError, aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
            if not out:
                out.append(Check.fail("uplink: broker",
                                      f"cannot connect to {where}: {exc or 'timeout'}",
                                      _connect_fix(cfg, exc), broker=m.url))
                out.append(Check.skip("uplink: test alarm", "not tried: no broker connection"))
            else:
                out.append(Check.fail("uplink: test alarm", f"connection lost during the test: {exc}",
                                      _connect_fix(cfg, exc)))
    return out


async def _test_alarm(cfg: HomeConfig, client: aiomqtt.Client, db: Path, lock: InstanceLock,
                      timeout: float) -> Check:
    """Number, commit, publish and await the ack of one test alarm (see the module doc)."""
    m = cfg.mqtt
    base = f"{m.topic_root}/{cfg.gateway_id}"
    item = "uplink: test alarm"
    if lock.busy:
        return Check.fail(
            item, f"not sent: the gateway daemon is running (process {lock.holder()} holds "
            f"{lock.path}), and it alone numbers this gateway's events",
            "a test alarm beside the running daemon would reuse one of its seq numbers: stop it "
            "(sudo systemctl stop safehome) and run the doctor again, or ask the alarm centre "
            "to send cmd/test_alarm to the running gateway")
    if not lock.held:
        return Check.fail(item, f"not sent: cannot take the gateway's instance lock: {lock.error}",
                          f"run the doctor as the user the gateway runs as (it writes {db})")
    store = Store(db)
    await store.open()
    try:
        ev = numbered_test_alarm(cfg, await store.last_seq())
        if store.failed or not await store.insert(ev):
            return Check.fail(item, f"not sent: cannot commit it to {db}: {store.failed}",
                              f"run the doctor as the user the gateway runs as, and check {db} "
                              "(`safehome doctor` also reports its disk)")
        await client.subscribe(f"{base}/ack", qos=1)
        payload = json.dumps(ev.payload(cfg.gateway_id, cfg.site_id, 1), ensure_ascii=False,
                             separators=(",", ":")).encode()
        props = None
        if m.protocol == "5":
            props = Properties(PacketTypes.PUBLISH)
            props.ContentType = "application/json"
            props.ResponseTopic = f"{base}/ack"
            props.CorrelationData = ev.id.encode()
        sent = time.monotonic()
        try:
            await client.publish(f"{base}/alarm", payload, qos=1, properties=props,
                                 timeout=timeout)
            store.mark_sent(ev.id, 1, True)
            ack = await _wait_ack(client, ev.id, timeout)
        except BaseException:
            store.mark_expired(ev.id)   # the doctor stops trying; its FAIL says so
            raise
        if ack is None:
            store.mark_expired(ev.id)
            return Check.fail(
                item, f"no acknowledgement from the centre within {timeout:g} s "
                f"(test alarm {ev.id}, seq {ev.seq}, was accepted by the broker)",
                f"ask the alarm centre whether test alarms from {cfg.gateway_id} arrive; it "
                f"must subscribe to {m.topic_root}/+/alarm and answer on {base}/ack (or give "
                "the doctor a longer --timeout)", event_id=ev.id, seq=ev.seq)
        rtt = time.monotonic() - sent
        store.mark_acked(ev.id, ack.by, time.time())
        return Check.ok(item, f"acknowledged by {ack.by!r} in {rtt * 1000:.0f} ms",
                        event_id=ev.id, seq=ev.seq, round_trip_ms=round(rtt * 1000, 1))
    finally:
        await store.close()


async def _wait_ack(client: aiomqtt.Client, event_id: str, timeout: float) -> Ack | None:
    async def first() -> Ack | None:
        async for message in client.messages:
            try:   # typed like the daemon's acks: nothing unchecked reaches the store
                ack = Ack.parse(message.payload)
            except PayloadError:
                continue
            if ack.id == event_id:
                return ack
        return None
    try:
        return await asyncio.wait_for(first(), timeout)
    except TimeoutError:
        return None
