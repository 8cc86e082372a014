"""City scale on this machine: a fleet of virtual gateways on a 3-node NATS cluster
(MQTT 3.1.1 listener, JetStream R3), two redundant receivers sharing one PostgreSQL
alarm log. Prints every figure docs/scaling.md quotes.

Run from the repo root, niced (the machine is shared):
    nice -n 10 .venv/bin/python benchmarks/fleet.py [--gateways 1000] [--storm 300]

Phase 1, steady state and a node killed: N gateways connect (spread over the ramp),
raise alarms for `--steady` s; CPU and memory of the fleet process, the broker nodes and
the receivers are sampled from /proc over the steady window; the alarm round trip
(gateway commit -> centre commit -> ack back at the gateway) p50/p99 at steady state.
Then node n1 and receiver r2 are SIGKILLed: the time until every gateway is online
again, the alarms raised meanwhile delivered; n1 restarts and rejoins.

Phase 2, storm: a fresh cluster; `--storm` gateways of the fleet lose their uplink,
queue 20 events each (a quarter alarms), and return at once: time to drain, lost, and
the spread of their connect times (jitter of the reconnect backoff: no thundering herd).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401

from gateway.centre.fleet.runner import StormPlan
from tests.support.cluster_scenario import Chaos, Scenario, run_scenario
from tests.support.pg import temp_database


async def phase(sc: Scenario) -> dict:
    async for dsn in temp_database():
        return await run_scenario(sc, dsn)
    raise RuntimeError("no database")


def show(title: str, report: dict) -> None:
    f = report["fleet"]
    print(f"\n== {title}")
    print(f"gateways {f['gateways']}, alarms raised {f['alarms_raised']}, acked {f['alarms_acked']}, "
          f"lost {f['lost']}, events {f['events_raised']}, connects {f['connects']}, "
          f"failovers {f['failovers']}, duplicate acks {f['duplicate_acks']}")
    db = report["db"]
    print(f"shared log: {db['rows']} rows, {db['distinct_ids']} distinct ids, raised but not logged "
          f"{db['raised_missing_in_db']}, overdue flags {db['overdue_flags']}")
    print(f"first connect of the whole fleet done after {f['connected_after_s']} s")
    rt = report["round_trip_steady_s"]
    print(f"alarm round trip at steady state (n={rt['n']}; outage and storm-queued alarms "
          f"excluded): p50 {rt['p50']} s, p99 {rt['p99']} s, max {rt['max']} s; every alarm of "
          f"the run: p50 {f['round_trip_s']['p50']} s, p99 {f['round_trip_s']['p99']} s")
    u = report.get("usage") or {}
    if u:
        print(f"resources over the steady window ({u['span_s']} s):")
        for group in ("fleet", "broker_nodes", "receivers"):
            g = u[group]
            print(f"  {group:13s} CPU {g['cpu_core_share'] * 100:5.1f} % of a core "
                  f"({g['cpu_per_100_gw'] * 100:.2f} % per 100 gateways), RSS {g['rss_mb']:.0f} MB "
                  f"({g['rss_mb_per_100_gw']:.1f} MB per 100 gateways)")
    if "all_online_after_kill_s" in report:
        print(f"node n1 (with {report['gateways_on_killed_node']} gateways) and receiver r2 SIGKILLed: "
              f"every gateway online again after {report['all_online_after_kill_s']} s "
              f"(reconnects of the moved gateways: {report.get('reconnect_after_kill_s')}); "
              f"alarms raised after the kill {report['alarms_after_kill']['raised']}, acked "
              f"{report['alarms_after_kill']['acked']}; n1 rejoined in {report['node_rejoined_s']} s "
              f"({report['node_routes_after_rejoin']} routes)")
    if f.get("storm"):
        s = f["storm"]
        c = s["connect_s"]
        print(f"storm: {s['gateways']} gateways back at once with {s['events_each']} queued events each "
              f"({s['queued']} in all): drained in {s['drain_s']} s, still owed {s['still_owed']}; "
              f"connect times after the return min {c['min']} / p50 {c['p50']} / p90 {c['p90']} / "
              f"max {c['max']} s (stdev {c['stdev']} s); the queued alarms acknowledged "
              f"after the return: {s['queued_alarms_acked_after_return_s']}")


async def main(args: argparse.Namespace) -> None:
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    print(f"fleet benchmark: {args.gateways} gateways, alarm every {args.alarm_every} s each "
          f"({args.gateways / args.alarm_every:.1f} alarms/s), heartbeat {args.heartbeat} s. "
          "The 2-core machine is shared with other jobs: figures are upper bounds.")
    with tempfile.TemporaryDirectory(prefix="safehome-fleet-bench-") as tmp:
        results = {}
        if not args.skip_kill:
            sc = Scenario(Path(tmp) / "kill", gateways=args.gateways,
                          duration=args.steady + args.after_kill, alarm_every=args.alarm_every,
                          heartbeat=args.heartbeat, ack_timeout=10.0, drain=120.0,
                          sample_every=5.0,
                          chaos=Chaos(kill_node_at=args.steady, restart_node_after=20.0))
            t = time.monotonic()
            results["kill"] = await phase(sc)
            show(f"steady state, then a node and a receiver killed ({time.monotonic() - t:.0f} s)",
                 results["kill"])
        if args.storm:
            sc = Scenario(Path(tmp) / "storm", gateways=args.gateways, duration=75.0,
                          alarm_every=args.alarm_every, heartbeat=args.heartbeat, ack_timeout=10.0,
                          drain=120.0, chaos=Chaos(),
                          storm=StormPlan(args.storm / args.gateways, at=20.0, outage=20.0,
                                          events=20))
            t = time.monotonic()
            results["storm"] = await phase(sc)
            show(f"storm ({time.monotonic() - t:.0f} s)", results["storm"])
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gateways", type=int, default=1000)
    p.add_argument("--alarm-every", type=float, default=200.0,
                   help="seconds between alarms per gateway (1000 gw / 200 s = 5 alarms/s)")
    p.add_argument("--heartbeat", type=float, default=60.0)
    p.add_argument("--steady", type=float, default=90.0, help="seconds before the kill")
    p.add_argument("--after-kill", type=float, default=60.0)
    p.add_argument("--storm", type=int, default=300, help="gateways in the storm (0: none)")
    p.add_argument("--skip-kill", action="store_true")
    p.add_argument("--json", help="also write the raw reports to this file")
    asyncio.run(main(p.parse_args()))
