"""The unacknowledged-alarm hook (`[alarm] unacknowledged_hook`): a local program run when
the centre has not acknowledged an alarm after every attempt (a buzzer, an SMS modem).

Why its own module: running someone else's program from a daemon that must keep running
is a job with its own rules, which the daemon should not have to spell out. The hook runs
in its own process group with the alarm's id and type in its environment; one that
outlives its timeout is killed with everything it started, and always reaped, so a hung
hook leaves no zombie and no stray buzzer loop. Whatever the hook does, it is only logged:
the alarm path never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Sequence

from gateway.events import Event
from gateway.process_group import kill_group

log = logging.getLogger("safehome.daemon")

HOOK_TIMEOUT = 60.0


class HookRunner:
    def __init__(self, argv: Sequence[str], timeout: float = HOOK_TIMEOUT) -> None:
        self.argv = list(argv)
        self.timeout = timeout

    async def run(self, event: Event) -> int | None:
        """Run the hook for `event`; its exit code, or None when it could not start or
        was killed at its timeout."""
        env = {**os.environ, "SAFEHOME_ALARM_ID": event.id, "SAFEHOME_ALARM_TYPE": event.type}
        try:
            proc = await asyncio.create_subprocess_exec(*self.argv, env=env,
                                                        start_new_session=True)
        except OSError as exc:
            log.error("unacknowledged-alarm hook %s failed: %s", self.argv[0], exc)
            return None
        rc: int | None = None
        try:
            async with asyncio.timeout(self.timeout):
                rc = await proc.wait()
            log.info("unacknowledged-alarm hook %s exited %s", self.argv[0], rc)
        except TimeoutError:
            log.error("unacknowledged-alarm hook %s still running after %.0f s: killed",
                      self.argv[0], self.timeout)
        finally:
            await kill_group(proc)  # with everything it started; reaped: no zombie
        return rc
