"""Helpers shared by subcommands: loading a config with installer-friendly errors, logging."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from gateway.config import ConfigError, HomeConfig, load_config


def load_or_exit(path: str | Path) -> HomeConfig | int:
    """The validated config, or exit code 2 after printing every problem to stderr."""
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.lines)} problem(s) found:", file=sys.stderr)
        for line in exc.lines:
            print(f"  - {line}", file=sys.stderr)
        return ConfigError.exit_code


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def add_log_level(parser: argparse.ArgumentParser, default: str = "INFO") -> None:
    """One `--log-level` for every command: the same choices, any letter case."""
    parser.add_argument("--log-level", default=default, type=str.upper, choices=LOG_LEVELS,
                        help=f"{', '.join(LOG_LEVELS)} (default {default})")


def duration_arg(text: str) -> float:
    """argparse type for every `--duration`: '90s', '10m', '2h', '1h30m' or plain seconds.

    A bad value ends with argparse's usage message and exit code 2, naming the option."""
    from simulator.scenario import ScenarioError, parse_duration

    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text, "duration")
        except ScenarioError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a duration like 90s, 10m, 2h, 1h30m or a number of seconds"
            ) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be more than zero")
    return seconds
