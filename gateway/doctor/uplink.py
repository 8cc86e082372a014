"""The uplink: can the gateway reach its broker, and does a test alarm come back acked?

Why a real round trip: a broker that accepts the connection proves little; the alarm
centre must also be subscribed, able to parse the gateway's alarms and allowed to answer
on its `ack` topic. The doctor publishes a `test_alarm` (`test: true`, so the centre
files it as a test) exactly as the uplink would, then waits for the ack with its id.

The doctor connects with the configured URL, TLS files and credentials but its own client
id and **no will**: a gateway daemon may be running at the same time, and an MQTT will
from the doctor would publish "offline" for a gateway that is online. Its `seq` repeats
the store's last seq (read-only), so the centre sees neither a gap nor a counter reset.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import ssl
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.config import HomeConfig
from gateway.doctor.checks import Check
from gateway.events import Event
from gateway.uplink import is_auth_refusal


def last_seq(db: Path) -> int:
    """The store's last event seq, read-only; 0 when there is no database yet."""
    if not db.is_file():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            row = con.execute(
                "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='last_seq'), 0),"
                " COALESCE((SELECT MAX(seq) FROM events), 0)").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return max(row) if row else 0


def test_alarm(cfg: HomeConfig) -> Event:
    """The event a test alarm would be, built by the same pipeline as every alarm."""
    from gateway.pipeline import Pipeline
    seq = last_seq(Path(cfg.storage.path).expanduser())
    pipeline = Pipeline(cfg, seq_start=max(seq - 1, 0))
    return pipeline.technical("test_alarm", time.time(), test=True)


def client_kwargs(cfg: HomeConfig, env: Mapping[str, str], timeout: float) -> dict[str, Any]:
    m = cfg.mqtt
    v5 = m.protocol == "5"
    kw: dict[str, Any] = dict(
        hostname=m.host, port=m.port,
        identifier=f"safehome-doctor-{cfg.gateway_id}-{uuid.uuid4().hex[:8]}",
        username=env.get(m.username_env) if m.username_env else None,
        password=env.get(m.password_env) if m.password_env else None,
        keepalive=m.keepalive, timeout=max(1.0, min(timeout, 15.0)),
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311)
    if not v5:
        kw["clean_session"] = True
    if m.tls:
        kw["tls_params"] = aiomqtt.TLSParameters(
            ca_certs=str(m.ca_file) if m.ca_file else None,
            certfile=str(m.cert_file) if m.cert_file else None,
            keyfile=str(m.key_file) if m.key_file else None)
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
    base = f"{m.topic_root}/{cfg.gateway_id}"
    out: list[Check] = []
    ev = test_alarm(cfg)
    try:
        kw = client_kwargs(cfg, env, timeout)
        async with aiomqtt.Client(**kw) as client:
            who = f"user {kw['username']!r}" if kw["username"] else "anonymous"
            out.append(Check.ok("uplink: broker", f"connected to {where} as {who}", broker=m.url))
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
            await client.publish(f"{base}/alarm", payload, qos=1, properties=props,
                                 timeout=timeout)
            ack = await _wait_ack(client, ev.id, timeout)
            if ack is None:
                out.append(Check.warn(
                    "uplink: test alarm", f"no acknowledgement from the centre within {timeout:g} s "
                    f"(test alarm {ev.id} was accepted by the broker)",
                    f"ask the alarm centre whether test alarms from {cfg.gateway_id} arrive; it "
                    f"must subscribe to {m.topic_root}/+/alarm and answer on {base}/ack",
                    event_id=ev.id))
            else:
                rtt = time.monotonic() - sent
                out.append(Check.ok("uplink: test alarm", f"acknowledged by {ack.get('by')!r} in "
                                    f"{rtt * 1000:.0f} ms", event_id=ev.id,
                                    round_trip_ms=round(rtt * 1000, 1)))
    except (aiomqtt.MqttError, OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
        if not out:
            out.append(Check.fail("uplink: broker", f"cannot connect to {where}: {exc or 'timeout'}",
                                  _connect_fix(cfg, exc), broker=m.url))
            out.append(Check.skip("uplink: test alarm", "not tried: no broker connection"))
        else:
            out.append(Check.fail("uplink: test alarm", f"connection lost during the test: {exc}",
                                  _connect_fix(cfg, exc), event_id=ev.id))
    return out


async def _wait_ack(client: aiomqtt.Client, event_id: str, timeout: float) -> dict | None:
    async def first() -> dict | None:
        async for message in client.messages:
            try:
                body = json.loads(message.payload)
            except (TypeError, ValueError):
                continue
            if isinstance(body, dict) and body.get("id") == event_id:
                return body
        return None
    try:
        return await asyncio.wait_for(first(), timeout)
    except asyncio.TimeoutError:
        return None
