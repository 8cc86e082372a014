"""Alarms per home-month in ordinary life: every real event log in ../shared and generated
CASAS months, imported and replayed through the gateway's pipeline exactly as
`safehome trace import-events` + `safehome replay` do (config built from the trace).

Why: the routine detectors must not send a nurse to a person who is fine; the target is at
most one alarm per home-month. A log shorter than a month is scaled to 30 days (said so
in the output). Generated months use seeds the rules were not developed on (100 on).

    .venv/bin/python benchmarks/home_month_alarms.py [--months N] [--shared DIR] [--quirks]

With --quirks each generated month is also written as real logs write them
(tests/support/casas_quirks.py: hh-style names with a type column, times without
fractions, repeated and late lines, light and battery levels, the bathroom PIR firing by
itself on a third of nights, and the logger down for 30 h on a day that depends on the
seed) and imported with the matching map.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.trace.eventimport import import_events  # noqa: E402
from gateway.trace.replay import replay  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"   # ../shared beside the clone
REAL = [  # (folder, file, time zone of the home)
    ("casas-cil-dev", "tm000.multiday_absence.txt.gz", "America/Los_Angeles"),
    ("casas-cil-dev", "tm000.20160207_AM_InactivitySeq.txt", "America/Los_Angeles"),
]


def measure(trace: str) -> tuple[float, Counter[str], int]:
    res = replay(trace)
    days = ((res.last or 0.0) - (res.first or 0.0)) / 86400.0
    alarms = Counter(e.type for e in res.events if e.is_alarm)
    summaries = sum(1 for e in res.events if e.type == "daily_summary")
    return days, alarms, summaries


def line(name: str, days: float, alarms: Counter[str], summaries: int) -> str:
    n = sum(alarms.values())
    per_month = n * 30.0 / days if days >= 1 else float("nan")
    scaled = "" if 29 <= days <= 31 else f" (scaled from {days:.1f} days)"
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(alarms.items())) or "none"
    return (f"{name}: {days:.1f} days, {n} alarms ({kinds}), {summaries} daily summaries, "
            f"{per_month:.2f} alarms per home-month{scaled}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--months", type=int, default=10, help="generated months")
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--shared", default=str(SHARED))
    ap.add_argument("--quirks", action="store_true", help="also each month as real logs write it")
    args = ap.parse_args()
    from tests.support import casas_quirks as q
    from tests.support.casas_month import MAP_CSV, START, TZ, generate

    total_alarms, total_days = 0, 0.0
    quirk_alarms, quirk_days = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for folder, name, tz in REAL:
            path = Path(args.shared) / folder / name
            if not path.exists():
                print(f"{name}: not on this machine, skipped")
                continue
            out = Path(tmp) / f"{name}.mcap"
            import_events([str(path)], out, timezone=tz)
            days, alarms, summaries = measure(str(out))
            print(line(name, days, alarms, summaries))
        (Path(tmp) / "map.csv").write_text(MAP_CSV)
        for seed in range(args.first_seed, args.first_seed + args.months):
            log = Path(tmp) / f"gen{seed}.txt"
            log.write_text("\n".join(generate(30, seed=seed).lines) + "\n")
            out = Path(tmp) / f"gen{seed}.mcap"
            import_events([str(log)], out, map_path=str(Path(tmp) / "map.csv"), timezone=TZ)
            days, alarms, summaries = measure(str(out))
            total_alarms += sum(alarms.values())
            total_days += days
            print(line(f"generated month seed {seed}", days, alarms, summaries))
            if args.quirks:
                days, alarms, summaries = measure(quirky(Path(tmp), seed, q, START, TZ, generate))
                quirk_alarms += sum(alarms.values())
                quirk_days += days
                print(line("  the same as real logs write it", days, alarms, summaries))
    if total_days:
        print(f"generated months: {total_alarms} alarms in {total_days:.0f} days = "
              f"{total_alarms * 30.0 / total_days:.2f} per home-month")
    if quirk_days:
        print(f"the same months as real logs write them: {quirk_alarms} alarms in "
              f"{quirk_days:.0f} days = {quirk_alarms * 30.0 / quirk_days:.2f} per home-month")
    return 0


def quirky(tmp: Path, seed: int, q: Any, start: datetime, tz: str, generate: Any) -> str:
    """A generated month written with every quirk of real logs, imported with its map."""
    lines = q.night_triggers(generate(30, seed=seed).lines, seed=seed)
    lines = q.late(q.duplicated(q.hh_names(q.with_type_column(q.without_fractions(lines))),
                                seed=seed), seed=seed)
    lines = q.with_levels(lines, seed=seed)
    down = start + timedelta(days=3 + seed % 20, hours=13)
    lines = q.logger_outage(lines, f"{down:%Y-%m-%d %H:%M}",
                            f"{down + timedelta(hours=30):%Y-%m-%d %H:%M}")
    log, mp, out = tmp / f"q{seed}.txt", tmp / "qmap.csv", tmp / f"q{seed}.mcap"
    log.write_text("\n".join(lines) + "\n")
    mp.write_text(q.HH_MAP_CSV + q.LEVELS_MAP_CSV)
    import_events([str(log)], out, map_path=str(mp), timezone=tz)
    return str(out)


if __name__ == "__main__":
    sys.exit(main())
