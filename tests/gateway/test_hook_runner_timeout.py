"""The unacknowledged-alarm hook runs with a time limit: a hook that hangs is killed, with
the processes it started, and reaped (no zombie, no stray buzzer loop)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from gateway.events import Event, new_event_id
from gateway.hook_runner import HookRunner


def gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie waiting for init counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


async def test_a_hook_that_outlives_its_timeout_is_killed_with_its_children_and_reaped(
        tmp_path):
    hook_pid, child_pid = tmp_path / "hook.pid", tmp_path / "child.pid"
    argv = ["sh", "-c", f"echo $$ > {hook_pid}; sleep 300 & echo $! > {child_pid}; wait"]
    now = time.time()
    alarm = Event(new_event_id(), 1, "sos", "critical", now, now, {"en": "x"})
    assert await asyncio.wait_for(HookRunner(argv, timeout=0.5).run(alarm), timeout=10) is None
    pids = [int(hook_pid.read_text()), int(child_pid.read_text())]
    deadline = time.monotonic() + 5
    while not all(gone(p) for p in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert all(gone(p) for p in pids), "the hook and its children are killed"
    assert not Path(f"/proc/{pids[0]}").exists(), "the hook process is reaped, not a zombie"
    for p in pids:
        if not gone(p):
            os.kill(p, 9)
