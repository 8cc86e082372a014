"""What every `safehome` command shares (gateway/cli.py, gateway/commands/common.py): output
that is not cut at 80 columns in a pipe, durations written one way, the same log levels.
From the rough edges a new user hit (issue 14), each a specification that would fail again
if the edge came back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import build_parser
from tests.support.cli import DEMO_SCENARIO, REPO, safehome


@pytest.mark.parametrize("columns", [None, "80"], ids=["no COLUMNS", "COLUMNS=80 exported"])
def test_piped_output_is_not_cut_at_80_columns(tmp_path: Path, columns: str | None) -> None:
    deep = tmp_path / ("a-directory-with-a-long-name-" * 3)
    deep.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns      # shells, CI runners and pytest-xdist export one
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "simulate", str(DEMO_SCENARIO),
                          "-o", str(deep / "demo.mcap")], capture_output=True, text=True,
                         cwd=REPO, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stderr.splitlines() if "readings" in ln)
    assert len(line) > 80 and line.startswith(str(deep)) and line.endswith(" s")


def _sub(name: str):  # type: ignore[no-untyped-def]
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


@pytest.mark.parametrize("command", ["record", "capture", "demo"])
def test_durations_are_written_the_same_way_everywhere(command: str) -> None:
    need = {"record": ["--config", "h.toml", "-o", "t.mcap"],
            "capture": ["--port", "/dev/null", "--baud", "9600", "-o", "x.bin"], "demo": []}
    parser = _sub(command)
    for text, seconds in (("90s", 90), ("10m", 600), ("2h", 7200), ("1h30m", 5400), ("45", 45)):
        assert parser.parse_args([*need[command], "--duration", text]).duration == seconds
    out = safehome(command, *need[command], "--duration", "ten minutes")
    assert out.returncode == 2 and "like 90s, 10m, 2h" in out.stderr


def test_log_level_choices_are_the_same_in_every_command() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    choices = {}
    for name, sub in action.choices.items():
        for a in sub._actions:
            if "--log-level" in a.option_strings:
                choices[name] = tuple(a.choices)
    assert len(choices) >= 2 and len(set(choices.values())) == 1, choices
    assert _sub("run").parse_args(["--config", "h", "--log-level", "debug"]).log_level == "DEBUG"
