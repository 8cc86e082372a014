"""`safehome replay TRACE... [--config FILE] [--json] [--speed X]`: run the gateway's
detection pipeline over recorded or simulated traces.

As fast as the CPU allows by default. `--json` prints one JSON line per event: the event
exactly as a gateway publishes it (docs/schemas/event.json; ids are UUIDv7 that repeat
when the same trace is replayed again) plus a `trace` key naming its trace, so one call
over many traces can be split per trace again; without
it a readable summary per trace compares detections with the trace's ground truth.
A truncated or corrupt trace is replayed as far as it is readable; the place where
reading stopped is printed on stderr and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.config import HomeConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="run the detectors over trace files")
    p.add_argument("traces", nargs="+", metavar="TRACE")
    p.add_argument("--config", help="the home's TOML config (default: built from the trace)")
    p.add_argument("--json", action="store_true", help="one JSON line per event")
    p.add_argument("--speed", type=float, default=None,
                   help="replay X times faster than real time (default: as fast as possible)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sensordata.trace.reader import TraceError

    cfg: HomeConfig | None = None
    if args.config:
        from gateway.commands.common import load_or_exit
        loaded = load_or_exit(args.config)
        if isinstance(loaded, int):
            return loaded
        cfg = loaded
    if args.speed is not None and args.speed <= 0:
        print("--speed must be greater than 0", file=sys.stderr)
        return 2
    status = 0
    for path in args.traces:
        name = path.rsplit("/", 1)[-1]

        def on_event(ev: Any, name: str = name) -> None:
            if args.json:
                gw = cfg.gateway_id if cfg else "replay"
                site = cfg.site_id if cfg else "replay"
                line = {"trace": name, **ev.payload(gw, site)}
                print(json.dumps(line, ensure_ascii=False, separators=(",", ":")), flush=False)
        try:
            res = _replay_with_progress(path, cfg, args.speed, on_event, name)
        except (OSError, TraceError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 2
            continue
        if res.damage is not None:
            print(f"{name}: replayed up to the damage: {res.damage}", file=sys.stderr)
            status = max(status, 1)
        if not args.json:
            _summary(res, res.config)
    sys.stdout.flush()
    return status


def _replay_with_progress(path: str, cfg: Any, speed: float | None, on_event: Any,
                          name: str) -> Any:
    """replay() with a progress bar on a terminal: the trace's span comes from its MCAP
    summary, so the bar knows its end before reading."""
    from gateway.commands.common import progress
    from gateway.trace.replay import replay
    from sensordata.trace.reader import TraceReader

    span = TraceReader(path).span()
    first, total = (span[0], span[1] - span[0]) if span else (0.0, None)
    with progress(f"replaying {name}", total / 3600 if total else None) as update:
        return replay(path, cfg, speed=speed, on_event=on_event,
                      progress=lambda t: update((t - first) / 3600))


def _summary(res: Any, cfg: Any) -> None:
    from sensordata.trace.model import local_time

    def local(t: float) -> str:
        return local_time(t, cfg.timezone if cfg else None)

    span = (res.last - res.first) if res.first is not None and res.last is not None else 0.0
    rtf = span / res.cpu_s if res.cpu_s > 0 else float("inf")
    print(f"{res.trace}: {res.readings:,} readings over {span / 3600:.2f} h, "
          f"{len(res.events)} events, replayed {rtf:,.0f}x real time")
    counts: dict[str, int] = {}
    for ev in res.events:
        counts[ev.type] = counts.get(ev.type, 0) + 1
    if counts:
        print("  events: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for ev in res.events:
        if ev.is_alarm or ev.type in ("fall_suspected", "alarm_cancelled"):
            where = f" in {ev.room}" if ev.room else ""
            print(f"  {local(ev.occurred_at)}  {ev.type}{where}  ({ev.text.get('en', '')})")
    incidents = [lb for lb in res.labels if lb.expect]
    if incidents:
        found = 0
        print(f"  ground truth: {len(incidents)} scripted incidents")
        for lb in incidents:
            m = res.matches(lb)
            ok = all(m.values())
            found += ok
            got = ", ".join(f"{k} {'yes' if v else 'MISSED'}" for k, v in m.items())
            print(f"    {local(lb.t)}  {lb.what}{' in ' + lb.room if lb.room else ''}: {got}")
        print(f"  incidents detected: {found}/{len(incidents)}")
