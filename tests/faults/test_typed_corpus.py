"""Issue 26: every inbound field of every message the gateway reads, with every JSON type
in its place, while alarms flow and the daemon is killed with SIGKILL.

The centre sends, before its honest ack of each of the first alarms, one ack per
(field, hostile value) naming that pending alarm, so each reaches as far as the gateway
lets it; an attacker sends every spoiled command. Invariants: the event store never
fails and never refuses a write (the typed models stop everything first), every
committed alarm survives the SIGKILLs and is acknowledged (tests/faults/invariants.py),
nothing crashes, and the log stays bounded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt

from tests.faults.conftest import replay_hint
from tests.faults.home import GATEWAY_ID
from tests.faults.runner import FaultRun
from tests.faults.typed_corpus import ack, gateway_commands, generate

BASE = f"safehome/v1/{GATEWAY_ID}"
HOSTILE_ALARMS = 2
LOG_GROWTH_LIMIT = 512 * 1024


def hostile_acks(alarm_id: str) -> list[bytes]:
    return [h.payload for h in generate([ack(alarm_id)])]


async def test_hostile_fields_leave_the_store_healthy_and_every_alarm_survives_sigkill(
        fault_seed: int, tmp_path: Path) -> None:
    run = FaultRun(tmp_path, fault_seed, before_ack=hostile_acks, hostile_alarms=HOSTILE_ALARMS)
    commands = list(generate(gateway_commands("pir-hall")))
    problems: list[str] = []

    async def steps(r: FaultRun) -> None:
        c = r.centre
        if not await c.wait_until(lambda: c.hostile_sent >= HOSTILE_ALARMS * len(hostile_acks("x")),
                                  r.script.period + 30):
            problems.append(f"only {c.hostile_sent} hostile acks went out")
        async with aiomqtt.Client(r.broker.host, r.broker.port, identifier="hostile",
                                  timeout=30) as attacker:
            for h in commands:
                await attacker.publish(f"{BASE}/{h.leaf}", h.payload, qos=1)
        await asyncio.sleep(1.0)
        await r._kill_now("random")          # right after the corpus: what was committed stays
        await r._kill("mid_commit")          # and one while a burst is being committed
        await asyncio.sleep(2.0)

    fig = await run.run_with(steps)
    print(fig.summary())
    print(f"hostile acks naming a pending alarm: {run.centre.hostile_sent}; hostile commands: "
          f"{len(commands)}")
    log = fig.log
    for needle in ("event store failed", "event store refused", "Traceback", "storage_failure",
                   "writer error"):
        if needle in log:
            problems.append(f"log shows {needle!r} after hostile input")
    if len(log.encode()) > LOG_GROWTH_LIMIT * 4:
        problems.append(f"log of the whole run is {len(log.encode())} bytes")
    if "malformed ack ignored (field 'by'" not in log and "malformed ack ignored (field 'id'" not in log:
        problems.append("the hostile acks were not refused by the ack model")
    bad = problems + fig.violations()
    assert not bad, (f"{replay_hint(fault_seed, 'test_typed_corpus.py')}\n" + "\n".join(bad[:30])
                     + "\n" + fig.log[-3000:])
    assert fig.report.alarms >= 2 and sum(fig.kills.values()) == 2
