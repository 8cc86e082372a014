"""The unacknowledged-alarm hook (gateway/hook_runner.py): a real process, told which
alarm it is for; its exit code is returned, and a hook that cannot start is only logged.
(A hook that outlives its timeout: tests/test_hook_process.py.)"""

from __future__ import annotations

import logging
import time

from gateway.events import Event, new_event_id
from gateway.hook_runner import HookRunner


def alarm() -> Event:
    now = time.time()
    return Event(new_event_id(), 1, "fall", "critical", now, now, {"en": "x"})


async def test_the_hook_is_told_the_alarm_id_and_type_and_its_exit_code_is_returned(tmp_path):
    out = tmp_path / "env.txt"
    ev = alarm()
    runner = HookRunner(["sh", "-c", f'echo "$SAFEHOME_ALARM_ID $SAFEHOME_ALARM_TYPE" > {out}; exit 3'])
    assert await runner.run(ev) == 3
    assert out.read_text().split() == [ev.id, "fall"]


async def test_a_hook_that_cannot_start_is_logged_and_nothing_else(tmp_path, caplog):
    missing = str(tmp_path / "no-such-hook")
    with caplog.at_level(logging.ERROR, logger="safehome.daemon"):
        assert await HookRunner([missing]).run(alarm()) is None
    assert f"unacknowledged-alarm hook {missing} failed" in caplog.text


async def test_the_daemon_runs_the_configured_hook_and_none_without_one(tmp_path):
    from gateway.daemon import Daemon
    from tests.gateway.test_daemon_core_loops import home

    assert Daemon(home(tmp_path)).hook is None
    cfg = home(tmp_path)
    cfg = cfg.model_copy(update={"alarm": cfg.alarm.model_copy(
        update={"unacknowledged_hook": ["/usr/local/bin/buzz", "--long"]})})
    hook = Daemon(cfg).hook
    assert hook is not None and hook.argv == ["/usr/local/bin/buzz", "--long"]
