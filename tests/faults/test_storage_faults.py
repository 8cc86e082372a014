"""Issue 9 defects 4, 5, 6: a full disk and read-only database files, with SIGKILLs during
and after, must not reuse a seq, re-send an acknowledged alarm, or kill the daemon by a
signal; every alarm still gets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import replay_hint
from tests.faults.runner import FaultRun
from tests.faults.storage import Tmpfs


@pytest.mark.usefixtures("store_mount_ok")
async def test_full_disk_and_read_only_files_lose_nothing_and_reuse_no_seq(fault_seed: int,
                                                                          tmp_path: Path) -> None:
    with Tmpfs(tmp_path / "store", "3m") as store:
        fig = await FaultRun(tmp_path, fault_seed, store=store).run(outages=0, kills=0, storage=2)
    print(fig.summary())
    bad = fig.violations()
    assert not bad, (f"{replay_hint(fault_seed, 'test_storage_faults.py')}\n{fig.summary()}\n"
                     + "\n".join(bad[:20]) + "\n" + fig.log[-4000:])
    assert fig.storage_faults == {"disk_full": 1, "read_only": 1}
