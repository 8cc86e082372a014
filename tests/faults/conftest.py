"""The fault suite's seed: printed, and taken from SAFEHOME_FAULT_SEED to replay a run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.faults.storage import can_mount_tmpfs


@pytest.fixture
def fault_seed(request: pytest.FixtureRequest) -> int:
    env = os.environ.get("SAFEHOME_FAULT_SEED")
    seed = int(env) if env else random.SystemRandom().randrange(1, 10**6)
    print(f"\n{request.node.name}: fault seed {seed} (replay: SAFEHOME_FAULT_SEED={seed})")
    return seed


@pytest.fixture
def store_mount_ok(tmp_path: Path) -> None:
    if not can_mount_tmpfs(tmp_path / "probe"):
        pytest.skip("mounting a tmpfs needs root (storage faults are made for real, not faked)")


def replay_hint(seed: int, test: str) -> str:
    return (f"fault seed {seed}; replay: SAFEHOME_FAULT_SEED={seed} "
            f"scripts/test.sh tests/faults/{test}")
