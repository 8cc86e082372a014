"""Replay benchmark: simulate a 24 h home, replay it through every detector, print the
real-time factor, readings per second and peak RSS.

The home (simulator/scenarios/home-day.toml): a waist wearable at 50 Hz with heart rate
at 1 Hz, TI people-tracking radars at 10 Hz in two rooms, four PIRs and two door
contacts, and the scripted incidents of the day. The replay runs in a child process so
its peak RSS is its own (streaming, not loading the trace). Target: >= 6,000x real time
on one core (a day in under 14.4 s; goal 10,000x) with RSS under 150 MB.

    python benchmarks/replay.py [--hours 24] [--trace EXISTING.mcap] [--keep OUT.mcap] [--repeat 3]
                                [--events-out E.json] [--expect-events E.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = r"""
import json, resource, sys, time
from gateway.trace.replay import replay
t0 = time.perf_counter()
res = replay(sys.argv[1])
wall = time.perf_counter() - t0
print(json.dumps({"readings": res.readings, "events": len(res.events), "cpu_s": res.cpu_s,
                  "wall_s": wall, "span_s": (res.last or 0) - (res.first or 0),
                  "types": sorted({e.type for e in res.events}),
                  "damage": str(res.damage) if res.damage else None,
                  "detectors": sorted(__import__("gateway.pipeline", fromlist=["x"]).Pipeline(
                      __import__("gateway.trace.replay", fromlist=["x"]).config_for(
                          __import__("sensordata.trace.reader", fromlist=["x"]).TraceReader(
                              sys.argv[1]))).detectors),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
if len(sys.argv) > 2:   # every event, every field: the determinism check compares these bytes
    with open(sys.argv[2], "w") as fh:
        json.dump([e.to_row() for e in res.events], fh, sort_keys=True, default=str)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--trace", help="replay this trace instead of simulating one")
    ap.add_argument("--keep", help="keep the simulated trace here")
    ap.add_argument("--repeat", type=int, default=1, help="replay N times; print the best and the median")
    ap.add_argument("--events-out", help="write every replayed event (JSON, all fields) here")
    ap.add_argument("--expect-events", help="a file --events-out wrote before (e.g. before a change): "
                    "fail unless this replay's events are identical byte for byte")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    trace = args.trace
    if trace is None:
        from simulator.engine import simulate_to
        from simulator.scenario import load_scenario
        scn = load_scenario(REPO / "simulator" / "scenarios" / "home-day.toml")
        scn = scn.with_days(args.hours / 24)
        trace = args.keep or os.path.join(tmp.name, "day.mcap")
        c0, w0 = time.process_time(), time.perf_counter()
        counts = simulate_to(trace, scn, seed=0)
        sim_cpu, sim_wall = time.process_time() - c0, time.perf_counter() - w0
        print(f"simulate: {args.hours:g} h home, {sum(v for k, v in counts.items() if k != 'label'):,} "
              f"readings in {sim_wall:.1f} s wall ({sim_cpu:.1f} s CPU); trace "
              f"{os.path.getsize(trace) / 1e6:.1f} MB")
    events = args.events_out or os.path.join(tmp.name, "events.json")
    runs = []
    for _ in range(max(1, args.repeat)):
        proc = subprocess.run([sys.executable, "-c", CHILD, trace, events], cwd=REPO,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    runs.sort(key=lambda x: x["cpu_s"])
    r = runs[0]
    rss_mb = r["maxrss_kb"] / 1024
    print(f"replay: {r['readings']:,} readings, {r['span_s'] / 3600:.2f} h of sensor time, "
          f"{r['events']} events ({', '.join(r['types'])})")
    print(f"  detectors: {', '.join(r['detectors'])}")
    print(f"  CPU {r['cpu_s']:.2f} s, wall {r['wall_s']:.2f} s"
          + (f" (best of {len(runs)}; median CPU {runs[len(runs) // 2]['cpu_s']:.2f} s = "
             f"{r['span_s'] / runs[len(runs) // 2]['cpu_s']:,.0f}x)" if len(runs) > 1 else ""))
    print(f"  real-time factor: {r['span_s'] / r['cpu_s']:,.0f}x on CPU time "
          f"({r['span_s'] / r['wall_s']:,.0f}x wall; target >= 6,000x, goal 10,000x)")
    print(f"  readings per second: {r['readings'] / r['cpu_s']:,.0f}")
    print(f"  peak RSS: {rss_mb:.0f} MB (target < 150 MB)")
    if r["damage"]:
        print(f"  damage: {r['damage']}")
    if args.expect_events:
        same = Path(args.expect_events).read_bytes() == Path(events).read_bytes()
        print(f"  events identical to {args.expect_events}: {'yes' if same else 'NO'}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
