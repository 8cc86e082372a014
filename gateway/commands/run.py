"""`safehome run`: the gateway daemon."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import ValidationError

from gateway.commands.common import add_log_level, load_or_exit, setup_logging
from gateway.config import MqttConfig, StorageConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the gateway daemon")
    p.add_argument("--config", required=True, help="the home's TOML config")
    p.add_argument("--broker", action="append", metavar="URL",
                   help="override mqtt.url, e.g. mqtt://127.0.0.1:1883; repeat for several "
                        "brokers (mqtt.urls), tried in turn")
    p.add_argument("--db", help="override storage.path")
    add_log_level(p)
    p.add_argument("--record", metavar="TRACE", help="also record every reading to a trace file "
                   "(needs [recording] consent = true)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    cfg = load_or_exit(args.config)
    if isinstance(cfg, int):
        return cfg
    try:
        if args.broker:
            cfg = cfg.model_copy(update={"mqtt": MqttConfig.model_validate(
                {**cfg.mqtt.model_dump(), "urls": args.broker})})
        if args.db:
            cfg = cfg.model_copy(update={"storage": StorageConfig.model_validate(
                {**cfg.storage.model_dump(), "path": Path(args.db)})})
    except ValidationError as exc:
        for e in exc.errors():
            print(f"--broker/--db: {e['msg']}", file=sys.stderr)
        return 2
    from gateway.daemon import Daemon

    async def main() -> int:
        daemon = Daemon(cfg)
        if args.record:
            try:
                from gateway.trace.recorder import attach_recorder
            except ImportError:
                print("--record: trace recording is not available in this build", file=sys.stderr)
                return 2
            problem = attach_recorder(daemon, args.record)
            if problem:
                print(f"--record: {problem}", file=sys.stderr)
                return 2
        if cfg.console.enabled:  # the console's code is loaded only then
            from gateway.console.attach import attach_console
            attach_console(daemon)
        return await daemon.run()

    return asyncio.run(main())
