"""What every `safehome evaluate` reader shares with the command: `--set KEY=VALUE`
overrides and the progress bar. Here, below the readers, so no reader imports the command
that imports it (the command only parses arguments and picks a reader)."""

from __future__ import annotations

import json
from typing import Any


def overrides(items: list[str]) -> dict[str, Any]:
    """`a.b=1.5` strings to a nested dict; values are JSON when they parse, else text."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def progress(total: int, enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                    disable=not enabled)
