"""The long fault soak of issue 9: many broker outages and SIGKILLs against the real daemon.

Everything is real and the same code as tests/faults/ (which CI runs in a bounded
version): mosquitto on a free port, `safehome run` supervised like systemd (watchdog
pings over NOTIFY_SOCKET, restart on exit), an alarm centre that acknowledges every copy,
and the invariant checker over everything the centre received plus the database.

    nice -n 10 .venv/bin/python benchmarks/soak.py --outages 100 --kills 100 --seed 7

Kills rotate over four kinds of moment (any, inside a cancel window, mid-commit,
mid-drain); outages are mostly short with a share of long ones (up to --max-outage s);
with root, --storage N adds full-disk and read-only episodes on a tmpfs. At the end it
measures the hook delay with the broker unreachable from the start (--hook-runs times).
The seed is printed; the same seed replays the same schedule.

--corpus fires issue 26's hostile inputs during the run (every field of every ack and
command with every JSON type) and also prints how many went out and whether the event
store failed or refused a write (both must be 0).

Prints: alarms lost, seq reused, re-sends after ack, retained status right count,
reconnect delay after the broker's return (p50/p99/max over all outages), hook delay.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401
import aiomqtt
from _util import percentile

from tests.faults.home import GATEWAY_ID
from tests.faults.runner import FaultRun
from tests.faults.storage import Tmpfs, can_mount_tmpfs
from tests.faults.typed_corpus import ack, gateway_commands, generate
from tests.faults.unreachable import ISSUE_TIMING, hook_delay_unreachable


def outage_sampler(short_max: float, long_max: float, long_share: float):
    def length(rng: random.Random) -> float:
        if rng.random() < long_share:
            return rng.uniform(short_max, long_max)
        return rng.uniform(0.5, short_max)
    return length


DISK_FAULTS = ("disk I/O error", "disk is full", "readonly database", "unable to open",
               "cannot open", "locked")


class Corpus:
    """--corpus: issue 26's hostile inputs during the run. The centre sends one hostile
    ack per (field, JSON type) naming each pending alarm before its honest ack, and after
    every fault step an attacker sends every spoiled command (tests/faults/typed_corpus.py)."""

    def __init__(self) -> None:
        self.commands = list(generate(gateway_commands("pir-hall")))
        self.commands_sent = 0

    @staticmethod
    def acks(alarm_id: str) -> list[bytes]:
        return [h.payload for h in generate([ack(alarm_id)])]

    async def fire(self, run: FaultRun) -> None:
        try:
            async with aiomqtt.Client(run.broker.host, run.broker.port, identifier="hostile",
                                      timeout=30) as c:
                for h in self.commands:
                    await c.publish(f"safehome/v1/{GATEWAY_ID}/{h.leaf}", h.payload, qos=1)
                    self.commands_sent += 1
        except aiomqtt.MqttError:
            pass   # the broker is between outages; the next step fires again

    def figures(self, run: FaultRun, log: str) -> tuple[str, list[str]]:
        """Store failures of the disk (the --storage episodes) are expected; one for any
        other reason (a row's values, as in issue 26) is a violation."""
        failures = [ln for ln in log.splitlines() if "event store failed" in ln]
        not_disk = [ln for ln in failures if not any(d in ln for d in DISK_FAULTS)]
        refused = log.count("event store refused")
        text = (f"hostile inputs: {run.centre.hostile_sent} acks naming a pending alarm, "
                f"{self.commands_sent} commands; store failures: {len(not_disk)} not caused by "
                f"the disk ({len(failures) - len(not_disk)} by the disk faults); rows refused: {refused}")
        bad = [f"event store failed, not because of the disk: {ln[-200:]}" for ln in not_disk]
        return text, bad + ([f"event store refused {refused} writes"] if refused else [])


def make_run(work: Path, args: argparse.Namespace, corpus: Corpus | None, **kw) -> FaultRun:
    if corpus is None:
        return FaultRun(work, args.seed, **kw)
    run = FaultRun(work, args.seed, before_ack=corpus.acks, hostile_alarms=10**9, **kw)
    run.between_steps = corpus.fire
    return run


async def soak(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="safehome-soak-"))
    print(f"soak seed {args.seed} (replay: --seed {args.seed}); work dir {work}", flush=True)
    t0 = time.monotonic()
    sampler = outage_sampler(args.short_outage, args.max_outage, args.long_share)
    storage = args.storage if can_mount_tmpfs(work / "probe") else 0
    if args.storage and not storage:
        print("storage faults skipped: mounting a tmpfs needs root", flush=True)
    corpus = Corpus() if args.corpus else None
    if storage:
        with Tmpfs(work / "store", "3m") as store:
            run = make_run(work, args, corpus, store=store, verbose=args.verbose,
                           outage_length=sampler, pause_range=(0.5, 3.0))
            fig = await run.run(args.outages, args.kills, storage)
    else:
        run = make_run(work, args, corpus, verbose=args.verbose, outage_length=sampler,
                       pause_range=(0.5, 3.0))
        fig = await run.run(args.outages, args.kills)
    soak_s = time.monotonic() - t0
    delays: list[float | None] = []
    for i in range(args.hook_runs):
        delays.append(await hook_delay_unreachable(work / f"unreachable-{i}", ISSUE_TIMING,
                                                   wait=ISSUE_TIMING.escalation_bound + 20))
    ran = [d for d in delays if d is not None]
    print(f"\n=== soak: {soak_s / 60:.1f} min, seed {args.seed} ===")
    print(fig.summary())
    bound = ISSUE_TIMING.escalation_bound
    print(f"hook delay with the broker unreachable from the start (ack_timeout "
          f"{ISSUE_TIMING.ack_timeout:.0f} s, max_attempts {ISSUE_TIMING.max_attempts}, bound {bound:.0f} s): "
          + (f"p50 {percentile(ran, 50):.2f} s, max {max(ran):.2f} s over {len(ran)} runs" if ran else "never ran")
          + (f"; NO hook within {bound + 20:.0f} s in {len(delays) - len(ran)} of {len(delays)} runs"
             if len(ran) < len(delays) else ""))
    bad = fig.violations()
    if corpus is not None:
        text, corpus_bad = corpus.figures(run, fig.log)
        print(text)
        bad += corpus_bad
    if bad:
        print(f"\n{len(bad)} violations (first 40):")
        for line in bad[:40]:
            print("  " + line)
        (work / "daemon.log").write_text(fig.log)
        print(f"daemon logs: {work / 'daemon.log'}")
    return 1 if bad or len(ran) < len(delays) or any(d > bound for d in ran) else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outages", type=int, default=100)
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--storage", type=int, default=0, help="full-disk / read-only episodes (root only)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--max-outage", type=float, default=60.0, help="longest outage in seconds")
    p.add_argument("--short-outage", type=float, default=8.0, help="short outages last 0.5 s to this")
    p.add_argument("--long-share", type=float, default=0.15, help="share of outages that are long")
    p.add_argument("--hook-runs", type=int, default=3)
    p.add_argument("--corpus", action="store_true",
                   help="fire issue 26's hostile acks and commands during the run")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 10**6)
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
