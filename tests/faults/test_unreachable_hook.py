"""Issue 9 defect 2: with the broker unreachable from the start, the local hook runs at
most max_attempts x ack_timeout + 2 s after the alarm (ack_timeout 4 s, 2 attempts: 10 s)."""

from __future__ import annotations

from pathlib import Path

from tests.faults.unreachable import ISSUE_TIMING, hook_delay_unreachable


async def test_hook_runs_within_its_bound_when_the_broker_is_unreachable_from_the_start(
        tmp_path: Path) -> None:
    bound = ISSUE_TIMING.escalation_bound
    delay = await hook_delay_unreachable(tmp_path, ISSUE_TIMING, wait=bound + 10)
    assert delay is not None, f"no hook run within {bound + 10:.0f} s of the alarm"
    print(f"hook ran {delay:.2f} s after the alarm (bound {bound:.0f} s)")
    assert delay <= bound
