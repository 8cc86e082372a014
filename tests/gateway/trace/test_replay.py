"""`safehome simulate` + `safehome replay` report the scripted incidents, identically on
every run; `safehome trace import-csv` brings CSV recordings in, and refuses bad ones
naming the line and column."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
DAY = REPO / "simulator" / "scenarios" / "home-day.toml"


def safehome(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def morning_of(day_toml: Path, out: Path) -> Path:
    """The 24 h scenario cut to its morning (08:55-11:25) so the test runs in seconds:
    the forward fall at 09:12 (lies still) and the lateral fall at 11:05 (gets up)."""
    text = day_toml.read_text()
    text = text.replace('start = "2026-03-02T00:00:00+02:00"',
                        'start = "2026-03-02T08:55:00+02:00"')
    text = text.replace("days = 1", 'duration = "2h30m"')
    out.write_text(text)
    return out


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_simulate_then_replay_reports_the_incidents_identically(tmp_path: Path) -> None:
    scn = morning_of(DAY, tmp_path / "morning.toml")
    trace = tmp_path / "morning.mcap"
    sim = safehome("simulate", str(scn), "-o", str(trace), "--seed", "3")
    assert sim.returncode == 0, sim.stderr
    first = safehome("replay", "--json", str(trace))
    second = safehome("replay", "--json", str(trace))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout                 # byte-identical
    evs = events(first.stdout)
    assert all(e["trace"] == "morning.mcap" for e in evs)
    by_type: dict[str, list[str]] = {}
    for e in evs:
        by_type.setdefault(e["type"], []).append(e["occurred_at"])
    # 09:12 local (07:12Z) forward fall, lying still: suspected, then the alarm
    assert any(t.startswith("2026-03-02T07:12:0") for t in by_type.get("fall_suspected", []))
    assert any(t.startswith("2026-03-02T07:12:0") for t in by_type.get("fall", []))
    # 11:05 local (09:05Z) lateral fall, up again within the cancel window: cancelled
    assert any(t.startswith("2026-03-02T09:05:") for t in by_type.get("fall_suspected", []))
    assert any(t.startswith("2026-03-02T09:05:") for t in by_type.get("alarm_cancelled", []))
    assert not any(t.startswith("2026-03-02T09:05:") for t in by_type.get("fall", []))

    summary = safehome("replay", str(trace))
    assert summary.returncode == 0
    assert "incidents detected: 2/2" in summary.stdout


@pytest.mark.slow
def test_full_day_scenario_reports_every_scripted_incident(tmp_path: Path) -> None:
    trace = tmp_path / "day.mcap"
    assert safehome("simulate", str(DAY), "-o", str(trace)).returncode == 0
    out = safehome("replay", str(trace), timeout=600)
    assert out.returncode == 0, out.stderr
    m = re.search(r"incidents detected: (\d+)/(\d+)", out.stdout)
    assert m and m.group(1) == m.group(2) == "4", out.stdout


def write_csv(path: Path, seconds: float = 12.0, rate: float = 200.0, header: bool = True,
              unit_scale: float = 1.0, fall_at: float | None = 6.0) -> np.ndarray:
    """Standing still (-1 g on y), optionally a fall: impact, then lying (z up)."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    xyz = np.tile([0.0, -1.0, 0.0], (n, 1)) + np.random.default_rng(1).normal(0, 0.01, (n, 3))
    if fall_at is not None:
        after = t >= fall_at + 0.5
        xyz[after] = np.array([0.0, 0.0, 1.0]) + np.random.default_rng(2).normal(0, 0.005, (after.sum(), 3))
        hit = (t >= fall_at + 0.45) & (t < fall_at + 0.5)
        xyz[hit] = [2.0, 3.0, 1.5]
        dip = (t >= fall_at) & (t < fall_at + 0.45)
        xyz[dip] *= 0.3
    xyz = np.round(xyz * unit_scale, 4)
    lines = (["ax,ay,az"] if header else []) + [f"{x},{y},{z}" for x, y, z in xyz]
    path.write_text("\n".join(lines) + "\n")
    return xyz / unit_scale


