"""Feed recordings to a detector as the gateway would, and turn detections into outcomes.

The scoring rule follows what the product does with a detection: `fall_suspected` opens
the gateway's cancel window (30 s by default, `gateway/alarm_flow.py`); the alarm goes
out unless a `fall_cancelled` for the same sensor arrives inside it. So:

- an *alarm* is a `fall_suspected` not followed by `fall_cancelled` within the window;
  a recording that ends before the window closes cannot show a later cancel, so the
  suspicion counts as an alarm (strict for specificity; for falls a cancel within the
  recording turns a detection into a miss);
- a fall recording is *detected* when an alarm's `occurred_at` lies within the labelled
  fall span widened by `onset_slack_s` before and `end_slack_s` after (any alarm counts
  when the dataset has no onset labels, as in UMAFall);
- an ADL recording is a *false positive* when it raises any alarm;
- *delay* is the sensor time at which the detector emitted the alarm's `fall_suspected`
  (the end of the block that produced it; blocks are `block_s` long, like BLE batches)
  minus the first sample labelled as fall.
"""

from __future__ import annotations

from itertools import pairwise
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from gateway.evaluation.recording import Recording
from sensordata.readings import AccelBlock

CANCEL_WINDOW_S = 30.0
ONSET_SLACK_S = 1.0
END_SLACK_S = 3.0


@dataclass
class Outcome:
    """How one recording fared."""

    rec: Recording
    alarms: list[dict[str, Any]] = field(default_factory=list)
    suspected: int = 0
    cancelled: int = 0
    detected: bool = False       # falls: an alarm at the labelled fall
    false_alarm: bool = False    # ADLs: any alarm; falls: an alarm away from the fall
    delay_s: float | None = None
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.detected if self.rec.is_fall else not self.false_alarm


def run_detector(detector: Any, rec: Recording, block_s: float = 0.25,
                 sensor: str = "wearable") -> list[tuple[float, Any]]:
    """Feed `rec` in blocks of `block_s` seconds; return (emitted_at, detection) pairs."""
    out: list[tuple[float, Any]] = []
    t, xyz = rec.t, rec.xyz
    if block_s <= 0:
        edges = np.array([0, len(t)])
    else:
        cuts = np.arange(t[0] + block_s, t[-1], block_s)
        edges = np.concatenate(([0], np.searchsorted(t, cuts, side="right"), [len(t)]))
    for a, b in pairwise(edges):
        if b <= a:
            continue
        for det in detector.feed([AccelBlock(sensor, t[a:b], xyz[a:b])]):
            out.append((float(t[b - 1]), det))
    return out


def score(rec: Recording, emitted: Iterable[tuple[float, Any]],
          cancel_window_s: float = CANCEL_WINDOW_S) -> Outcome:
    """Apply the product's cancel-window rule (module docstring) to one recording."""
    emitted = list(emitted)
    o = Outcome(rec)
    sus = [(at, d) for at, d in emitted if d.type == "fall_suspected"]
    cancels = [at for at, d in emitted if d.type == "fall_cancelled"]
    o.suspected, o.cancelled = len(sus), len(cancels)
    for at, d in sus:
        if any(at <= c <= at + cancel_window_s for c in cancels):
            continue
        o.alarms.append({"occurred_at": d.occurred_at, "emitted_at": at,
                         "confidence": d.confidence, **dict(d.evidence)})
    if rec.is_fall:
        lo = rec.fall_onset - ONSET_SLACK_S if rec.fall_onset is not None else -np.inf
        hi = rec.fall_end + END_SLACK_S if rec.fall_end is not None else np.inf
        hits = [a for a in o.alarms if lo <= a["occurred_at"] <= hi]
        o.detected = bool(hits)
        o.false_alarm = len(hits) < len(o.alarms)
        if hits:
            o.evidence = {k: v for k, v in hits[0].items() if isinstance(v, float)}
            if rec.fall_onset is not None:
                o.delay_s = hits[0]["emitted_at"] - rec.fall_onset
    else:
        o.false_alarm = bool(o.alarms)
        if o.alarms:
            o.evidence = {k: v for k, v in o.alarms[0].items() if isinstance(v, float)}
    return o


def evaluate(recs: Iterable[Recording], make_detector: Callable[[Recording], Any],
             block_s: float = 0.25, progress: Callable[[Recording], None] | None = None
             ) -> list[Outcome]:
    """A fresh detector per recording (recordings are independent), outcomes in order."""
    outcomes = []
    for rec in recs:
        outcomes.append(score(rec, run_detector(make_detector(rec), rec, block_s)))
        if progress is not None:
            progress(rec)
    return outcomes
