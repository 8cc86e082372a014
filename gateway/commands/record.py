"""`safehome record --config FILE -o TRACE [--duration D]`: record every configured
driver's readings into a trace, without detection or uplink (for sending a problem
home's data to developers). Needs `[recording] consent = true` in the config.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
import sys
from typing import TYPE_CHECKING

from gateway.commands.common import duration_arg
from gateway.task_cancel import cancel_and_wait

if TYPE_CHECKING:
    from gateway.config import HomeConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record live sensor readings to a trace file")
    p.add_argument("--config", required=True, help="the home's TOML config")
    p.add_argument("-o", "--output", required=True, metavar="TRACE")
    p.add_argument("--duration", type=duration_arg, default=None,
                   help="stop after this long, e.g. 90s, 10m, 2h (default: until Ctrl-C)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gateway.commands.common import load_or_exit
    from gateway.trace.recorder import consent_problem

    cfg = load_or_exit(args.config)
    if isinstance(cfg, int):
        return cfg
    problem = consent_problem(cfg)
    if problem:
        print(f"{args.config}: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_record(cfg, args.output, args.duration))


async def _record(cfg: HomeConfig, path: str, duration: float | None) -> int:
    from drivers import registry
    from drivers.base import SensorInfo
    from gateway.supervisor import supervise
    from gateway.trace.recorder import Recorder

    rec = Recorder(cfg, path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = []
    for s in cfg.sensors:
        cls = registry.load(s.type)
        settings = cfg.driver_settings(s)
        info = SensorInfo(s.id, s.room, s.type, s.placement)
        tasks.append(asyncio.create_task(supervise(
            functools.partial(cls, info, settings),
            lambda r: rec.write([r])), name=f"driver-{s.id}"))

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.5)
            rec.tick()
    tasks.append(asyncio.create_task(ticker()))
    try:
        await asyncio.wait_for(stop.wait(), timeout=duration)
    except TimeoutError:
        pass
    await cancel_and_wait(tasks)
    rec.close()
    print(f"{path}: {rec.readings:,} readings recorded", file=sys.stderr)
    return 0
