"""The `safehome` command run as a user runs it: a child process in the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_SCENARIO = REPO / "simulator" / "scenarios" / "demo.toml"


def safehome(*args: str, cwd: Path = REPO, timeout: float = 120, **env: str
             ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env={**os.environ, **env})
