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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


# -- leave one data set out / one subject out, chosen on the episode table ------------------
# Why: a home brings a new person *and* a new device. Settings are chosen on some data sets
# (or subjects) and measured on one kept apart; only those held-out figures are reported.
# Choosing uses the episode table (gateway/evaluation/episodes.py: one detector run per
# recording, then any rule in microseconds); measuring re-runs the chosen setting through
# the real pipeline (runner), so the reported figures are the product's.

RULE_KEYS = ("impact_g", "min_posture_deg", "max_post_activity_g", "score_threshold",
             "w_peak", "w_drop", "w_posture", "w_still", "bias", "max_pre_activity_g",
             "max_similar_peaks")
MIN_SPECIFICITY = 0.98   # on the training side: specificity outranks sensitivity


def rule_grid(base: Any, gate: bool = True) -> list[dict[str, float]]:
    """Candidate rules for one placement: the shipped one and a grid around its physics.
    `gate`: also try limits on the movement before the episode (the wrist's arm pattern);
    without it the grid is the one the waist has always been chosen from."""
    import itertools
    b = {k: float(getattr(base, k)) for k in RULE_KEYS}
    # the arm's rhythm is a fixed physical limit added after choosing (like the steps rule),
    # not a dimension of the grid: given it, the choice spends it on looser thresholds
    # (measured, docs/detection.md), so the rules are chosen without it
    b["max_similar_peaks"] = 100.0
    out = [b]
    impacts = sorted({b["impact_g"], 1.8, 2.2, 2.6, 3.0, 3.5, 4.0})
    # the arm's movement before the episode (0.5-1 g RMS: waving, sweeping) or no limit
    busy = (sorted({b["max_pre_activity_g"], 100.0, 1.0, 0.7, 0.5}, reverse=True) if gate
            else [b["max_pre_activity_g"]])
    for imp, post, act, wp, ws, th, pre in itertools.product(
            impacts, (0.0, 15.0, 30.0), (0.15, 0.25, 0.4),
            (0.0, 1.0), (1.0, 2.0), tuple(np.arange(2.0, 7.01, 0.25)), busy):
        out.append({**b, "impact_g": imp, "min_posture_deg": post, "max_post_activity_g": act,
                    "w_posture": wp, "w_still": ws, "score_threshold": float(th),
                    "max_pre_activity_g": pre})
    return out


@dataclass
class Table:
    """All recordings' episodes as flat arrays, for fast rule sweeps."""

    recs: list[Any]
    feats: np.ndarray          # (E, F)
    owner: np.ndarray          # (E,) recording index of each episode
    in_span: np.ndarray        # (E,) episode lies in its fall recording's labelled span
    after_s: np.ndarray        # (E,) seconds recorded after the episode's judging point
    is_fall: np.ndarray        # (R,) each recording is a fall (computed once: rules are many)

    @classmethod
    def of(cls, tables: Sequence[Any]) -> Table:
        from gateway.evaluation.episodes import column
        feats, owner, span, after = [], [], [], []
        for i, e in enumerate(tables):
            feats.append(e.features)
            owner.append(np.full(len(e.features), i))
            t = e.features[:, column("t")]
            span.append(e.is_fall & (t >= e.fall_lo) & (t <= e.fall_hi))
            after.append(e.duration - e.features[:, column("t_judged")])
        return cls(list(tables), np.concatenate(feats), np.concatenate(owner),
                   np.concatenate(span), np.concatenate(after),
                   np.array([e.is_fall for e in tables], dtype=bool))

    def _fired(self, rule: dict[str, float]) -> np.ndarray:
        from gateway.evaluation.episodes import Episodes, alarms
        return alarms(Episodes("", "", "", "", False, "", 0, 0, 0, self.feats), rule)

    def _right(self, fired: np.ndarray) -> np.ndarray:
        n = len(self.recs)
        any_fire = np.bincount(self.owner[fired], minlength=n) > 0
        hit = np.bincount(self.owner[fired & self.in_span], minlength=n) > 0
        return np.where(self.is_fall, hit, ~any_fire)

    def correct(self, rule: dict[str, float]) -> np.ndarray:
        """(R,) bool: each recording right under `rule` (fall found / ADL quiet)."""
        return self._right(self._fired(rule))

    def judged(self, rule: dict[str, float], observed_s: float
               ) -> tuple[np.ndarray, np.ndarray]:
        """(correct, votes), (R,) bool each. `votes` is False for an everyday-movement
        recording whose every alarm under `rule` comes from an episode judged less than
        `observed_s` before the recording ends: the recording stops before the cancel
        window's evidence (get-up, steps) could be seen, so the alarm says how the trial
        was cut, not how the rule judges the movement. Falls always vote."""
        fired = self._fired(rule)
        n = len(self.recs)
        any_fire = np.bincount(self.owner[fired], minlength=n) > 0
        any_observed = np.bincount(self.owner[fired & (self.after_s >= observed_s)],
                                   minlength=n) > 0
        return self._right(fired), self.is_fall | ~any_fire | any_observed


