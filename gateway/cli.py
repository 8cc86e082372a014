"""The `safehome` command: a thin dispatcher over one module per subcommand.

Each module in COMMANDS has `register(subparsers)`, which adds its parser and sets
`func(args) -> int`. Modules are imported when the CLI starts, so keep their top level
light: import heavy libraries (numpy plots, bleak) inside the command functions.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gateway.version import installed_version

COMMANDS = [
    "gateway.commands.run",
    "gateway.commands.config_check",
    "gateway.commands.demo",
    "gateway.commands.centre",
    "gateway.commands.bridge",
    "gateway.commands.fleet",
    "gateway.commands.evaluate",
    "gateway.commands.capture",
    "gateway.commands.decode",
    "gateway.commands.replay",
    "gateway.commands.report",
    "gateway.commands.simulate",
    "gateway.commands.record",
    "gateway.commands.trace",
    "gateway.commands.doctor",
    "gateway.commands.discover",
    "gateway.commands.console",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safehome",
        description="Safehome gateway: local detection of falls, inactivity and faults; "
                    "alarms to the alarm centre over MQTT.",
    )
    parser.add_argument("--version", action="version", version=f"safehome {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `safehome replay --json | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
