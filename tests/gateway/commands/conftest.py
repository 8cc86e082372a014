"""The demo home's trace, simulated once per test module that asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import DEMO_SCENARIO, safehome


@pytest.fixture(scope="module")
def demo_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edges") / "demo.mcap"
    out = safehome("simulate", str(DEMO_SCENARIO), "-o", str(path))
    assert out.returncode == 0, out.stderr
    return path
