"""Every alarm survives broker outages and SIGKILLs at the moments that matter.

Bounded for CI: a few outages and one SIGKILL of each kind (any moment, inside a cancel
window, mid-commit, mid-drain). `benchmarks/soak.py` runs the long version (issue 9's
100 outages and 100 kills) with the same code.
"""

from __future__ import annotations

from pathlib import Path

from tests.faults.conftest import replay_hint
from tests.faults.runner import FaultRun

HERE = "test_outages_and_kills.py"


async def test_no_alarm_is_lost_reused_or_resent_through_outages_and_sigkills(fault_seed: int,
                                                                              tmp_path: Path) -> None:
    fig = await FaultRun(tmp_path, fault_seed).run(outages=2, kills=4)
    print(fig.summary())
    bad = fig.violations()
    assert not bad, (f"{replay_hint(fault_seed, HERE)}\n{fig.summary()}\n" + "\n".join(bad[:20])
                     + "\n" + fig.log[-4000:])
    assert fig.report.alarms >= 4, "the run must raise alarms to mean anything"
    assert sum(fig.kills.values()) == 4 and fig.retained_right == fig.retained_checked
