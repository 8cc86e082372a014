"""SmartFallMM smartwatch trials: read as the watch wrote them, scored through the pipeline."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from gateway.cli import main
from gateway.evaluation import smartfallmm

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "smartfallmm-wrist-dev"
G = 9.80665


def _write(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(rows) + "\n")
    return path


def _stamp(s: float) -> str:
    whole = int(s)
    return f"2022-08-05 10:{whole // 60:02d}:{whole % 60:02d}.{int(round((s - whole) * 1000)):03d}"


def _trial(seconds: float = 6.0, rate: float = 33.0, impact_at: float | None = None,
           burst: int = 3) -> list[str]:
    """A watch at rest (about 9.8 m/s^2), stamping `burst` samples with one time; an
    optional hard knock lying the wrist on its side."""
    n = int(seconds * rate)
    rows = []
    for i in range(n):
        t = (i // burst) * burst / rate
        x, y, z = 0.0, -G, 0.0
        if impact_at is not None and t >= impact_at:
            x, y, z = (6 * G, 0.0, 0.0) if t < impact_at + 0.05 else (G, 0.0, 0.0)
        rows.append(f"{_stamp(t)},{x},{y},{z}")
    return rows


def test_a_trial_keeps_the_watchs_bursts_and_reads_metres_per_second_squared_as_g(tmp_path):
    p = _write(tmp_path / "old" / "S05A01T02.csv.gz", _trial())
    rec = smartfallmm.load(p)
    assert rec.dataset == "smartfallmm" and rec.subject == "S05" and not rec.is_fall
    assert rec.group == "elderly" and rec.activity == "A01 drinking"
    assert np.allclose(np.linalg.norm(rec.xyz, axis=1), 1.0)
    assert (np.diff(rec.t) == 0).sum() > len(rec.t) // 2      # bursts kept, not spread out
    assert len(rec) == int(6.0 * 33.0)


def test_older_wearers_a08_is_the_timed_up_and_go_and_young_falls_are_falls(tmp_path):
    old = smartfallmm.load(_write(tmp_path / "old" / "S07A08T01.csv.gz", _trial()))
    young = smartfallmm.load(_write(tmp_path / "young" / "S31A08T01.csv.gz", _trial()))
    fall = smartfallmm.load(_write(tmp_path / "young" / "S31A11T01.csv.gz", _trial()))
    assert old.activity == "A08 timed up-and-go" and young.activity == "A08 walking"
    assert young.group == "young" and fall.is_fall and fall.activity == "A11 front fall"


def test_small_steps_back_are_kept_chunks_written_out_of_order_are_sorted(tmp_path):
    rows = _trial(seconds=4.0, burst=1)
    rows[5], rows[6] = rows[6], rows[5]                  # a 30 ms step back: the watch's own
    kept = smartfallmm.parse("\n".join(rows), "a")
    assert not kept.reordered and (np.diff(kept.t) < 0).sum() == 1
    late = rows[60:]                                     # a chunk written first
    p = _write(tmp_path / "young" / "S30A02T01.csv.gz", late + rows[:60])
    with gzip.open(p, "rt") as f:
        parsed = smartfallmm.parse(f.read(), p.name)
    assert parsed.reordered and parsed.t[0] == 0.0
    assert (np.diff(parsed.t) >= 0).all() and len(parsed.t) == len(rows)


def test_a_file_with_swapped_columns_is_refused_naming_the_line(tmp_path):
    p = _write(tmp_path / "old" / "S23A07T01.csv.gz", ["-9.57,13.50.22.969,-3.09,0.43"])
    with pytest.raises(smartfallmm.Unreadable, match=r"S23A07T01.csv.gz line 1: '-9.57"):
        smartfallmm.load(p)


def test_load_all_skips_unreadable_files_and_byte_identical_copies_and_says_so(tmp_path):
    a = _write(tmp_path / "young" / "S40A10T01.csv.gz", _trial(impact_at=3.0))
    b = tmp_path / "young" / "S40A10T02.csv.gz"
    b.write_bytes(a.read_bytes())                         # the same trial saved twice
    c = _write(tmp_path / "young" / "S40A10T03.csv.gz", _trial(impact_at=2.0))
    d = _write(tmp_path / "old" / "S23A07T01.csv.gz", ["-9.57,13.50.22.969,-3.09,0.43"])
    skipped = smartfallmm.Skipped([], [])
    recs = smartfallmm.load_all(smartfallmm.files(tmp_path), skipped)
    assert [r.name for r in recs] == ["young_S40A10T01", "young_S40A10T03"]
    assert skipped.duplicates == ["young/S40A10T02.csv.gz"]
    assert skipped.unreadable == ["old/S23A07T01.csv.gz line 1"]
    assert recs[1].t[0] - recs[0].t[0] >= 3600            # recordings never overlap
    assert {a, c, d} and "1 unreadable" in str(skipped)


def test_cli_scores_smartfallmm_through_the_pipeline(tmp_path, capsys):
    for i in range(3):
        _write(tmp_path / "old" / f"S0{i + 1}A01T01.csv.gz", _trial(seconds=8.0))
        _write(tmp_path / "young" / f"S3{i}A13T01.csv.gz", _trial(seconds=8.0, impact_at=4.0))
    assert main(["evaluate", "--format", "smartfallmm", str(tmp_path), "--json",
                 "--no-progress"]) == 0
    s = json.loads(capsys.readouterr().out)["summary"]
    assert s["files"] == 6 and s["falls"] == 3 and s["adls"] == 3
    assert s["false_positives"] == 0


@pytest.mark.skipif(not DATA.is_dir(), reason="shared SmartFallMM data absent")
def test_the_shared_set_reads_every_parseable_trial():
    skipped = smartfallmm.Skipped([], [])
    recs = smartfallmm.load_all(smartfallmm.files(DATA), skipped)
    older = [r for r in recs if r.group == "elderly"]
    assert len(older) >= 680 and not any(r.is_fall for r in older)
    assert sum(r.is_fall for r in recs) >= 250
    assert len(skipped.unreadable) <= 6
