"""Helpers shared by subcommands: loading a config with installer-friendly errors, logging."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from gateway.config import ConfigError, HomeConfig, load_config

if TYPE_CHECKING:
    from rich.console import Console


T = TypeVar("T")


async def until_signalled(work: Awaitable[T]) -> T | None:
    """Run `work` until it ends or SIGTERM/SIGINT asks it to stop (None then).

    Why explicit handlers: a process started from a script's background job, or by a
    supervisor, may inherit SIGINT as *ignored*; Python then installs no KeyboardInterrupt
    and asyncio no SIGINT handler, and the process would not stop. A handler set here
    works whatever was inherited, and the work's own `finally`/`async with` clean up."""
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


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


def console(stderr: bool = False) -> "Console":
    """A rich Console that does not cut or wrap lines when its stream is a file or a pipe
    (a log, `| less`, systemd's journal): rich assumes 80 columns there. An exported
    COLUMNS (shells, CI runners and pytest-xdist set one) still sets how wide tables are
    laid out, but never cuts a line."""
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else LOG_WIDTH
    return Console(stderr=stderr, width=width, soft_wrap=True)


#: Width rich lays tables out in when the output is not a terminal: wide enough for a
#: gateway id, a room and an alarm text on one line; tables take only what they need.
LOG_WIDTH = 200


@contextlib.contextmanager
def progress(description: str, total: float | None) -> Iterator[Callable[[float], None]]:
    """A transient progress bar on stderr while a long command works, only when stderr is
    a terminal (logs and pipes stay clean). Yields `update(done)`, `done` in the units of
    `total` (None: a spinner with elapsed time)."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)
