"""Where the wrist's falls are lost, step by step of the decision's timeline, held out.

    nice -n 10 python benchmarks/wrist_funnel.py --cache /tmp/episodes [--by dataset|subject]

Why: SmartFallMM's falls (young people, a consumer smartwatch, trials cut close) are alarmed
far less often than the lab sets' falls, and "sensitivity" alone does not say which part
of the decision loses them. Each fall recording is placed at the *furthest* step of the
timeline any of its episodes reached, under the rule chosen without its data set (or
subject), on the episode table (`gateway/evaluation/episodes.py`; the steps rule, which
only the pipeline runs, is the last line of `wrist_crossval.py`):

    a peak reaches impact_g? -> impact judged (post_s of samples after it)? ->
    posture change vs just before -> vs postures rested in -> wrist still after ->
    arm's movement before -> similar peaks -> score -> no get-up in the window -> alarm

The first two steps look at the detector's peak series itself: "no peak reaches impact_g"
is a soft fall (a mattress); "not judged" is an impact the detector never judged because
the samples stop (the file ends, or the watch paused for more than `max_gap_s`) before
`post_s` after it. The same funnel is printed for the older wearers' everyday movements
(where their false alarms stop), and for every set, so a change shows what it buys where.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import _util  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import wrist_crossval as wc

from detectors.wearable_fall import GRID_HZ, WearableFallSettings
from detectors.wearable_features import PRE_WINDOW_S
from detectors.wearable_resample import GridResampler
from gateway.evaluation import crossval, episodes
from gateway.evaluation.episodes import column

# the timeline's steps on the episode table, in order; each a test one episode must pass
TABLE_STEPS: tuple[tuple[str, Any], ...] = (
    ("posture change vs just before >= min_posture_deg",
     lambda f, r: f[:, column("posture_vs_pre_deg")] >= r["min_posture_deg"]),
    ("posture change vs postures rested in >= min_posture_deg",
     lambda f, r: f[:, column("posture_change_deg")] >= r["min_posture_deg"]),
    ("wrist still after (movement <= max_post_activity_g)",
     lambda f, r: f[:, column("post_activity_g")] <= r["max_post_activity_g"]),
    ("arm's movement before <= max_pre_activity_g",
     lambda f, r: f[:, column("pre_activity_g")] <= r.get("max_pre_activity_g", np.inf)),
    ("similar peaks <= max_similar_peaks",
     lambda f, r: f[:, column("similar_peaks")] <= r.get("max_similar_peaks", np.inf)),
    ("score >= score_threshold",
     lambda f, r: episodes.scores(episodes.Episodes("", "", "", "", False, "", 0, 0, 0, f), r)
     >= r["score_threshold"]),
    ("no get-up inside the cancel window (alarm)",
     lambda f, r: f[:, column("got_up_s")] > 1e6),
)
RAW_STEPS = ("no peak reaches impact_g (a soft fall; an ADL without impact)",
             "impact not judged: samples stop (file end or a pause > max_gap_s) within post_s")


def raw_stage(rec: Any, impact_g: float, settings: WearableFallSettings) -> int:
    """0: no point of the detector's peak series (its grid, split where the samples pause
    for more than `max_gap_s`, as the detector restarts there) reaches `impact_g`; 1: every
    such point has less than `post_s` of samples after it in its stretch; 2: some could
    be judged (an episode the table left out: counted as not judged too)."""
    t = np.asarray(rec.t, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    t, xyz = t[order], np.asarray(rec.xyz)[order]
    cuts = np.flatnonzero(np.diff(t) > settings.max_gap_s) + 1
    hit = judged = False
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
        grid = GridResampler(GRID_HZ, settings.max_gap_s)
        _k, x, pk = grid.feed(t[lo:hi], xyz[lo:hi])
        h = np.flatnonzero(pk >= impact_g)
        hit = hit or bool(len(h))
        judged = judged or bool(len(h) and (len(pk) - 1 - h[0]) * grid.dt >= settings.post_s)
    return 2 if judged else int(hit)


EARLY_S = -PRE_WINDOW_S[0]   # an impact this soon after the recording starts has no recorded
                             # descent nor pre-fall orientation (the trial starts at it)


def stage(e: episodes.Episodes, rule: dict[str, float]) -> tuple[int, bool]:
    """Furthest table step (0..len(TABLE_STEPS)) an episode of `e` in its span reached
    after the impact (-1 when none reaches `impact_g`), and whether every episode that
    reached it began within EARLY_S of the recording's start."""
    f = e.features
    if not len(f):
        return -1, False
    t = f[:, column("t")]
    ok = (f[:, column("peak_g")] >= rule["impact_g"]) & (t >= e.fall_lo) & (t <= e.fall_hi)
    best, early = -1, False
    for k, (_name, test) in enumerate(TABLE_STEPS):
        if not ok.any():
            return best, early
        best, early = k, bool((f[ok, column("t_first")] < EARLY_S).all())
        ok = ok & test(f, rule)
    if ok.any():
        return len(TABLE_STEPS), bool((f[ok, column("t_first")] < EARLY_S).all())
    return best, early


