"""One backoff policy for everything that reconnects or restarts: drivers, the uplink.

Exponential from `min_delay`, capped at `max_delay`, with "equal jitter" (half fixed, half
random), so a district's gateways that lost their broker together do not return together,
and a driver that keeps failing does not spin. Why not a retry library (tenacity, backoff,
stamina): those wrap one call and give up after N tries; these loops run for the life of
the process and restart their count after every healthy session, which is the whole job.
"""

from __future__ import annotations

import random


def backoff_delay(failures: int, min_delay: float, max_delay: float,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait after the `failures`-th consecutive failure (1 for the first)."""
    base = min(max_delay, min_delay * 2 ** min(max(failures, 1) - 1, 30))
    return base * (rng or random).uniform(0.5, 1.0)
