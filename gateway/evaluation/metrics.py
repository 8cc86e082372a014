"""Figures from per-recording outcomes: sensitivity, specificity, per activity, per subject.

Per-subject figures are the leave-subjects-out view: the detector has one fixed setting
(no training on these files), so each subject's own sensitivity and specificity show how
much the result depends on who was recorded; the spread is what to expect on new people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from gateway.evaluation.runner import Outcome


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def summary(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    outs = list(outcomes)
    falls = [o for o in outs if o.rec.is_fall]
    adls = [o for o in outs if not o.rec.is_fall]
    tp = sum(o.detected for o in falls)
    fp = sum(o.false_alarm for o in adls)
    delays = np.array([o.delay_s for o in falls if o.delay_s is not None])
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in adls:
        groups[o.rec.group or "all"].append(o)
    hours = sum(o.rec.duration for o in adls) / 3600.0
    out: dict[str, Any] = {
        "files": len(outs),
        "falls": len(falls),
        "adls": len(adls),
        "detected": tp,
        "missed": len(falls) - tp,
        "false_positives": fp,
        "sensitivity": _rate(tp, len(falls)),
        "specificity": _rate(len(adls) - fp, len(adls)),
        "false_positive_rate_by_group": {
            g: _rate(sum(o.false_alarm for o in v), len(v)) for g, v in sorted(groups.items())},
        "false_alarms_in_fall_files": sum(o.false_alarm for o in falls),
        "adl_hours": round(hours, 3),
        "false_alarms_per_adl_hour": fp / hours if hours > 0 else None,
        "delay_s": None,
    }
    if len(delays):
        out["delay_s"] = {
            "n": len(delays), "median": float(np.median(delays)),
            "p90": float(np.percentile(delays, 90)), "max": float(delays.max()),
            "min": float(delays.min())}
    return out


def by_key(outcomes: Iterable[Outcome], key: str) -> dict[str, dict[str, Any]]:
    """Per activity code or per subject: files, correct ones, and the rate that applies."""
    table: dict[str, dict[str, Any]] = {}
    buckets: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        buckets[getattr(o.rec, key)].append(o)
    for k in sorted(buckets):
        v = buckets[k]
        falls = [o for o in v if o.rec.is_fall]
        adls = [o for o in v if not o.rec.is_fall]
        table[k] = {
            "files": len(v),
            "falls": len(falls), "detected": sum(o.detected for o in falls),
            "adls": len(adls), "false_positives": sum(o.false_alarm for o in adls),
            "sensitivity": _rate(sum(o.detected for o in falls), len(falls)),
            "specificity": _rate(sum(not o.false_alarm for o in adls), len(adls)),
        }
    return table


def spread(per_subject: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Min / median / max of the per-subject rates (subjects lacking a class are skipped)."""
    out: dict[str, Any] = {}
    for rate in ("sensitivity", "specificity"):
        vals = [v[rate] for v in per_subject.values() if v[rate] is not None]
        if vals:
            worst = min(per_subject, key=lambda s: (per_subject[s][rate] is None,
                                                    per_subject[s][rate] or 0))
            out[rate] = {"min": min(vals), "median": float(np.median(vals)), "max": max(vals),
                         "worst_subject": worst, "subjects": len(vals)}
    return out
