"""`safehome fleet`: N virtual gateways against a broker (cluster), for load, failover
and storm tests of the centre side. See gateway/centre/fleet/ and docs/scaling.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.commands.common import add_log_level


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fleet", help="simulate a fleet of gateways against a broker (cluster)",
                       description="Run N virtual gateways in one process. Each is a real MQTT "
                                   "session through the gateway's own uplink, outbox and store "
                                   "(one SQLite file per gateway), raising test alarms.")
    p.add_argument("--gateways", type=int, required=True, metavar="N")
    p.add_argument("--broker", action="append", required=True, metavar="URL",
                   help="mqtt://HOST:PORT; repeat for the nodes of a cluster")
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="3.1.1")
    p.add_argument("--duration", type=float, default=60.0, metavar="S",
                   help="seconds of raising alarms (default %(default)s)")
    p.add_argument("--alarm-every", type=float, default=30.0, metavar="S",
                   help="each gateway raises a test alarm every S seconds (default %(default)s)")
    p.add_argument("--heartbeat", type=float, default=60.0, metavar="S",
                   help="heartbeat interval, at least 10 (default %(default)s)")
    p.add_argument("--ack-timeout", type=float, default=10.0, metavar="S",
                   help="re-send an unacknowledged alarm after S seconds (default %(default)s)")
    p.add_argument("--drain", type=float, default=60.0, metavar="S",
                   help="after --duration, wait up to S seconds for outstanding acks")
    p.add_argument("--ramp", type=float, metavar="S",
                   help="spread the first connects over S seconds (default N/50, at most 30)")
    p.add_argument("--subscribe-qos", type=int, choices=(0, 1), default=0,
                   help="QoS of each gateway's ack/cmd subscriptions (mqtt.subscribe_qos; default "
                        "0, the setting docs/scaling.md gives for a NATS cluster)")
    p.add_argument("--ledger", metavar="FILE", help="one JSON line per alarm raised")
    p.add_argument("--state-dir", metavar="DIR",
                   help="where the gateways' SQLite files go (default: a temporary directory)")
    p.add_argument("--prefix", default="fleet", help="gateway id prefix (default %(default)s)")
    p.add_argument("--storm-share", type=float, default=0.0, metavar="F",
                   help="storm: share of the fleet (0..1) that drops and returns at once")
    p.add_argument("--storm-at", type=float, default=10.0, metavar="S",
                   help="storm: seconds after the start of raising")
    p.add_argument("--storm-outage", type=float, default=10.0, metavar="S")
    p.add_argument("--storm-events", type=int, default=20, metavar="K",
                   help="storm: events each dropped gateway queues while away (a quarter alarms)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_log_level(p, "ERROR")
    p.set_defaults(func=main)


def _problems(args: argparse.Namespace) -> list[str]:
    out = []
    if args.gateways < 1:
        out.append(f"--gateways {args.gateways}: give at least 1")
    if args.heartbeat < 10:
        out.append(f"--heartbeat {args.heartbeat}: at least 10 s (the gateway's own minimum)")
    if args.alarm_every <= 0 or args.duration < 0:
        out.append("--alarm-every must be > 0 and --duration >= 0")
    if not 0 <= args.storm_share <= 1:
        out.append(f"--storm-share {args.storm_share}: a share between 0 and 1")
    if args.storm_share and args.storm_at + args.storm_outage > args.duration:
        out.append("the storm must end before --duration: lower --storm-at/--storm-outage "
                   "or raise --duration")
    return out


def main(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from gateway.centre.fleet.runner import FleetOptions, StormPlan

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    problems = _problems(args)
    if problems:
        for line in problems:
            print(f"safehome fleet: {line}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="safehome-fleet-") as tmp:
        opts = FleetOptions(
            gateways=args.gateways, brokers=args.broker, protocol=args.protocol,
            state_dir=Path(args.state_dir) if args.state_dir else Path(tmp),
            duration=args.duration, alarm_every=args.alarm_every, heartbeat=args.heartbeat,
            ack_timeout=args.ack_timeout, drain=args.drain, ramp=args.ramp, prefix=args.prefix,
            subscribe_qos=args.subscribe_qos,
            storm=StormPlan(args.storm_share, args.storm_at, args.storm_outage, args.storm_events)
            if args.storm_share else None)
        try:
            opts.mqtt()
        except ValidationError as exc:
            for e in exc.errors():
                print(f"safehome fleet: --broker: {e['msg']}", file=sys.stderr)
            return 2
        with (open(args.ledger, "w", encoding="utf-8") if args.ledger
              else contextlib.nullcontext()) as ledger:
            summary = asyncio.run(_run(opts, ledger))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['gateways']} gateways: {summary['alarms_raised']} alarms raised, "
              f"{summary['alarms_acked']} acknowledged, {summary['lost']} lost; round trip "
              f"p50 {summary['round_trip_s']['p50']} s, p99 {summary['round_trip_s']['p99']} s")
    return 0 if summary["lost"] == 0 else 1


async def _run(opts: Any, ledger: Any) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gateway.centre.fleet.runner import Fleet

    fleet = Fleet(opts, ledger=ledger)
    console = Console(stderr=True)
    progress = None
    if console.is_terminal:
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[line]}"), console=console, transient=True)
        task = progress.add_task("fleet", total=opts.duration + opts.drain, line="")

        def tick(f: Fleet) -> None:
            assert progress is not None
            progress.update(task, completed=min(opts.duration + opts.drain,
                                                time.monotonic() - f.started),
                            line=f"online {f.online}/{len(f.gateways)}  raised "
                                 f"{len(f.alarms)}  acked {f.acked}")
        fleet.on_tick = tick
        progress.start()
    try:
        return await fleet.run()
    finally:
        if progress is not None:
            progress.stop()
        await fleet.close()
