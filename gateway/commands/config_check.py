"""`safehome config check FILE`: validate a home's config and print every problem.
`safehome config example [NAME]`: print a shipped example (home config, systemd unit, broker
ACL), so an install from the wheel has them without a clone."""

from __future__ import annotations

import argparse
import sys

from gateway.commands.common import load_or_exit
from gateway.shipped import EXAMPLES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check a home's config file")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    c = csub.add_parser("check", help="validate FILE; exit 2 listing every problem")
    c.add_argument("file")
    c.set_defaults(func=check)
    e = csub.add_parser("example", help="print a shipped example file (default: the commented "
                        "home.toml); without a known NAME, list them")
    e.add_argument("name", nargs="?", default="home.toml",
                   help="e.g. home.toml, demo-home.toml, systemd/safehome.service")
    e.set_defaults(func=example)


def shipped_examples() -> list[str]:
    """Every shipped example as a path relative to the examples directory."""
    return sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*") if p.is_file())


def example(args: argparse.Namespace) -> int:
    names = shipped_examples()
    wanted = args.name if args.name in names else f"{args.name}.toml"
    if wanted not in names:
        print(f"no shipped example {args.name!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    sys.stdout.write((EXAMPLES / wanted).read_text(encoding="utf-8"))
    return 0


def check(args: argparse.Namespace) -> int:
    cfg = load_or_exit(args.file)
    if isinstance(cfg, int):
        return cfg
    print(f"{args.file}: OK: gateway {cfg.gateway_id}, site {cfg.site_id}, {len(cfg.rooms)} rooms, "
          f"{len(cfg.sensors)} sensors, broker {cfg.mqtt.url}")
    return 0
