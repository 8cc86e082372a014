"""Small helpers shared by the benchmarks (run them from the repo root: python benchmarks/X.py)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def pi_note(per_second: float, unit: str) -> str:
    """This machine's core is ~4x a Pi 5 core and ~8x a Pi 4 core (see README)."""
    return f"(Pi 5 estimate {per_second / 4:,.0f} {unit}, Pi 4 estimate {per_second / 8:,.0f} {unit})"
