"""`safehome evaluate TRACE...`: the whole pipeline over traces that carry ground truth.

A trace's labels say what really happened and which event types a correct gateway raises
for it (`Label.expect`). Each labelled incident is *detected* when every expected type
was raised within its span (from 60 s before it starts to 10 min after it ends, the same
rule `safehome replay` uses); the delay is from the label's start to the first of them
being raised (its `detected_at`, which replay stamps with the end of the batch of
readings it came from, so delays here are accurate to a batch, a few seconds; the
detector-level delays are measured by `safehome evaluate --format sisfall`).
Every alarm-class event that no incident expects is a *false alarm*, reported per
simulated day, because in a home the question is not "how many clips were right" but
"how often would a carer be called out for nothing".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.catalogue import ALARM, describe

SLACK_BEFORE_S = 60.0
SLACK_AFTER_S = 600.0


@dataclass
class TraceScore:
    trace: str
    days: float
    incidents: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)
    damage: str | None = None

    @property
    def detected(self) -> int:
        return sum(1 for i in self.incidents if i["detected"])


def score(result: Any) -> TraceScore:
    """Match one ReplayResult's events against its labels."""
    from sensordata.trace.model import local_time

    tz = result.config.timezone if result.config is not None else None

    def iso(t: float) -> str:  # the home's local time with its offset, like replay and trace plot
        return local_time(t, tz)

    span = (result.last or 0.0) - (result.first or 0.0)
    out = TraceScore(result.trace, span / 86400.0, damage=str(result.damage) if result.damage else None)
    explained: set[int] = set()
    for label in result.labels:
        if not label.expect:
            continue
        lo, hi = label.t - SLACK_BEFORE_S, label.end + SLACK_AFTER_S
        found: dict[str, float] = {}
        for i, ev in enumerate(result.events):
            if lo <= ev.occurred_at <= hi and ev.type in label.expect:
                explained.add(i)
                found.setdefault(ev.type, ev.detected_at)
        missing = [t for t in label.expect if t not in found]
        out.incidents.append({
            "what": label.what, "at": iso(label.t), "room": label.room, "expect": list(label.expect),
            "detected": not missing, "missing": missing,
            "delay_s": round(min(found.values()) - label.t, 2) if found else None})
    for i, ev in enumerate(result.events):
        if i not in explained and describe(ev.type).kind == ALARM and not ev.test:
            out.false_alarms.append({"type": ev.type, "at": iso(ev.occurred_at), "room": ev.room,
                                     "sensor": ev.sensor})
    return out
