"""Held-out selection: the setting measured on a data set (or subject) is chosen without it,
and specificity outranks sensitivity when choosing."""

from __future__ import annotations

import numpy as np

from detectors.wearable_fall import WearableFallSettings
from gateway.evaluation import crossval
from gateway.evaluation.episodes import FEATURES, Episodes, alarms, column


def _episode(peak: float, still: float = 0.02, posture: float = 80.0) -> list[float]:
    row = [0.0] * len(FEATURES)
    row[column("peak_g")] = peak
    row[column("drop_mps")] = 1.0
    row[column("posture_change_deg")] = row[column("posture_vs_pre_deg")] = posture
    row[column("post_activity_g")] = still
    row[column("t")] = 5.0
    row[column("got_up_s")] = np.inf
    return row


def _rec(dataset: str, subject: str, fall: bool, peak: float, i: int) -> Episodes:
    return Episodes(f"{dataset}{i}", dataset, subject, "F" if fall else "D", fall, "young", 20.0,
                    -np.inf, np.inf, np.array([_episode(peak)]))


def _sets(adl_peak_c: float) -> list[Episodes]:
    recs = []
    for d, adl_peak in (("A", 2.5), ("B", 2.6), ("C", adl_peak_c)):
        for i in range(10):
            recs.append(_rec(d, f"{d}{i % 2}", True, 6.0, i))
            recs.append(_rec(d, f"{d}{i % 2}", False, adl_peak, 100 + i))
    return recs


RULES = crossval.rule_grid(WearableFallSettings().wrist)


def test_the_rule_for_a_held_out_set_ignores_that_set():
    easy = crossval.held_out_choices(crossval.Table.of(_sets(2.5)), RULES, "dataset")
    hard = crossval.held_out_choices(crossval.Table.of(_sets(5.5)), RULES, "dataset")
    assert easy["C"] == hard["C"]            # C's own recordings did not move C's choice
    assert easy["A"] != hard["A"]            # ...but they do move the choice for A


def test_specificity_outranks_sensitivity_when_choosing():
    """In C the activities look exactly like the falls: no rule keeps 98% specificity
    there while finding falls, so the most specific rule wins, whatever it misses."""
    table = crossval.Table.of(_sets(6.0))
    train = np.arange(len(table.recs))
    groups = np.array([r.dataset for r in table.recs])
    fall = np.array([r.is_fall for r in table.recs])

    def spec(rule):
        c = table.correct(rule)
        return np.mean([c[(groups == g) & ~fall].mean() for g in "ABC"])
    best = RULES[crossval.choose(table, RULES, train, groups)]
    assert spec(best) == max(spec(r) for r in RULES) == 1.0
    assert not table.correct(best)[fall].all()          # the price: falls are missed


def test_a_get_up_inside_the_cancel_window_is_no_alarm():
    rule = WearableFallSettings().wrist.model_dump()
    e = Episodes("r", "A", "s", "D", False, "young", 20.0, -np.inf, np.inf,
                 np.array([_episode(6.0), _episode(6.0)]))
    assert alarms(e, rule).tolist() == [True, True]
    e.features[1, column("got_up_s")] = 4.0
    assert alarms(e, rule).tolist() == [True, False]


def test_the_arm_s_rhythm_is_a_fixed_limit_the_table_applies_and_the_grid_does_not_choose():
    """Three similar peaks around the impact end the suspicion on the table as in the
    detector; choosing never offers the limit (it would be spent on looser thresholds)."""
    row = _episode(6.0)
    row[column("similar_peaks")] = 3.0
    eps = Episodes("clap", "A", "A0", "D", False, "young", 20.0, -np.inf, np.inf, np.array([row]))
    rule = dict(RULES[0])
    assert alarms(eps, {**rule, "score_threshold": 2.0}).tolist() == [True]
    assert alarms(eps, {**rule, "score_threshold": 2.0, "max_similar_peaks": 2.0}).tolist() == [False]
    assert {r["max_similar_peaks"] for r in RULES} == {100.0}
    assert WearableFallSettings().wrist.max_similar_peaks == 2
