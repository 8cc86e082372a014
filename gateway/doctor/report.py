"""Prints the checklist for people (rich, one line per item, the fix under each problem)
or as JSON for scripts and fleet tools.

Why lines rather than a table: installers read this on a laptop over SSH and paste it
into tickets; a table wrapped at 80 columns breaks every finding into pieces.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape

from gateway.checks.check import FAIL, OK, SKIP, WARN, Check, exit_code

SYMBOLS = {OK: ("✔", "green"), WARN: ("!", "yellow"), FAIL: ("✘", "red"), SKIP: ("-", "dim")}


def print_checklist(checks: list[Check], file: TextIO | None = None) -> None:
    console = Console(file=file, highlight=False, soft_wrap=True)
    for c in checks:
        sym, colour = SYMBOLS[c.status]
        console.print(f"[{colour}]{sym}[/] [bold]{escape(c.item)}[/]: {escape(c.finding)}")
        if c.fix and c.status in (WARN, FAIL):
            console.print(f"    [{colour}]fix:[/] {escape(c.fix)}")
    n = {s: sum(c.status == s for c in checks) for s in SYMBOLS}
    verdict = "[red]NOT READY[/]" if exit_code(checks) else "[green]READY[/]"
    console.print(f"\n{verdict}: {n[OK]} ok, {n[WARN]} warnings, {n[FAIL]} failed, "
                  f"{n[SKIP]} skipped")


def as_json(checks: list[Check], **extra: Any) -> str:
    body = {"ok": exit_code(checks) == 0, **extra, "checks": [c.to_json() for c in checks]}
    return json.dumps(body, ensure_ascii=False, indent=2, default=str)
