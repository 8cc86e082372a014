"""`safehome replay` as a person reads it (issue 14): progress on a terminal only, the home's
local time with its offset, and `--json` lines that are valid events with stable ids."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import jsonschema

from tests.support.cli import REPO, safehome


def test_replay_shows_progress_on_a_terminal_and_none_in_a_pipe(demo_trace: Path) -> None:
    main, sub = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "replay", str(demo_trace)],
                            stdout=subprocess.PIPE, stderr=sub, cwd=REPO, text=True)
    os.close(sub)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=120)
    os.close(main)
    assert proc.returncode == 0
    assert b"replaying demo.mcap" in seen
    piped = safehome("replay", str(demo_trace))
    assert "replaying" not in piped.stderr


def test_replay_prints_the_homes_local_time_with_its_offset(demo_trace: Path) -> None:
    out = safehome("replay", str(demo_trace))
    assert out.returncode == 0, out.stderr
    # the demo home is in Helsinki, on 2 March 2026: UTC+02:00
    assert re.search(r"2026-03-02 10:0\d:\d\d\+02:00\s+fall", out.stdout), out.stdout


def test_replay_json_events_are_valid_events(demo_trace: Path) -> None:
    schema = json.loads((REPO / "docs" / "schemas" / "event.json").read_text())
    out = safehome("replay", "--json", str(demo_trace))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(ln) for ln in out.stdout.splitlines()]
    assert any(ln["type"] == "fall" for ln in lines)
    for line in lines:
        assert line.pop("trace") == "demo.mcap"   # the one key replay adds
        jsonschema.validate(line, schema)
    again = [json.loads(ln)["id"] for ln in safehome("replay", "--json", str(demo_trace)
                                                      ).stdout.splitlines()]
    assert again == [ln["id"] for ln in lines], "replaying again gives the same ids"
