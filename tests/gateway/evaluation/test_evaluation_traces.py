"""`safehome evaluate TRACE...`: scripted incidents matched to what the pipeline raised."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.gateway.trace.test_replay import DAY, morning_of, safehome


def test_a_simulated_morning_scores_its_incidents_and_counts_false_alarms(tmp_path: Path):
    trace = tmp_path / "morning.mcap"
    assert safehome("simulate", str(morning_of(DAY, tmp_path / "m.toml")), "-o", str(trace),
                    "--seed", "3").returncode == 0
    run = safehome("evaluate", "--json", str(trace))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    s = report["summary"]
    incidents = report["traces"][0]["incidents"]
    whats = {i["what"]: i for i in incidents}
    assert s["incidents"] == len(incidents) >= 2
    assert s["detected"] == sum(i["detected"] for i in incidents)
    fall = next(i for i in incidents if "fall" in i["expect"])
    assert fall["detected"] and 0 < fall["delay_s"] < 120
    # one time convention everywhere: the home's local time with its UTC offset, no Z
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", fall["at"]), fall["at"]
    assert any("alarm_cancelled" in i["expect"] for i in incidents), whats
    assert s["false_alarms"] == len(report["traces"][0]["false_alarms"])
    assert s["days"] > 0.09 and s["false_alarms_per_day"] == s["false_alarms"] / s["days"]
    text = safehome("evaluate", str(trace))
    assert f"incidents detected: {s['detected']}/{s['incidents']}" in text.stdout


def test_a_missing_trace_is_a_clear_error(tmp_path: Path):
    run = safehome("evaluate", str(tmp_path / "nope.mcap"))
    assert run.returncode == 2 and "nope.mcap" in run.stderr
