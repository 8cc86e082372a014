"""Issue 9 defects 7, 8, 9: hostile payloads on `ack` and `cmd/...` (huge, deeply nested,
non-UTF-8, wrong types, response topics inside the gateway's own subtree).

Nothing may crash, stall or reconnect; the log stays bounded and keeps reporting; every
malformed command is answered with an error result and a `command_error` event; the
gateway publishes results only on `cmd/{name}/result` and never eats its own output as an
ack or a command; and the home's alarms keep flowing and being acknowledged throughout.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.faults.conftest import replay_hint
from tests.faults.corpus import corpus
from tests.faults.home import GATEWAY_ID
from tests.faults.runner import FaultRun

BASE = f"safehome/v1/{GATEWAY_ID}"
LOG_GROWTH_LIMIT = 512 * 1024      # bytes of log for the whole corpus (it carries > 30 MB)
LINE_LIMIT = 8 * 1024


async def test_hostile_payloads_crash_nothing_leak_nothing_and_are_answered(fault_seed: int,
                                                                          tmp_path: Path) -> None:
    run = FaultRun(tmp_path, fault_seed)
    problems: list[str] = []
    sent = corpus(run.rng)
    malformed = [h for h in sent if h.malformed_command]

    async def steps(r: FaultRun) -> None:
        c, d = r.centre, r.daemon
        await c.wait_until(lambda: len(c.on("alarm")) >= 1, r.script.period + 10)
        run0 = d.current
        assert run0 is not None
        log_before = run0.proc.log_path.stat().st_size
        onlines_before = len([m for m in c.on("status") if isinstance(m.body, dict)
                              and m.body.get("state") == "online"])
        t0 = time.time()
        async with aiomqtt.Client(r.broker.host, r.broker.port, identifier="hostile",
                                  protocol=aiomqtt.ProtocolVersion.V5, timeout=30) as attacker:
            for h in sent:
                props = None
                if h.response_leaf is not None:
                    props = Properties(PacketTypes.PUBLISH)
                    props.ResponseTopic = f"{BASE}/{h.response_leaf}"
                    props.CorrelationData = h.name.encode()
                await attacker.publish(f"{BASE}/{h.leaf}", h.payload, qos=1, properties=props)
            await asyncio.sleep(2.0)
            # still answering: a status command and a test alarm, both the ordinary way
            await attacker.publish(f"{BASE}/cmd/status", b'{"id": "probe-status"}', qos=1)
            await attacker.publish(f"{BASE}/cmd/test_alarm", b'{"id": "probe-test"}', qos=1)
        answered = await c.wait_until(lambda: any(
            b.get("id") == "probe-status" and b.get("ok") for b in c.bodies("result")), 15)
        if not answered:
            problems.append("no answer to cmd/status after the corpus (receive loop dead or stalled)")
        tested = await c.wait_until(lambda: any(
            b.get("ref") == "probe-test" and b.get("type") == "test_alarm" for b in c.bodies("alarm")), 15)
        if not tested:
            problems.append("no test alarm for cmd/test_alarm after the corpus")
        await asyncio.sleep(2.0)

        # the session was never torn down
        onlines = len([m for m in c.on("status") if isinstance(m.body, dict) and m.body.get("state") == "online"])
        if onlines != onlines_before or d.current is not run0 or not d.alive:
            problems.append(f"the session or process did not survive the corpus: {onlines - onlines_before} "
                            f"reconnects, process alive {d.alive}, restarts {len(d.runs) - 1}")
        log = run0.proc.output()
        growth = run0.proc.log_path.stat().st_size - log_before
        longest = max((len(line) for line in log.splitlines()), default=0)
        if growth > LOG_GROWTH_LIMIT or longest > LINE_LIMIT:
            problems.append(f"log grew {growth} bytes, longest line {longest} characters")
        for needle in ("Traceback", "uplink failed unexpectedly", "RecursionError", "lost or refused"):
            if needle in log:
                problems.append(f"log shows {needle!r} after hostile input")
        # results only on cmd/{name}/result; nothing the gateway published is an ack or a command
        late = [m for m in c.messages if m.at >= t0]
        for m in late:
            if isinstance(m.body, dict) and "ok" in m.body and not m.topic.endswith("/result"):
                problems.append(f"a command result was published on {m.topic}")
        for m in (m for m in c.messages if m.topic == f"{BASE}/alarm"):
            if not (isinstance(m.body, dict) and m.body.get("class") == "alarm"):
                problems.append(f"something that is not an alarm on the alarm topic: {str(m.body)[:80]}")
        for m in (m for m in c.messages if m.topic == f"{BASE}/status"):
            if not (isinstance(m.body, dict) and "state" in m.body):
                problems.append(f"something that is not a status on the status topic: {str(m.body)[:80]}")
        own_tests = [b for b in c.bodies("alarm") if b.get("type") == "test_alarm"
                     and b.get("ref") not in ("probe-test", "h-rt-ta-ack")]
        if own_tests:
            problems.append(f"the gateway ran its own result as a command: {[b.get('ref') for b in own_tests]}")
        # every malformed command answered (error result) and reported (command_error)
        errors = [b for b in c.bodies("result") if b.get("ok") is False]
        reported = [b for b in c.bodies("event") if b.get("type") == "command_error"]
        if len(errors) < len(malformed) or len(reported) < len(malformed):
            problems.append(f"{len(malformed)} malformed commands got {len(errors)} error results and "
                            f"{len(reported)} command_error events")
        if sum("ack" in line and ("malformed" in line or "ignored" in line)
               for line in log.splitlines()) < 2:
            problems.append("later malformed or unknown acks are no longer logged at all")

    fig = await run.run_with(steps)
    print(fig.summary())
    bad = problems + fig.violations()
    assert not bad, (f"{replay_hint(fault_seed, 'test_hostile_payloads.py')}\n" + "\n".join(bad[:30])
                     + "\n" + fig.log[-3000:])
