"""Ending a child process for sure: a command the gateway started (a hook, a local prompt
action) runs in its own process group, and when it overruns or is no longer wanted the
whole group is killed, so nothing it started lingers, and the child is reaped."""

from __future__ import annotations

import asyncio
import os
import signal


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill `proc`'s process group (started with start_new_session=True) if it still runs,
    and wait for it: no zombie."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()
