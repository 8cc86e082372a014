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


# -- choosing on what a recording shows ------------------------------------------------------
# A lab trial cut 1 s after a hard arm movement ends inside the cancel window: the wearer's
# get-up or steps are never recorded, so the strict scoring calls it an alarm. When choosing,
# such a recording says how the trial was cut, not how a rule judges the movement.

W = 5.0


def _judged_at(peak: float, t_judged: float) -> list[float]:
    row = _episode(peak)
    row[column("t_judged")] = t_judged
    return row


def _cut_sets(adl_judged: float) -> list[Episodes]:
    """Falls of 3.2 g in every set; in A and B half the everyday movements have a 3.4 g
    swing judged at `adl_judged` s of a 20 s recording (the other half stay quiet). Every
    rule that finds the falls also raises the swings (same features, a harder peak)."""
    recs = []
    for d in "ABC":
        for i in range(10):
            recs.append(Episodes(f"{d}{i}", d, f"{d}{i % 2}", "F", True, "young", 20.0,
                                 -np.inf, np.inf, np.array([_judged_at(3.2, 5.0)])))
            swing = d != "C" and i % 2 == 0
            adl = _judged_at(3.4, adl_judged) if swing else _judged_at(1.5, 5.0)
            recs.append(Episodes(f"{d}{100 + i}", d, f"{d}{i % 2}", "D", False, "young", 20.0,
                                 -np.inf, np.inf, np.array([adl])))
    return recs


def _finds_falls(table: crossval.Table, rule: dict[str, float], dataset: str) -> bool:
    c = table.correct(rule)
    return all(ok for ok, r in zip(c, table.recs, strict=True)
               if r.is_fall and r.dataset == dataset)


def test_a_recording_cut_inside_the_evidence_span_does_not_vote_when_choosing():
    """The swings end 1 s before their recordings do: choosing on what they show, no set
    has a false alarm to count, and the rule for C is one that finds the falls. Ignoring
    the option, every fall-finding rule costs A and B all their specificity, and the
    choice falls back to a rule that finds none."""
    table = crossval.Table.of(_cut_sets(adl_judged=19.0))
    strict = crossval.held_out_choices(table, RULES, "dataset")
    observed = crossval.held_out_choices(table, RULES, "dataset", observed_s=W)
    assert not _finds_falls(table, strict["C"], "C")
    assert _finds_falls(table, observed["C"], "C")
    groups = np.array([r.dataset for r in table.recs])
    train = np.flatnonzero(groups != "C")
    assert RULES[crossval.choose(table, RULES, train, groups, observed_s=W)] == observed["C"]
    # measuring stays strict: the chosen rule still counts the cut swings as false alarms
    c = table.correct(observed["C"])
    wrong = [r.name for ok, r in zip(c, table.recs, strict=True) if not ok]
    assert sorted(wrong) == sorted(f"{d}{100 + i}" for d in "AB" for i in range(0, 10, 2))


def test_a_recording_that_shows_what_happens_next_keeps_its_vote():
    """The same swings judged 15 s before the end: the evidence had time to show, so the
    alarms are real false alarms and the choice is the strict one."""
    table = crossval.Table.of(_cut_sets(adl_judged=5.0))
    assert (crossval.held_out_choices(table, RULES, "dataset", observed_s=W)
            == crossval.held_out_choices(table, RULES, "dataset"))


def test_votes_per_recording():
    """An ADL votes unless every episode that alarms it is cut; falls always vote."""
    rule = {**RULES[0], "impact_g": 3.0, "score_threshold": 2.0}
    cut, seen = _judged_at(4.0, 16.0), _judged_at(4.0, 10.0)
    recs = [Episodes("cut", "A", "a", "D", False, "old", 20.0, -np.inf, np.inf, np.array([cut])),
            Episodes("cut+seen", "A", "a", "D", False, "old", 20.0, -np.inf, np.inf,
                     np.array([cut, seen])),
            Episodes("quiet", "A", "a", "D", False, "old", 20.0, -np.inf, np.inf,
                     np.array([_judged_at(1.5, 19.0)])),
            Episodes("fall cut", "A", "a", "F", True, "old", 20.0, -np.inf, np.inf,
                     np.array([cut]))]
    correct, votes = crossval.Table.of(recs).judged(rule, W)
    assert correct.tolist() == [False, False, True, True]
    assert votes.tolist() == [False, True, True, True]
    assert crossval.Table.of(recs).correct(rule).tolist() == correct.tolist()


def test_the_evidence_span_comes_from_the_detector_s_settings():
    """Get-up (1 s) then steps (3 s) plus the get-up rule's 1 s window: 5 s at the wrist."""
    from gateway.evaluation.episodes import evidence_s
    assert evidence_s(WearableFallSettings(), "wrist") == 5.0
    slower = WearableFallSettings.model_validate({"getup_s": 2.0, "wrist": {"walk_s": 4.0}})
    assert evidence_s(slower, "wrist") == 7.0
