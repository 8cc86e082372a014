"""Hostile acks and commands: refused cheaply, logged briefly, and the session lives on.

Anyone who can publish on `ack` or `cmd/+` (a broken centre, a leaked centre credential)
must not be able to tear the uplink down, fill the log or the gateway's memory. The real
daemon against a real mosquitto gets deeply nested JSON, a 10 MB ack and a flood of acks
for unknown ids; then an ordinary ack must still work on the same session.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import uuid

import aiomqtt

from gateway.inbound import (
    PayloadError,
    RateLimitedLog,
    excerpt,
    nesting_depth,
    parse_object,
)
from tests.support.gateway_proc import GatewayProcess, Listener, write_config

BASE = "safehome/v1/gw-test-01"
DEEP = b"[" * 100_000
DEEP_BUT_SMALL = b'{"id": "c-deep", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_ACK = b'{"id": "' + b"x" * 10_000_000 + b'"}'


async def test_hostile_acks_and_commands_leave_the_session_up(mosquitto, tmp_path):
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1",
                       extra="[alarm]\nack_timeout = 30\n")
    gw = GatewayProcess(cfg).start()
    try:
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            alarm = (await centre.wait_for("alarm", 1, timeout=20))[0]
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as c:
                for payload in (DEEP, DEEP_BUT_SMALL, HUGE_ACK, b"not json", b'{"id": 17}'):
                    await c.publish(f"{BASE}/ack", payload, qos=1)
                for _ in range(50):
                    await c.publish(f"{BASE}/ack", json.dumps({"id": str(uuid.uuid4())}), qos=1)
                await c.publish(f"{BASE}/cmd/test_alarm", DEEP, qos=1)
                await c.publish(f"{BASE}/cmd/test_alarm", DEEP_BUT_SMALL, qos=1)
                results = await centre.wait_for("cmd/test_alarm/result", 2, timeout=15)
                # The same session still takes an ordinary ack and an ordinary command.
                await c.publish(f"{BASE}/ack", json.dumps({"id": alarm["id"], "by": "op-1"}), qos=1)
                await c.publish(f"{BASE}/cmd/test_alarm", json.dumps({"id": "c-ok"}), qos=1)
                results = await centre.wait_for("cmd/test_alarm/result", 3, timeout=15)
                errors = [e for e in await centre.wait_for("event", 1, timeout=10)
                          if e["type"] == "command_error"]
                for _ in range(100):
                    errors = [e for e in centre.on("event") if e["type"] == "command_error"]
                    if len(errors) >= 2:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0
    assert [r["ok"] for r in results[:2]] == [False, False]
    assert "larger than" in results[0]["error"] and "levels deep" in results[1]["error"]
    assert results[2]["ok"] is True and results[2]["id"] == "c-ok"
    assert len(errors) >= 2, "each hostile command also raises command_error"
    with sqlite3.connect(tmp_path / "gw-test-01.db") as db:
        state = db.execute("SELECT state FROM events WHERE id = ?", (alarm["id"],)).fetchone()[0]
    assert state == "acknowledged"
    out = gw.output()
    assert "uplink failed unexpectedly" not in out and "Traceback" not in out
    assert "reconnected" not in out, "the session was never torn down"
    assert max(len(line) for line in out.splitlines()) < 1000, "payloads are cut in the log"
    assert out.count("unknown ack for") == 1, "one line per kind of problem, not one per id"
    assert out.count("malformed ack") == 1


def test_limits_are_checked_before_parsing():
    assert nesting_depth(b'{"a": "[[[[", "b": [[1]]}') == 3, "brackets inside strings do not count"
    assert nesting_depth(b'{"a": "\\"[[[["}') == 1
    for payload, problem in ((DEEP, "larger than"), (DEEP_BUT_SMALL, "levels deep"),
                             (b"\xff\xfe", "not valid JSON"), (b"[1]", "JSON object")):
        try:
            parse_object(payload)
        except PayloadError as exc:
            assert problem in str(exc)
        else:
            raise AssertionError(f"{payload[:20]!r} was accepted")
    assert parse_object(b'{"id": "a", "at": {"x": [1]}}') == {"id": "a", "at": {"x": [1]}}


def test_log_excerpts_are_short_and_say_the_size():
    text = excerpt(HUGE_ACK)
    assert len(text) < 260 and "10000010 bytes" in text
    assert excerpt(b"not json") == "b'not json'"


def test_each_kind_of_problem_is_logged_once_per_interval_and_counted():
    now = [0.0]
    lines: list[str] = []
    limited = RateLimitedLog(interval=60, clock=lambda: now[0])
    for i in range(5):
        limited("unknown", lambda m, *a: lines.append(m % a), "unknown ack for %s", f"id-{i}")
        limited("malformed", lambda m, *a: lines.append(m % a), "malformed ack %d", i)
    assert lines == ["unknown ack for id-0", "malformed ack 0"]
    now[0] = 61
    limited("unknown", lambda m, *a: lines.append(m % a), "unknown ack for %s", "id-9")
    assert lines[-1] == "unknown ack for id-9 (4 more like it suppressed in the last 60 s)"
    assert limited.counts == {"unknown": 6, "malformed": 5}
