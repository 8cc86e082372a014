"""Radar fall thresholds chosen honestly: leave one capture (mmfall) / one session
(SafeSenior) out, on the real recordings written as `--format radar-tracks` clips (no
mounting: heights judged relative to the person), through the Pipeline.

    nice -n 10 .venv/bin/python benchmarks/radar_loco.py

Grid: `radar_fall.min_drop_m` x `radar_fall.descent_speed_mps` (the two thresholds a
centroid track's fall is judged by). Folds: SafeSenior session k = fall_k, standUp_k,
walking_k (5 folds); mmfall capture = people_tracking_fall_0, _fall_1, _sit_down, _walking,
people_counting_room_normal (5 folds). For each fold the grid point with the best score on
the OTHER nine folds is chosen (score = share of falls alarmed - 3 x share of other clips
alarmed; ties: the larger drop, then the higher speed, i.e. the stricter), and the held-out
fold is scored with it. Printed: the full grid on all data (for reading only), then the
held-out tables per data set, and which thresholds the folds chose.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

import _util  # noqa: F401

from gateway.evaluation import radar_tracks
from gateway.evaluation.track_clips import write_mmfall, write_safesenior

DATA = _util.REPO.parent / "shared" / "data" / "radar-real-dev"
DROPS = (0.35, 0.4, 0.45, 0.5)
SPEEDS = (0.5, 0.6, 0.7, 0.8, 1.0)
MM_CAPTURES = ("people_tracking_fall_0", "people_tracking_fall_1", "people_tracking_sit_down",
               "people_tracking_walking", "people_counting_room_normal")


def fold_of(file: str) -> str:
    name = Path(file).stem
    for cap in MM_CAPTURES:
        if name.startswith(cap):
            return "mmfall:" + cap
    return "safesenior:session " + name.rsplit("_", 1)[1]


def score(rows: list[tuple[str, bool]]) -> tuple[int, int, int, int]:
    falls = [a for lab, a in rows if lab == "fall"]
    others = [a for lab, a in rows if lab != "fall"]
    return sum(falls), len(falls), sum(others), len(others)


def objective(s: tuple[int, int, int, int]) -> float:
    tp, nf, fa, no = s
    return (tp / nf if nf else 0.0) - 3.0 * (fa / no if no else 0.0)


def main() -> int:
    if not DATA.is_dir():
        print(f"no data at {DATA}")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="radar-loco-"))
    write_safesenior(DATA / "safesenior", tmp)
    write_mmfall(DATA / "mmfall", tmp)
    clips = [radar_tracks.read_clip(p, lab, str(p.relative_to(tmp)))
             for p, lab in radar_tracks.clip_paths(tmp)]
    grid = list(itertools.product(DROPS, SPEEDS))
    res: dict[tuple[float, float], dict[str, bool]] = {}
    for d, v in grid:
        det = {"radar_fall": {"min_drop_m": d, "descent_speed_mps": v}}
        res[(d, v)] = {c.file: radar_tracks.run_clip(c, None, det)[0].alarm for c in clips}
        print(f"grid {d:.2f} m, {v:.1f} m/s done", file=sys.stderr, flush=True)
    folds = sorted({fold_of(c.file) for c in clips})
    label = {c.file: c.label for c in clips}
    print("## Whole grid on all clips (reading only: not a held-out figure)\n")
    print("| min_drop_m | descent_speed_mps | SafeSenior falls | SafeSenior false | "
          "mmfall falls | mmfall false |")
    print("|---|---|---|---|---|---|")
    for d, v in grid:
        line = [f"{d:.2f}", f"{v:.1f}"]
        for ds in ("safesenior", "mmfall"):
            tp, nf, fa, no = score([(label[f], a) for f, a in res[(d, v)].items()
                                    if fold_of(f).startswith(ds)])
            line += [f"{tp}/{nf}", f"{fa}/{no}"]
        print("| " + " | ".join(line) + " |")
    print("\n## Held out: thresholds chosen on the other folds\n")
    print("| held-out fold | chosen min_drop_m, descent_speed_mps | falls alarmed | "
          "other clips alarmed |")
    print("|---|---|---|---|")
    total: dict[str, list[int]] = {"safesenior": [0, 0, 0, 0], "mmfall": [0, 0, 0, 0]}
    for fold in folds:
        def rows(p: tuple[float, float], keep: bool, fold: str = fold) -> list[tuple[str, bool]]:
            return [(label[f], a) for f, a in res[p].items() if (fold_of(f) == fold) == keep]
        best = max(grid, key=lambda p: (objective(score(rows(p, False))), p[0], p[1]))
        tp, nf, fa, no = score(rows(best, True))
        ds = fold.split(":")[0]
        total[ds] = [a + b for a, b in zip(total[ds], (tp, nf, fa, no), strict=True)]
        print(f"| {fold} | {best[0]:.2f} m, {best[1]:.1f} m/s | "
              f"{tp}/{nf} | {fa}/{no} |")
    for ds, (tp, nf, fa, no) in total.items():
        print(f"| **{ds} held out, total** | | **{tp}/{nf}** | **{fa}/{no}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
