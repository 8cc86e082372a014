"""Leave-one-subject-out check of the settings: would tuning on the others pick well?

Why: the settings will meet people who are not in the development data. For each
subject we choose, among a small grid around the shipped defaults (impact threshold x
main score threshold), the setting that scores best (sensitivity + specificity) on all
*other* subjects, then apply it to the held-out subject. The pooled held-out figures
estimate what tuning on these files is worth on new people; the per-subject spread shows
how much people differ; and how often the defaults win shows whether they sit on a
plateau (robust) or a knife edge (tuned to these files).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from gateway.evaluation import metrics, runner
from gateway.evaluation.recording import Recording

IMPACT_STEPS = (-0.2, 0.0, 0.2, 0.4)
THRESHOLD_STEPS = (-0.5, 0.0, 0.5, 1.0)


def grid(base: Any, placement: str) -> list[tuple[dict[str, float], Any]]:
    """(label, settings) pairs around the defaults of one placement."""
    key = placement if placement in ("wrist", "chest", "pendant") else "waist"
    pl = getattr(base, key)
    out = []
    for di in IMPACT_STEPS:
        for dt in THRESHOLD_STEPS:
            label = {"impact_g": round(pl.impact_g + di, 3),
                     "score_threshold": round(pl.score_threshold + dt, 3)}
            out.append((label, base.model_copy(update={key: pl.model_copy(update=label)})))
    return out


def _score(outs: Sequence[runner.Outcome]) -> float:
    s = metrics.summary(outs)
    return (s["sensitivity"] or 0.0) + (s["specificity"] or 0.0)


def leave_one_subject_out(recs: Sequence[Recording], base: Any,
                          factory: Callable[[Any], Callable[[Recording], Any]],
                          block_s: float = 0.25,
                          progress: Callable[[], None] | None = None) -> dict[str, Any]:
    placement = recs[0].placement
    configs = grid(base, placement)
    table: list[list[runner.Outcome]] = []
    for _label, settings in configs:
        table.append(runner.evaluate(recs, factory(settings), block_s))
        if progress:
            progress()
    subjects = sorted({r.subject for r in recs})
    subj = np.array([r.subject for r in recs])
    default_idx = IMPACT_STEPS.index(0.0) * len(THRESHOLD_STEPS) + THRESHOLD_STEPS.index(0.0)
    held_out: list[runner.Outcome] = []
    chosen: dict[str, dict[str, float]] = {}
    for s in subjects:
        train = np.flatnonzero(subj != s)
        test = np.flatnonzero(subj == s)
        scores = [_score([outs[i] for i in train]) for outs in table]
        best = max(range(len(configs)),
                   key=lambda c: (round(scores[c], 9), c == default_idx))
        chosen[s] = configs[best][0]
        held_out.extend(table[best][i] for i in test)
    per_subject = metrics.by_key(held_out, "subject")
    return {
        "method": "leave one subject out; grid " + ", ".join(
            f"impact_g{d:+g}" for d in IMPACT_STEPS) + " x " + ", ".join(
            f"score_threshold{d:+g}" for d in THRESHOLD_STEPS),
        "held_out": metrics.summary(held_out),
        "per_subject": per_subject,
        "subject_spread": metrics.spread(per_subject),
        "chosen": chosen,
        "defaults_chosen": sum(c == configs[default_idx][0] for c in chosen.values()),
        "grid": [{**lab, **{k: metrics.summary(outs)[k] for k in ("sensitivity", "specificity")}}
                 for (lab, _), outs in zip(configs, table, strict=True)],
    }