def funnel(recs: dict[str, Any], tabs: list[episodes.Episodes], rule_of: Any,
           settings: WearableFallSettings) -> tuple[np.ndarray, np.ndarray]:
    """(R,) stage per recording (0..1 raw steps, 2.. table steps, last = alarm) and (R,)
    whether that stage was reached only by impacts in the recording's first EARLY_S."""
    out, early = [], []
    for e in tabs:
        rule = rule_of(e)
        s, first = stage(e, rule)
        if s < 0:
            s = raw_stage(recs[e.name], rule["impact_g"], settings)
            s = min(s, 1)  # a judgeable impact that left no episode: counted as not judged
        else:
            s = s + 2
        out.append(s)
        early.append(first)
    return np.asarray(out), np.asarray(early, dtype=bool)


def show(title: str, names: list[str], stages: dict[str, tuple[np.ndarray, np.ndarray]]
         ) -> None:
    """One column per set: how many recordings are lost at each step (and of them, how many
    only by an impact in the recording's first EARLY_S), and how many are alarmed."""
    steps = [*RAW_STEPS, *(n for n, _ in TABLE_STEPS[:-1]), TABLE_STEPS[-1][0]]
    print(f"\n{title}")
    print("| lost at | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k, step in enumerate([*steps, "**alarmed** (episode table)"]):
        cells = []
        for n in names:
            s, early = stages[n]
            lost = int((s == k).sum())
            first = int((early & (s == k)).sum())
            cells.append(f"{lost} ({100 * lost / max(len(s), 1):.1f}%)"
                         + (f" [{first} early]" if first else ""))
        print(f"| {step} | " + " | ".join(cells) + " |", flush=True)
    print(f"[n early]: only impacts in the recording's first {EARLY_S:g} s (descent and "
          "pre-fall orientation not recorded) reached this step")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=None, help="episode tables (wrist_crossval)")
    ap.add_argument("--by", choices=("dataset", "subject"), default="dataset")
    wc.add_variants(ap)
    args = ap.parse_args()
    wc.variants(args.getup_needs_pre_fall)
    settings = WearableFallSettings()
    tabs = {n: wc.table(n, args.cache) for n in wc.SETS}
    flat = crossval.Table.of([e for n in wc.SETS for e in tabs[n]])
    rules = crossval.rule_grid(settings.wrist, gate=True)
    fixed = {"max_similar_peaks": float(settings.wrist.max_similar_peaks)}
    chosen = {k: {**v, **fixed} for k, v in crossval.held_out_choices(flat, rules, args.by).items()}

    def rule_of(e: episodes.Episodes) -> dict[str, float]:
        return chosen[e.dataset if args.by == "dataset" else f"{e.dataset}:{e.subject}"]

    falls: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    older: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for n in wc.SETS:
        recs = {r.name: r for r in wc.recordings(n)}
        st, early = funnel(recs, tabs[n], rule_of, settings)
        fall = np.array([e.is_fall for e in tabs[n]])
        old = np.array([e.group == "elderly" and not e.is_fall for e in tabs[n]])
        falls[n] = (st[fall], early[fall])
        if old.any():
            older[n] = (st[old], early[old])
    by = "data set" if args.by == "dataset" else "subject"
    if args.by == "dataset":
        for k, v in chosen.items():
            print(f"without {k}: impact {v['impact_g']:g} g, posture {v['min_posture_deg']:g} deg, "
                  f"threshold {v['score_threshold']:g}, arm limit {v['max_pre_activity_g']:g} g")
    show(f"Falls: where each is lost (leave one {by} out; rule chosen without it)",
         list(falls), falls)
    show(f"Older wearers' everyday movements: where each stops (leave one {by} out; "
         "'alarmed' = false alarm)", list(older), older)
    return 0


if __name__ == "__main__":
    sys.exit(main())
