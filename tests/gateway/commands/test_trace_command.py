"""`safehome trace info` and `trace plot` (gateway/commands/trace.py, issue 14): info from the
summary alone, a plot start in the home's own time, and a missing extra named before any work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import REPO


def test_trace_info_answers_from_the_summary_without_reading_the_data(
        demo_trace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from gateway.cli import main
    from sensordata.trace.reader import TraceReader

    def no_reading(*a: object, **k: object) -> None:
        raise AssertionError("trace info read the data")
    monkeypatch.setattr(TraceReader, "windows", no_reading)
    assert main(["trace", "info", "--json", str(demo_trace)]) == 0
    info = json.loads(capsys.readouterr().out)
    counts = {s["sensor"] + "/" + s["kind"]: int(s["readings"]) for s in info["streams"]}
    assert counts["wearable/accel"] == 50 * 300 and counts["radar-living/radar_targets"] > 2000
    assert info["labels"] == 1


def test_trace_plot_start_takes_a_local_time_a_date_time_or_an_offset() -> None:
    from gateway.commands.trace import start_time
    first = 1772438400.0   # 2026-03-02 10:00:00+02:00
    tz = "Europe/Helsinki"
    assert start_time("10:30", first, tz) == first + 1800
    assert start_time("09:00", first, tz) == first + 23 * 3600   # the next day's 09:00
    assert start_time("2026-03-02T11:00", first, tz) == first + 3600
    assert start_time("2026-03-02T09:00:00Z", first, tz) == first + 3600
    assert start_time("90s", first, tz) == first + 90
    assert start_time("120", first, tz) == first + 120
    with pytest.raises(ValueError, match="14:30"):
        start_time("25:00", first, tz)


def test_trace_plot_without_matplotlib_says_so_before_doing_any_work(
        demo_trace: Path, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from gateway.cli import main\n"
            f"sys.exit(main(['trace', 'plot', {str(demo_trace)!r}, '-o', "
            f"{str(tmp_path / 'p.png')!r}]))")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 2
    assert "pip install 'safehome[plot]'" in out.stderr and "Traceback" not in out.stderr
    assert time.monotonic() - t0 < 20
