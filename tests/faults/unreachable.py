"""The centre unreachable from the start: how long until the local hook runs?

Issue 9 defect 2: with no broker at all, attempts were counted only on PUBACK, so the
escalation never came. The bound to hold: the hook runs at most
max_attempts x ack_timeout + 2 s after the alarm was created (its UUIDv7 id carries
the creation time in milliseconds, so the delay needs no log parsing).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from sensordata.readings import Button, Motion
from sensordata.trace.writer import TraceWriter
from tests.faults.daemon import SupervisedDaemon
from tests.faults.home import T0, Script, Timing, write_fault_home
from tests.faults.invariants import hook_runs
from tests.support.broker import unreachable_port

ISSUE_TIMING = Timing(cancel_window=4.0, ack_timeout=4.0, max_attempts=2)   # the issue's figures


def uuid7_time(event_id: str) -> float:
    return (uuid.UUID(event_id).int >> 80) / 1000.0


def one_sos_script(path: Path) -> Script:
    """One SOS press 1 s after start (the trace is not looped: one alarm)."""
    with TraceWriter(path) as w:
        w.write(Motion("pir-hall", T0, True))
        w.write(Button("pendant", T0 + 1.0, "sos"))
    return Script(path, 1.0, 0, 0, 1)


async def hook_delay_unreachable(workdir: Path, timing: Timing = ISSUE_TIMING,
                                 wait: float = 40.0) -> float | None:
    """Seconds from the alarm's creation to the hook's run; None if it did not run in `wait`.
    Fails if the daemon never raised the alarm (then the figure would mean nothing)."""
    workdir.mkdir(parents=True, exist_ok=True)
    script = one_sos_script(workdir / "sos.mcap")
    hooks = workdir / "hooks.log"
    nobody = f"mqtt://127.0.0.1:{unreachable_port()}"   # a port nothing listens on
    cfg = write_fault_home(workdir, nobody, script, timing, hook_log=hooks, db=workdir / "gw.db",
                           sensors=("pir-hall", "pendant"))
    cfg.write_text(cfg.read_text().replace("loop = true", "loop = false"))
    async with SupervisedDaemon(cfg) as daemon:
        daemon.start()
        await daemon.wait_ready()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not hook_runs(hooks):
            await asyncio.sleep(0.1)
        await daemon.stop()
        raised = [ln for ln in daemon.logs() if ln.text.startswith("ALARM sos")]
        assert raised, f"the SOS alarm was never raised:\n{daemon.log_text()[-3000:]}"
    runs = hook_runs(hooks)
    if not runs:
        return None
    alarm_id, at = next(iter(runs.items()))
    return at - uuid7_time(alarm_id)
