"""Feed recordings through the gateway's own Pipeline and score the events it raises.

Why the whole pipeline and not the detector alone: an evaluation must score the product.
`safehome run` and `safehome replay` turn readings into events with `gateway.pipeline.
Pipeline` (detectors, fall fusion, the alarm flow's cancel window) on a home config; so
does this module, with the very config `safehome replay` builds for an imported CSV
(`gateway.trace.replay.config_for`: one worn sensor with its placement, every other
setting at its default). An evaluation and an import + replay of the same samples
therefore give the same verdict (tests/test_evaluate_agrees_with_replay.py checks it).

Scoring the events:

- an *alarm* is a `fall` event: the alarm flow raised it because no cancel (the detector
  seeing the person get up) arrived within the cancel window (30 s by default); when a
  recording ends before the window closes the pipeline is finished like a replay, so the
  alarm goes out (strict for specificity; for falls a cancel within the recording turns a
  detection into a miss);
- a fall recording is *detected* when an alarm's `occurred_at` lies within the labelled
  fall span widened by `onset_slack_s` before and `end_slack_s` after (any alarm counts
  when the dataset has no onset labels, as in UMAFall and FallAllD);
- an ADL recording is a *false positive* when it raises any alarm;
- *delay* is when the gateway announced the alarm's `fall_suspected` (its `detected_at`:
  the end of the block of samples that produced it; blocks are `block_s` long, like BLE
  batches) minus the first sample labelled as fall.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from detectors.wearable_fall import WearableFallDetector
from gateway.config import HomeConfig
from gateway.evaluation.recording import Recording
from gateway.events import Event
from sensordata.readings import AccelBlock

ONSET_SLACK_S = 1.0
END_SLACK_S = 3.0
SENSOR = "wearable"
_NS = uuid.UUID("0f3c61a4-2b7e-4c55-9d1e-a8e1c7f5e2b9")


@dataclass
class Outcome:
    """How one recording fared."""

    rec: Recording
    alarms: list[dict[str, Any]] = field(default_factory=list)
    suspected: int = 0
    cancelled: int = 0
    detected: bool = False       # falls: an alarm at the labelled fall
    seen: bool = False           # falls: a fall_suspected at the fall (perhaps cancelled later)
    false_alarm: bool = False    # ADLs: any alarm; falls: an alarm away from the fall
    delay_s: float | None = None
    evidence: dict[str, float] = field(default_factory=dict)
    timing: dict[str, int] = field(default_factory=dict)   # samples the grid could not place

    @property
    def correct(self) -> bool:
        return self.detected if self.rec.is_fall else not self.false_alarm


def home_config(placement: str, detectors: dict[str, dict[str, Any]] | None = None) -> HomeConfig:
    """The home `safehome replay` builds for a trace of one imported worn sensor, with
    optional `[detectors.*]` tables (what `--set` changes)."""
    from gateway.trace.replay import config_for_streams
    from sensordata.trace.model import StreamInfo
    info = StreamInfo(SENSOR, "accel", driver="csv", placement=placement, units="g",
                      axes=("x", "y", "z"))
    return config_for_streams([info], {"detectors": detectors} if detectors else {})


@dataclass
class Run:
    events: list[Event]
    timing: dict[str, int]


def run_pipeline(config: HomeConfig, rec: Recording, block_s: float = 0.25) -> Run:
    """Feed `rec` to a fresh Pipeline in blocks of `block_s` seconds, as the daemon would
    receive them, then finish it like the end of a replay; returns every event."""
    from gateway.pipeline import Pipeline
    counter = iter(range(1, 1 << 62))
    now = [float(rec.t[0]) if len(rec.t) else 0.0]
    pipe = Pipeline(config, clock=lambda: now[0],
                    id_factory=lambda: str(uuid.uuid5(_NS, f"{rec.name}:{next(counter)}")))
    t, xyz = rec.t, rec.xyz
    if block_s <= 0:
        edges = np.array([0, len(t)])
    else:
        cuts = np.arange(t[0] + block_s, t[-1], block_s)
        edges = np.concatenate(([0], np.searchsorted(t, cuts, side="right"), [len(t)]))
    events: list[Event] = []
    for a, b in pairwise(edges):
        if b <= a:
            continue
        now[0] = max(now[0], float(t[a:b].max()))
        events += pipe.feed([AccelBlock(SENSOR, t[a:b], xyz[a:b])])
    events += pipe.tick(now[0])
    events += pipe.finish()
    wearable = pipe.detectors.get("wearable_fall")
    return Run(events, wearable.timing(SENSOR) if isinstance(wearable, WearableFallDetector) else {})


def score(rec: Recording, events: Sequence[Event]) -> Outcome:
    """Apply the scoring rule (module docstring) to the events of one recording."""
    o = Outcome(rec)
    suspected = {e.id: e for e in events if e.type == "fall_suspected"}
    o.suspected = len(suspected)
    o.cancelled = sum(e.type == "alarm_cancelled" for e in events)
    for e in events:
        if e.type != "fall":
            continue
        sus = suspected.get(e.ref or "")
        o.alarms.append({"occurred_at": e.occurred_at,
                         "emitted_at": sus.detected_at if sus else e.detected_at,
                         "confidence": e.confidence or 0.0, **dict(e.evidence)})
    if rec.is_fall:
        lo = rec.fall_onset - ONSET_SLACK_S if rec.fall_onset is not None else -np.inf
        hi = rec.fall_end + END_SLACK_S if rec.fall_end is not None else np.inf
        hits = [a for a in o.alarms if lo <= a["occurred_at"] <= hi]
        o.detected = bool(hits)
        o.seen = any(lo <= e.occurred_at <= hi for e in suspected.values())
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


def evaluate(recs: Iterable[Recording], make_config: Callable[[Recording], HomeConfig],
             block_s: float = 0.25, progress: Callable[[Recording], None] | None = None
             ) -> list[Outcome]:
    """A fresh pipeline per recording (recordings are independent), outcomes in order."""
    outcomes = []
    for rec in recs:
        run = run_pipeline(make_config(rec), rec, block_s)
        outcome = score(rec, run.events)
        outcome.timing = run.timing
        outcomes.append(outcome)
        if progress is not None:
            progress(rec)
    return outcomes