def test_import_csv_many_files_then_replay(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        p = tmp_path / f"subject{i}.csv"
        write_csv(p, fall_at=6.0 if i < 2 else None)
        files.append(str(p))
    out_dir = tmp_path / "traces"
    imp = safehome("trace", "import-csv", *files, "-o", str(out_dir), "--kind", "accelerometer",
                   "--rate", "200", "--unit", "g", "--columns", "ax,ay,az", "--placement", "waist")
    assert imp.returncode == 0, imp.stderr
    traces = sorted(out_dir.glob("*.mcap"))
    assert [t.stem for t in traces] == ["subject0", "subject1", "subject2"]
    info = safehome("trace", "info", "--json", *map(str, traces))
    for line in info.stdout.splitlines():
        d = json.loads(line)
        (stream,) = d["streams"]
        assert stream["kind"] == "accel" and stream["placement"] == "waist"
        assert float(stream["rate_hz"]) == 200.0 and stream["samples"] == "2400"
    rep = safehome("replay", "--json", *map(str, traces))
    assert rep.returncode == 0, rep.stderr
    evs = events(rep.stdout)
    assert {e["trace"] for e in evs} <= {"subject0.mcap", "subject1.mcap", "subject2.mcap"}
    falls = {e["trace"] for e in evs if e["type"] == "fall_suspected"}
    assert falls == {"subject0.mcap", "subject1.mcap"}


def test_import_csv_values_survive_the_round_trip(tmp_path: Path) -> None:
    from sensordata.trace import TraceReader
    src = tmp_path / "mg.csv"
    xyz = write_csv(src, seconds=3, unit_scale=1000.0, fall_at=None)   # in mg
    assert safehome("trace", "import-csv", str(src), "-o", str(tmp_path), "--rate", "200",
                    "--unit", "mg", "--columns", "ax,ay,az").returncode == 0
    blocks = list(TraceReader(tmp_path / "mg.mcap").readings())
    got = np.concatenate([b.xyz for b in blocks])
    assert np.allclose(got, xyz, atol=1e-9)
    t = np.concatenate([b.t for b in blocks])
    assert np.allclose(np.diff(t), 1 / 200, atol=1e-6)


@pytest.mark.parametrize("mutate, args, expect", [
    (lambda ls: ls.__setitem__(57, "0.01,abc,0.02"), [], r"bad\.csv:58: column 'ay' \(2\)"),
    (lambda ls: ls.__setitem__(9, "0.01,0.02"), [], r"bad\.csv:10: column 'az' \(3\) is missing"),
    (None, ["--columns", "ax,ay,zz"], r"bad\.csv:1: no column named 'zz'"),
    (None, ["--unit", "m/s2"], r"bad\.csv:\d+: columns ax,ay,az: .*look like 'g'"),
])
def test_bad_csv_exits_2_naming_line_and_column(tmp_path: Path, mutate, args, expect) -> None:
    src = tmp_path / "bad.csv"
    write_csv(src, seconds=2, fall_at=None)
    if mutate is not None:
        lines = src.read_text().splitlines()
        mutate(lines)
        src.write_text("\n".join(lines) + "\n")
    base = {"--rate": "200", "--unit": "g", "--columns": "ax,ay,az"}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    flat = [x for kv in base.items() for x in kv]
    res = safehome("trace", "import-csv", str(src), "-o", str(tmp_path / "o"), *flat)
    assert res.returncode == 2
    assert re.search(expect, res.stderr), res.stderr


def test_time_column_that_disagrees_with_the_rate_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "timed.csv"
    rows = ["time,x,y,z"] + [f"{i / 100:.4f},0,-1,0" for i in range(300)]   # 100 Hz
    src.write_text("\n".join(rows) + "\n")
    res = safehome("trace", "import-csv", str(src), "-o", str(tmp_path / "o"), "--rate", "200",
                   "--time-column", "time", "--unit", "g", "--columns", "x,y,z")
    assert res.returncode == 2
    assert "timed.csv:3: column 'time'" in res.stderr   # the first interval ends on line 3 and "100.0 Hz" in res.stderr
    ok = safehome("trace", "import-csv", str(src), "-o", str(tmp_path / "o"),
                  "--time-column", "time", "--unit", "g", "--columns", "x,y,z")
    assert ok.returncode == 0, ok.stderr


HOME_TOML = """
gateway_id = "gw-rec"
site_id = "site-rec"
[[rooms]]
id = "living"
[[sensors]]
id = "sim"
type = "simulated"
room = "living"
settings = {{ scenario = "demo", speed = 10 }}
[recording]
consent = {consent}
retention_days = 7
"""


def test_record_needs_consent_then_records_live_readings(tmp_path: Path) -> None:
    from sensordata.trace import TraceReader
    cfg = tmp_path / "home.toml"
    cfg.write_text(HOME_TOML.format(consent="false"))
    refused = safehome("record", "--config", str(cfg), "-o", str(tmp_path / "r.mcap"))
    assert refused.returncode == 2 and "consent" in refused.stderr
    assert not (tmp_path / "r.mcap").exists()
    cfg.write_text(HOME_TOML.format(consent="true"))
    ok = safehome("record", "--config", str(cfg), "-o", str(tmp_path / "r.mcap"),
                  "--duration", "3s")
    assert ok.returncode == 0, ok.stderr
    reader = TraceReader(tmp_path / "r.mcap")
    kinds = {(r.sensor, r.kind) for r in reader.readings()}
    assert reader.damage is None                     # closed cleanly
    assert ("wearable", "accel") in kinds and ("radar-living", "radar_targets") in kinds
    assert reader.meta["generator"] == "safehome record"


@pytest.mark.slow
def test_replay_speed_paces_sensor_time(tmp_path: Path) -> None:
    import time
    trace = tmp_path / "demo.mcap"
    assert safehome("simulate", str(REPO / "simulator" / "scenarios" / "demo.toml"), "-o",
                    str(trace), "--quiet").returncode == 0
    t0 = time.monotonic()
    fast = safehome("replay", "--json", str(trace))
    fast_s = time.monotonic() - t0
    t0 = time.monotonic()
    paced = safehome("replay", "--json", "--speed", "100", str(trace))   # 5 min -> 3 s
    paced_s = time.monotonic() - t0
    assert paced.stdout == fast.stdout
    assert paced_s >= 2.9 and paced_s > fast_s + 1.5


def test_info_export_and_plot_a_simulated_trace(tmp_path: Path) -> None:
    import csv as csvmod
    trace = tmp_path / "demo.mcap"
    assert safehome("simulate", str(REPO / "simulator" / "scenarios" / "demo.toml"), "-o",
                    str(trace), "--quiet").returncode == 0
    info = json.loads(safehome("trace", "info", "--json", str(trace)).stdout)
    streams = {(s["sensor"], s["kind"]): s for s in info["streams"]}
    assert streams[("wearable", "accel")]["samples"] == str(5 * 60 * 50)
    assert streams[("radar-living", "radar_targets")]["room"] == "living"
    assert info["meta"]["scenario"] == "demo" and info["labels"] == 1
    out = tmp_path / "csv"
    assert safehome("trace", "export-csv", str(trace), "-o", str(out)).returncode == 0
    with open(out / "wearable__accel.csv") as fh:
        rows = list(csvmod.reader(fh))
    assert rows[0] == ["t", "x", "y", "z"] and len(rows) == 1 + 5 * 60 * 50
    png = tmp_path / "demo.png"
    res = safehome("trace", "plot", str(trace), "-o", str(png))
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "detected events" in res.stdout and " 0 detected" not in res.stdout


@pytest.mark.slow
async def test_run_record_then_replay_gives_the_live_events(tmp_path: Path, mosquitto) -> None:
    """`safehome run --record`: the daemon records what its drivers deliver while it
    detects; replaying the recording gives the same event types at the same times."""
    import asyncio
    import signal as sig

    from sensordata.trace import TraceReader
    from tests.support.gateway_proc import GatewayProcess, Listener

    sensors = "".join(f"""
[[sensors]]
id = "{sid}"
type = "simulated"
room = "living"
timeout = 60
settings = {{ scenario = "demo", speed = 3 }}
""" for sid in ("wearable", "radar-living"))
    cfg = tmp_path / "home.toml"
    cfg.write_text(f"""gateway_id = "gw-rec"
site_id = "site-rec"
[[rooms]]
id = "living"
{sensors}
[mqtt]
url = "{mosquitto.url}"
[storage]
path = "{tmp_path / 'events.db'}"
[recording]
consent = true
""")
    trace = tmp_path / "live.mcap"
    async with Listener(mosquitto.host, mosquitto.port) as listener:
        gw = GatewayProcess(cfg, "--record", str(trace)).start()
        try:
            alarms = await listener.wait_for("alarm", 1, timeout=60)   # the demo's fall
        finally:
            await asyncio.sleep(1.0)
            gw.signal(sig.SIGTERM)
            assert gw.wait(30) == 0, gw.output()
    reader = TraceReader(trace)
    assert reader.damage is None and reader.meta["generator"] == "safehome record"
    cfg_replay = safehome("replay", "--json", "--config", str(cfg), str(trace))
    replayed = events(cfg_replay.stdout)
    live = alarms[0]
    again = [e for e in replayed if e["type"] == live["type"]]
    assert again and again[0]["occurred_at"] == live["occurred_at"]


def test_bursty_time_column_is_kept_and_counted(tmp_path: Path) -> None:
    """A watch stamps 4 samples at a time and once steps back: the import keeps them and
    says so; a step back of seconds is a wrong column and is refused."""
    src = tmp_path / "watch.csv"
    times = [f"{(i // 4) * 0.08:.3f}" for i in range(400)]
    times[201] = "3.900"                                   # 100 ms before its neighbours
    src.write_text("t,x,y,z\n" + "".join(f"{t},0,-1,0\n" for t in times))
    ok = safehome("trace", "import-csv", str(src), "-o", str(tmp_path / "o"),
                  "--time-column", "t", "--unit", "g", "--columns", "x,y,z")
    assert ok.returncode == 0, ok.stderr
    assert "400 samples: 298 share the previous sample's time, 1 step back (largest 100 ms)" \
        in ok.stderr
    times[300] = "0.000"                                   # 12 s back: not a burst
    src.write_text("t,x,y,z\n" + "".join(f"{t},0,-1,0\n" for t in times))
    bad = safehome("trace", "import-csv", str(src), "-o", str(tmp_path / "o"),
                   "--time-column", "t", "--unit", "g", "--columns", "x,y,z")
    assert bad.returncode == 2 and "watch.csv:302: column 't'" in bad.stderr
    assert "goes back more than 1 s" in bad.stderr
