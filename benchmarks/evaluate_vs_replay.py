"""Every shared recording scored two ways: `safehome evaluate` and import-csv + replay.

    nice -n 15 python benchmarks/evaluate_vs_replay.py [--sets sisfall,umafall,fallalld]

Why: tests/gateway/evaluation/test_evaluation_agrees_with_replay.py checks a stratified sample in CI; this runs
all recordings of ../shared/data (SisFall waist, UMAFall wrist and waist, FallAllD wrist),
prints per set how many agree and names every recording that does not. Exit code 1 when
any disagrees.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import _util

from detectors.wearable_fall import WearableFallSettings
from gateway.commands.evaluate import _factory
from gateway.evaluation import agreement, fallalld, sisfall, umafall
from gateway.evaluation.recording import Recording

DATA = _util.REPO.parent / "shared" / "data"


def recordings(name: str) -> Iterator[Recording]:
    if name == "sisfall":
        for i, p in enumerate(sisfall.files(DATA / "sisfall-dev")):
            yield sisfall.load(p, i)
    elif name.startswith("umafall"):
        placement = name.split("-")[1]
        for i, p in enumerate(umafall.files(DATA / "umafall-dev")):
            try:
                yield umafall.load(p, placement, i)
            except umafall.MissingPosition:
                continue
    elif name == "fallalld":
        for i, p in enumerate(fallalld.files(DATA / "fallalld-wrist-dev")):
            yield fallalld.load(p, i)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", default="sisfall,umafall-wrist,umafall-waist,fallalld")
    args = ap.parse_args()
    make = _factory(WearableFallSettings())
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            t0 = time.monotonic()
            n = agree = alarms_eval = alarms_replay = 0
            for rec in recordings(name):
                b = agreement.both_ways(rec, make, Path(tmp))
                n += 1
                agree += b.agree
                alarms_eval += bool(b.evaluate.alarms)
                alarms_replay += bool(b.replay.alarms)
                if not b.agree:
                    print(f"  DISAGREE {name} {b.name}: evaluate {b.evaluate.alarms} "
                          f"replay {b.replay.alarms}", flush=True)
            bad += n - agree
            print(f"{name}: {agree}/{n} recordings agree; recordings with an alarm: evaluate "
                  f"{alarms_eval}, replay {alarms_replay} ({time.monotonic() - t0:.0f} s)",
                  flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
