"""`safehome evaluate` and its parts: loaders, the cancel-window scoring rule, sampling."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from detectors.base import Detection
from gateway.cli import main
from gateway.evaluation import runner, sample, sisfall, umafall
from gateway.evaluation.recording import Recording
from gateway.events import Event

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
SISFALL = DATA / "sisfall-dev"
UMAFALL = DATA / "umafall-dev"


def _rec(is_fall=True, onset=10.0):
    t = np.arange(0, 20, 0.005)
    return Recording("r", "test", "S1", "F01" if is_fall else "D01", is_fall, "waist", t,
                     np.zeros((len(t), 3)), fall_onset=onset if is_fall else None,
                     fall_end=onset + 0.5 if is_fall else None)


def _events(*items: tuple[str, float, float]) -> list[Event]:
    """(type, occurred_at, announced_at) triples through the gateway's real alarm flow."""
    from gateway.alarm_flow import AlarmFlow
    out: list[Event] = []
    clock = [0.0]

    def make(type_name: str, det: Detection, ref: str | None) -> str:
        out.append(Event(f"e{len(out)}", len(out), type_name, "info", det.occurred_at, clock[0],
                         {}, evidence=dict(det.evidence), ref=ref, confidence=det.confidence))
        return out[-1].id
    flow = AlarmFlow(30.0, make)
    for type_name, at, announced in items:
        clock[0] = announced
        flow.advance(announced)
        flow.handle(Detection(type_name, at, "wearable", confidence=0.8))
    clock[0] = 1e9
    flow.advance(1e9)
    return out


def test_a_suspected_fall_cancelled_inside_the_window_is_no_alarm():
    rec = _rec(is_fall=False)
    sus = ("fall_suspected", 4.0, 5.0)
    assert runner.score(rec, _events(sus)).false_alarm
    assert not runner.score(rec, _events(sus, ("fall_cancelled", 19.0, 20.0))).false_alarm
    assert runner.score(rec, _events(sus, ("fall_cancelled", 40.0, 41.0))).false_alarm


def test_a_fall_counts_only_near_its_labelled_span_and_delay_is_from_onset():
    rec = _rec(is_fall=True, onset=10.0)
    hit = runner.score(rec, _events(("fall_suspected", 10.2, 11.5)))
    assert hit.detected and hit.delay_s == pytest.approx(1.5) and not hit.false_alarm
    early = runner.score(rec, _events(("fall_suspected", 2.0, 3.0)))
    assert not early.detected and early.false_alarm
    cancelled = runner.score(rec, _events(("fall_suspected", 10.2, 11.5),
                                          ("fall_cancelled", 15.0, 15.0)))
    assert not cancelled.detected


def test_sisfall_reads_plain_and_gzipped_files_with_labels(tmp_path):
    lines = "".join(f"{i:4d},-256,  3, 1, 2, 3,{i}, -1024, 0;\n" for i in range(400))
    for sub in ("raw/SA01", "labels/SA01"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "raw/SA01/F01_SA01_R01.txt").write_text(lines)
    with gzip.open(tmp_path / "raw/SA01/D02_SA01_R01.txt.gz", "wt") as fh:
        fh.write(lines + "  1,2")                       # a truncated last line
    (tmp_path / "labels/SA01/F01_SA01_R01.txt").write_text("0\n" * 200 + "2\n" * 100 + "0\n" * 100)
    files = sisfall.files(tmp_path)
    assert [f.name for f in files] == ["D02_SA01_R01.txt.gz", "F01_SA01_R01.txt"]
    adl, fall = (sisfall.load(f, i) for i, f in enumerate(files))
    assert len(adl) == len(fall) == 400 and not adl.is_fall and fall.is_fall
    assert fall.xyz[0] == pytest.approx([0.0, -1.0, 3 / 256])
    assert fall.fall_onset - fall.t[0] == pytest.approx(1.0)
    assert fall.fall_end - fall.t[0] == pytest.approx(299 / 200)
    assert adl.fall_onset is None


UMA_HEADER = """% ID: Subject_03_Fall_forwardFall_1
% Age: 25
% MAC Address; Sensor_ID; Position; Device Model
%aa; 0; RIGHTPOCKET; phone
%bb; 3; WRIST; SensorTag
% TimeStamp; Sample No; X-Axis; Y-Axis; Z-Axis; Sensor Type; Sensor ID;
"""


def test_umafall_maps_position_per_file_and_skips_malformed_lines(tmp_path):
    rows = []
    for i in range(100):
        rows.append(f"{i * 50};{i};0.1;-1.0;0.0;0;3")       # wrist accelerometer
        rows.append(f"{i * 50};{i};9.0;9.0;9.0;1;3")        # wrist gyroscope: ignored
        rows.append(f"{i * 5};{i};5.0;5.0;5.0;0;0")         # pocket phone: other sensor
    rows.insert(10, "500;10;-101.123.046.875;0.1;0.2;0;3")  # malformed number
    rows.insert(20, "600;11;0.1")                            # truncated
    p = tmp_path / "UMAFall_Subject_03_Fall_forwardFall_1_2016-06-13_13-19-09.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(UMA_HEADER + "\n".join(rows) + "\n")
    rec = umafall.load(p, "wrist")
    assert rec.is_fall and rec.activity == "forwardFall" and rec.subject == "03"
    assert len(rec) == 100 and np.allclose(rec.xyz, [0.1, -1.0, 0.0])
    with pytest.raises(umafall.MissingPosition):
        umafall.load(p, "waist")