def _group_rates(table: Table, correct: Sequence[np.ndarray], groups: np.ndarray,
                 votes: Sequence[np.ndarray] | None = None
                 ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per rule and group: sensitivity and specificity, (R, G) each (nan: no such class).
    `votes` (R, N): the recordings each rule's specificity counts (default: all)."""
    names = sorted(set(groups.tolist()))
    fall = table.is_fall
    c = np.asarray(correct, dtype=bool)         # (R, N); bool keeps a large grid small
    sens = np.full((len(c), len(names)), np.nan)
    spec = np.full((len(c), len(names)), np.nan)
    for j, g in enumerate(names):
        m = groups == g
        if (m & fall).any():
            sens[:, j] = c[:, m & fall].mean(axis=1)
        if (m & ~fall).any():
            if votes is None:
                spec[:, j] = c[:, m & ~fall].mean(axis=1)
            else:
                v = np.asarray(votes, dtype=bool)[:, m & ~fall]
                n_votes = v.sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    spec[:, j] = np.where(n_votes > 0,
                                          (c[:, m & ~fall] & v).sum(axis=1) / n_votes, np.nan)
    return names, sens, spec


def _pick(sens: np.ndarray, spec: np.ndarray, cols: np.ndarray) -> int:
    """Best mean sensitivity over `cols` among rules whose mean specificity reaches
    MIN_SPECIFICITY; the most specific rule when none does (ties: the earlier rule, so the
    shipped defaults, listed first, win a tie)."""
    with np.errstate(invalid="ignore"):
        se = np.nanmean(sens[:, cols], axis=1)
        sp = np.nanmean(spec[:, cols], axis=1)
    ok = sp >= MIN_SPECIFICITY
    if ok.any():
        key = np.where(ok, np.nan_to_num(se, nan=0.0) * 10 + sp, -np.inf)
    else:
        key = np.nan_to_num(sp, nan=0.0)
    return int(np.argmax(key))


def _verdicts(table: Table, rules: Sequence[dict[str, float]], observed_s: float | None
              ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    if observed_s is None:
        return [table.correct(r) for r in rules], None
    both = [table.judged(r, observed_s) for r in rules]
    return [c for c, _ in both], [v for _, v in both]


def choose(table: Table, rules: Sequence[dict[str, float]], train: np.ndarray,
           groups: np.ndarray, correct: list[np.ndarray] | None = None,
           observed_s: float | None = None) -> int:
    """Index of the rule with the best mean sensitivity over the training groups (data
    sets or subjects, each weighted equally) among those whose mean specificity is at
    least MIN_SPECIFICITY; the most specific one when none reaches it. `observed_s`: an
    everyday-movement recording that ends less than this long after the judging point of
    every episode that alarms it does not vote in that rule's specificity (Table.judged);
    None: every recording votes."""
    votes = None
    if correct is None:
        correct, votes = _verdicts(table, rules, observed_s)
    elif observed_s is not None:
        votes = [table.judged(r, observed_s)[1] for r in rules]
    names, sens, spec = _group_rates(table, correct, groups, votes)
    cols = np.array([names.index(g) for g in sorted(set(groups[train].tolist()))])
    return _pick(sens, spec, cols)


def held_out_choices(table: Table, rules: Sequence[dict[str, float]], by: str,
                     observed_s: float | None = None) -> dict[str, dict[str, float]]:
    """For each value of `by` ("dataset" or "subject"): the rule chosen on all the others
    (`observed_s` as in `choose`; measuring the chosen rule is unaffected by it)."""
    groups = np.array([r.dataset if by == "dataset" else f"{r.dataset}:{r.subject}"
                       for r in table.recs])
    correct, votes = _verdicts(table, rules, observed_s)
    names, sens, spec = _group_rates(table, correct, groups, votes)
    return {g: rules[_pick(sens, spec, np.array([k for k in range(len(names)) if k != j]))]
            for j, g in enumerate(names)}
