"""The `safehome` command: a thin dispatcher over one module per subcommand.

Each module in COMMANDS has `register(subparsers)`, which adds its parser and sets
`func(args) -> int`. Keep their top level light: import heavy libraries (numpy plots,
bleak) inside the command functions.

When the first argument names a command, only that command's module is imported (the
others are listed in the help by name only): `safehome run` is the daemon, which lives as
long as the machine, and every module it imports stays in its memory (issue 25: the other
sixteen commands and their imports were about 1.5 MB of the idle daemon's RSS). The
release in `--version` is read only when asked: importlib.metadata (and the email
package it parses metadata with) cost the daemon another 1.5 MB.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: The command name each module registers -> the module (in the order `--help` lists them).
COMMANDS = {
    "run": "gateway.commands.run",
    "config": "gateway.commands.config_check",
    "demo": "gateway.commands.demo",
    "centre": "gateway.commands.centre",
    "bridge": "gateway.commands.bridge",
    "fleet": "gateway.commands.fleet",
    "evaluate": "gateway.commands.evaluate",
    "capture": "gateway.commands.capture",
    "decode": "gateway.commands.decode",
    "replay": "gateway.commands.replay",
    "report": "gateway.commands.report",
    "simulate": "gateway.commands.simulate",
    "record": "gateway.commands.record",
    "trace": "gateway.commands.trace",
    "doctor": "gateway.commands.doctor",
    "discover": "gateway.commands.discover",
    "console": "gateway.commands.console",
}


class _Version(argparse.Action):
    """`--version`: the installed release, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default,
                         help=help or "show the installed release and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from gateway.version import installed_version

        print(f"safehome {installed_version()}")   # stdout, as argparse's own action
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI; with `only` (a command's name), just that command's module is
    imported and registered (see the module's docstring)."""
    parser = argparse.ArgumentParser(
        prog="safehome",
        description="Safehome gateway: local detection of falls, inactivity and faults; "
                    "alarms to the alarm centre over MQTT.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `safehome replay --json | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
