"""`safehome simulate SCENARIO -o TRACE [--seed N] [--days N]`: write a synthetic home's
trace (readings of every sensor plus ground truth) from a scenario file.

The same scenario and seed give the same file byte for byte; the progress bar goes to
stderr so that scripts can still read stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a home from a scenario into a trace file")
    p.add_argument("scenario", help="scenario TOML (see simulator/scenarios/)")
    p.add_argument("-o", "--output", required=True, metavar="TRACE", help="trace file to write")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--days", type=float, default=None,
                   help="simulate this many days instead of the scenario's length")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.commands.common import console as wide_console
    from simulator.engine import simulate_to
    from simulator.scenario import ScenarioError, load_scenario

    try:
        scn = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.days is not None:
        if args.days <= 0:
            print("--days must be greater than 0", file=sys.stderr)
            return 2
        scn = scn.with_days(args.days)
    console = wide_console(stderr=True)
    t0 = time.monotonic()
    tmp = args.output + ".part"
    with Progress(TextColumn("[bold]simulating[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed:.0f}/{task.total:.0f} h"), TimeRemainingColumn(),
                  console=console, disable=args.quiet or not console.is_terminal) as bar:
        task = bar.add_task(scn.name, total=scn.duration / 3600)
        counts = simulate_to(tmp, scn, args.seed,
                             progress=lambda done: bar.update(task, completed=done / 3600))
    os.replace(tmp, args.output)
    size = os.path.getsize(args.output)
    readings = sum(v for k, v in counts.items() if k != "label")
    console.print(f"{args.output}: {scn.duration / 3600:.1f} h of {scn.name}, {readings:,} "
                  f"readings, {counts.get('label', 0)} labels, {size / 1e6:.1f} MB "
                  f"in {time.monotonic() - t0:.1f} s", highlight=False)
    return 0