def test_sample_is_deterministic_and_spreads_over_activities_and_subjects():
    paths = [Path(f"{a}_{s}_R0{r}.txt") for a in ("D01", "D02", "F01") for s in ("SA01", "SE01")
             for r in (1, 2, 3)]
    pick = sample.spread(paths, sisfall.key, 6)
    assert pick == sample.spread(list(reversed(paths)), sisfall.key, 6)
    assert {sisfall.key(p)[1] for p in pick} == {"D01", "D02", "F01"}
    assert {sisfall.key(p)[0] for p in pick} == {"SA01", "SE01"}
    assert sample.spread(paths, sisfall.key, 0) == paths


@pytest.mark.skipif(not SISFALL.is_dir(), reason="shared SisFall data absent")
def test_cli_sisfall_sample_json(capsys):
    assert main(["evaluate", "--format", "sisfall", str(SISFALL), "--sample", "24",
                 "--json", "--no-progress"]) == 0
    rep = json.loads(capsys.readouterr().out)
    s = rep["summary"]
    assert s["files"] == 24 and s["falls"] + s["adls"] == 24 and s["falls"] > 0 and s["adls"] > 0
    assert s["sensitivity"] == s["detected"] / s["falls"]
    assert s["specificity"] == (s["adls"] - s["false_positives"]) / s["adls"]
    assert s["delay_s"] is None or s["delay_s"]["n"] == s["detected"]
    assert set(rep["per_activity"]) == {f["activity"] for f in rep["files"]}
    assert "elderly" in s["false_positive_rate_by_group"]
    assert "sensitivity" in rep["subject_spread"] and "cancel window" in rep["rule"]
    assert len(rep["files"]) == 24 and {"name", "detected", "false_alarm", "delay_s"} <= \
        set(rep["files"][0])


@pytest.mark.skipif(not UMAFALL.is_dir(), reason="shared UMAFall data absent")
def test_cli_umafall_sample_table_and_plots(capsys, tmp_path):
    assert main(["evaluate", "--format", "umafall", str(UMAFALL), "--placement", "wrist",
                 "--sample", "16", "--plot", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Per file" in out and "Per activity" in out and "sensitivity" in out
    for png in ("roc.png", "activities.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_cli_trace_format_is_a_clear_hook(capsys, tmp_path):
    assert main(["evaluate", str(tmp_path / "x.mcap")]) == 2
    assert "trace" in capsys.readouterr().err


@pytest.mark.skipif(not UMAFALL.is_dir(), reason="shared UMAFall data absent")
def test_cli_set_overrides_reach_the_detector(capsys):
    args = ["evaluate", "--format", "umafall", str(UMAFALL), "--placement", "waist",
            "--sample", "6", "--json", "--no-progress"]
    assert main(args + ["--set", "waist.impact_g=3.5", "--set", "post_s=1.2"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["settings"]["waist"]["impact_g"] == 3.5 and rep["settings"]["post_s"] == 1.2
    from detectors.wearable_fall import PLACEMENT_DEFAULTS
    # other placements untouched
    assert rep["settings"]["wrist"]["impact_g"] == PLACEMENT_DEFAULTS["wrist"]["impact_g"]
    assert main(args + ["--set", "waist.nonsense=1"]) == 2
    assert "bad --set" in capsys.readouterr().err


def test_resampled_recording_keeps_the_signal_at_the_new_rate():
    from gateway.evaluation.recording import resampled
    rec = _rec()
    rec.xyz[:, 0] = np.sin(rec.t)                                    # a slow signal
    r50 = resampled(rec, 50.0)
    assert np.diff(r50.t) == pytest.approx(0.02)
    assert r50.xyz[:, 0] == pytest.approx(np.sin(r50.t), abs=1e-4)
    rj = resampled(rec, 20.0, jitter=0.4, seed=1)
    gaps = np.diff(rj.t)
    assert (gaps > 0).all() and gaps.min() < 0.045 < 0.055 < gaps.max()
    assert rj.fall_onset == rec.fall_onset and rj.activity == rec.activity


def test_plot_without_matplotlib_says_so_before_any_work(capsys, monkeypatch, tmp_path):
    from gateway.commands import evaluate
    monkeypatch.setattr(evaluate, "_have_matplotlib", lambda: False)
    loaded = []
    monkeypatch.setitem(evaluate.FORMATS, "sisfall", lambda a: loaded.append(a) or (1, iter([])))
    assert main(["evaluate", "--format", "sisfall", str(tmp_path), "--plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "safehome[plot]" in err and "Traceback" not in err
    assert not loaded


def test_help_speaks_to_users_not_to_the_code(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    assert "fallalld" in text and "cancel window" in text
    for internal in ("FORMATS", "gateway/evaluation", "loaders", "runner.py"):
        assert internal not in text


@pytest.mark.skipif(not UMAFALL.is_dir(), reason="shared UMAFall data absent")
def test_report_lines_are_not_cut_at_80_columns_in_a_pipe(capsys):
    assert main(["evaluate", "--format", "umafall", str(UMAFALL), "--sample", "8",
                 "--files", "none", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rates = [ln for ln in lines if ln.startswith("ADL false positive rate by group")]
    assert rates and rates[0].endswith("per hour of ADL recordings") and len(rates[0]) > 80
