"""The rough edges a new user hit (issue 14), each as a specification that would fail again
if the edge came back."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jsonschema
import pytest

from gateway.catalogue import render
from gateway.centre.receiver import Centre, CentreState
from gateway.cli import build_parser
from gateway.events import Event, new_event_id

REPO = Path(__file__).resolve().parents[1]
ROOT = "safehome/v1"
T0 = 1_790_000_000.0
DEMO_SCENARIO = REPO / "simulator" / "scenarios" / "demo.toml"


def safehome(*args: str, cwd: Path = REPO, timeout: float = 120, **env: str
             ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env={**os.environ, **env})


@pytest.fixture(scope="module")
def demo_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edges") / "demo.mcap"
    out = safehome("simulate", str(DEMO_SCENARIO), "-o", str(path))
    assert out.returncode == 0, out.stderr
    return path


# --- output cut at 80 columns --------------------------------------------------------------

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


# --- progress on long commands ---------------------------------------------------------------

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


# --- one time convention: the home's local time with its offset --------------------------------

def test_replay_prints_the_homes_local_time_with_its_offset(demo_trace: Path) -> None:
    out = safehome("replay", str(demo_trace))
    assert out.returncode == 0, out.stderr
    # the demo home is in Helsinki, on 2 March 2026: UTC+02:00
    assert re.search(r"2026-03-02 10:0\d:\d\d\+02:00\s+fall", out.stdout), out.stdout


def test_the_truncated_trace_warning_prints_local_time_not_an_epoch() -> None:
    from sensordata.trace.model import TraceDamage
    text = str(TraceDamage("x.mcap", 100, "file ends mid-record (truncated)",
                           1772438400.5, "Europe/Helsinki"))
    assert "readings up to 2026-03-02 10:00:00+02:00" in text
    assert "1772438400" not in text


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


def test_trace_plot_labels_do_not_overprint() -> None:
    from gateway.trace.plot import LABEL_GAP, label_rows
    marks = [(100.0 + i, "fall_suspected") for i in range(5)] + [
        (103.0, "inactivity"), (104.0, "fall"), (50_000.0, "daily_summary")]
    placed = label_rows(marks, 0.0, 86_400.0)
    assert ("fall_suspected x5" in [text for _, text, _ in placed])
    for a in placed:
        for b in placed:
            if a is not b and a[2] == b[2]:
                assert abs(a[0] - b[0]) / 86_400.0 >= LABEL_GAP, (a, b)


def test_roc_labels_do_not_overprint() -> None:
    from gateway.evaluation.plots import roc_labels
    thresholds = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    fpr = [0.30, 0.10, 0.0101, 0.0100, 0.0100, 0.0]
    tpr = [1.00, 1.00, 0.99, 0.99, 0.985, 0.90]
    labels = roc_labels(thresholds, fpr, tpr, (-0.002, 0.39), (0.8, 1.01))
    assert [text for _, _, text in labels] == ["0.5", "1", "1.5-2.5", "3"]


# --- missing extras: a clear message before the work ---------------------------------------------

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


# --- uniform options --------------------------------------------------------------------------------

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


# --- README and docs -------------------------------------------------------------------------------

def test_the_readme_essentials_pass_config_check(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"The essentials:\s*```toml\n(.*?)```", readme, re.S)
    assert block is not None
    (tmp_path / "home.toml").write_text(block.group(1))
    out = safehome("config", "check", str(tmp_path / "home.toml"), SAFEHOME_MQTT_USERNAME="gw",
                   SAFEHOME_MQTT_PASSWORD="pw")
    assert out.returncode == 0, out.stderr


def test_the_readme_command_table_names_every_command() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Commands"):readme.index("## Configuring a home")]
    action = next(a for a in build_parser()._actions if a.dest == "command")
    for name in action.choices:
        assert f"`safehome {name}" in table, name


def test_zigbee_settings_name_the_device_not_a_second_role() -> None:
    from drivers.zigbee2mqtt import Settings
    doc = (REPO / "docs" / "device-drivers.md").read_text()
    section = doc[doc.index("## `zigbee2mqtt`"):doc.index("## `gpio_pir`")]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    assert example.count("role =") == 1 and 'device = "contact"' in example
    assert Settings(friendly_name="d", device="contact").device == "contact"
    assert Settings(friendly_name="d", role="contact").device == "contact"   # older configs


# --- replay --json and the event schema -----------------------------------------------------------

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


# --- the demo and its texts -----------------------------------------------------------------------

async def test_a_simulated_sensor_with_nothing_to_say_stays_quiet_instead_of_ending() -> None:
    import asyncio

    from gateway.config import SensorConfig
    from simulator.live import SimulatedDriver, SimulatedSettings
    sensor = SensorConfig(id="pir-kitchen", type="simulated", room="kitchen")
    driver = SimulatedDriver(sensor, SimulatedSettings(scenario="demo", sensors=["pir-kitchen"]))

    async def first() -> object:
        async for reading in driver.readings():
            return reading
        return "ended"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(first(), timeout=3)


def test_a_waist_worn_sensor_is_not_called_a_wrist_device() -> None:
    for kind in ("wearable_not_worn", "wearable_out_of_range"):
        texts = render(kind, {"sensor": "wearable", "minutes": 20})
        assert "ranne" not in texts["fi"].lower() and "armband" not in texts["sv"].lower()


def test_finnish_and_swedish_texts_name_common_rooms_in_their_language() -> None:
    texts = render("fall", {"room": "living"}, {})
    assert texts == {"fi": "Kaatuminen havaittu (olohuone).", "sv": "Fall upptäckt (vardagsrum).",
                     "en": "Fall detected (living room)."}
    named = render("fall", {"room": "living"}, {"living": {"fi": "tupa"}})
    assert named["fi"] == "Kaatuminen havaittu (tupa)."


# --- the alarm centre's screen -----------------------------------------------------------------------

def _alarm(seq: int, gateway: str) -> tuple[str, bytes]:
    ev = Event(new_event_id(), seq, "fall", "critical", T0, T0 + 1,
               render("fall", {"room": "bathroom"}), room="bathroom", confidence=0.9)
    return f"{ROOT}/{gateway}/alarm", json.dumps(ev.payload(gateway, "site-9", 1)).encode()


def test_the_centre_screen_shows_whole_ids_room_severity_and_command_results() -> None:
    from rich.console import Console

    from gateway.centre.receiver.view import render as render_view
    centre = Centre("mqtt://127.0.0.1:1", lang="en")
    gw = "gw-helsinki-kallio-0042"
    centre.state.ingest(*_alarm(1, gw), False, T0)
    centre.state.ingest(f"{ROOT}/{gw}/cmd/status/result",
                        json.dumps({"id": "c-1", "ok": True, "result": {"pending": 0}}).encode(),
                        False, T0)
    console = Console(record=True, width=120)
    console.print(render_view(centre, T0 + 5))
    screen = console.export_text()
    assert gw in screen and "critical" in screen and "bathroom" in screen
    assert "Command results" in screen and "pending=0" in screen


def test_an_alarm_acknowledged_by_another_centre_is_not_waiting() -> None:
    state = CentreState()
    topic, payload = _alarm(1, "gw-A")
    state.ingest(topic, payload, False, T0)
    [record] = state.alarms
    state.ingest(f"{ROOT}/gw-A/ack", json.dumps({"id": record.id, "by": "centre-turku",
                                                 "at": "2026-09-21T10:00:00Z"}).encode(),
                 False, T0 + 3)
    assert record.acked_by == "centre-turku" and record.acked_at == T0 + 3


def test_readme_durations_note_matches_the_parser() -> None:
    assert "`90s`, `10m`, `2h`" in textwrap.dedent((REPO / "README.md").read_text())
