"""`safehome config check FILE`: validate a home's config and print every problem."""

from __future__ import annotations

import argparse

from gateway.commands.common import load_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check a home's config file")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    c = csub.add_parser("check", help="validate FILE; exit 2 listing every problem")
    c.add_argument("file")
    c.set_defaults(func=check)


def check(args: argparse.Namespace) -> int:
    cfg = load_or_exit(args.file)
    if isinstance(cfg, int):
        return cfg
    print(f"{args.file}: OK: gateway {cfg.gateway_id}, site {cfg.site_id}, {len(cfg.rooms)} rooms, "
          f"{len(cfg.sensors)} sensors, broker {cfg.mqtt.url}")
    return 0
