"""Fall fusion: a wearable and a radar (or two radars) seeing the same fall make ONE
`fall_suspected` with a combined confidence; either alone still passes through.

Why a stage after the detectors and not a detector: it consumes detections, not readings,
so one object can sit between all detectors and the alarm flow. Two independent weak
witnesses are worth more than either: confidence = 1 - prod(1 - c_i) over the distinct
sensors (0.7 and 0.8 become 0.94), evidence is merged (the most confident source's numbers
win a name clash) and says how many sources agreed.

How the gateway applies it, once per batch and per tick:

    fusion = FallFusion(FallFusion.Settings())            # or from a [fusion] table
    detections = fusion.feed(detections_of_all_detectors, now=batch_end_sensor_time)
    ...on tick:   detections = fusion.feed(tick_detections, now)
    ...at the end of a replay: detections = fusion.flush()

The gateway runs this with `hold_seconds = 0` by default: the first witness is announced
at once (`fall_suspected`, so the centre sees it and a cancel is visible as
`alarm_cancelled`), and later witnesses join the open cancel window in the gateway's alarm
flow, which combines their confidences the same way. A hold > 0 announces one merged
detection instead, at the cost of that latency, and a cancel during the hold then
suppresses the announcement altogether.

A `fall_suspected` opens a group and is held for `hold_seconds` of sensor time (measured
from its occurred_at, so the decision does not depend on how readings were batched); a
radar that needs a few seconds of "still on the floor" joins a wearable's impact when the
hold covers that confirmation time. Any other fall_suspected whose
occurred_at lies within `window_seconds` of the group's first joins it. When the hold ends
the group is released: one member passes through unchanged, several become one merged
detection. Holding costs at most `hold_seconds` of alarm latency, well inside the alarm
centre's cancel window. A fall arriving after its group was released passes through on
its own (a fall is never dropped).

`fall_cancelled` (the person got up) carries its fall's `ref`. Before release it removes
that member; a group left empty disappears with its cancel (nothing was announced, so
nothing is cancelled). After release the first cancel of a merged group is passed on with
the merged detection's ref; later ones are dropped. All other detections pass straight
through. Time comes only from `now` and the detections, so replays are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Iterable

from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detection
from detectors.home_witness import HomeWitnessSettings


class FusionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = Field(True, title="Merge falls seen by several sensors into one")
    window_seconds: float = Field(10.0, gt=0, le=120, title="Falls this close in time are one incident (s)")
    hold_seconds: float = Field(0.0, ge=0, le=60, title="How long a fall waits for a second witness (s)")
    home_witness: HomeWitnessSettings = Field(
        default_factory=HomeWitnessSettings,
        title="The home's sensors confirming or cancelling a worn sensor's suspected fall "
              "(detectors/home_witness.py)")


@dataclass
class _Group:
    t0: float
    release_at: float
    members: list[Detection] = field(default_factory=list)
    ref: str | None = None          # the merged detection's ref, once released
    cancelled: bool = False


class FallFusion:
    Settings: ClassVar[type[BaseModel]] = FusionSettings

    def __init__(self, settings: FusionSettings | None = None) -> None:
        self.s = settings or FusionSettings()
        self._open: list[_Group] = []
        self._done: list[_Group] = []   # released merged groups, kept to route late cancels
        self._now = float("-inf")

    def feed(self, detections: Iterable[Detection], now: float) -> list[Detection]:
        self._now = max(self._now, now)
        out: list[Detection] = []
        if not self.s.enabled:
            return list(detections)
        for d in sorted(detections, key=lambda d: d.occurred_at):
            # Groups whose hold ended before this detection happened go first, so a batch
            # spanning a fall and a later cancel decides as the same readings one by one would.
            self._release(d.occurred_at, out)
            if d.type == "fall_suspected":
                self._suspected(d, out)
            elif d.type == "fall_cancelled":
                self._cancelled(d, out)
            else:
                out.append(d)
        self._release(self._now, out)
        return out

    def tick(self, now: float) -> list[Detection]:
        return self.feed((), now)

    def flush(self) -> list[Detection]:
        """Release every held fall now (end of a replay or an orderly shutdown)."""
        out: list[Detection] = []
        self._release(float("inf"), out)
        return out

    # --- internals ---------------------------------------------------------------------
    def _suspected(self, d: Detection, out: list[Detection]) -> None:
        w = self.s.window_seconds
        for g in self._open:
            if abs(d.occurred_at - g.t0) <= w:
                g.members.append(d)
                return
        self._open.append(_Group(d.occurred_at, d.occurred_at + self.s.hold_seconds, [d]))

    def _cancelled(self, d: Detection, out: list[Detection]) -> None:
        # A cancel names its fall by ref; a detector that gives no ref means its own sensor's.
        def same(m: Detection) -> bool:
            return m.ref == d.ref if d.ref is not None else m.sensor == d.sensor
        for g in self._open:
            for m in g.members:
                if same(m):
                    g.members.remove(m)
                    if not g.members:
                        self._open.remove(g)
                    return      # not yet announced: the cancel is absorbed
        for g in self._done:
            if any(same(m) for m in g.members):
                if not g.cancelled:
                    g.cancelled = True
                    out.append(replace(d, ref=g.ref))
                return
        out.append(d)

    def _release(self, now: float, out: list[Detection]) -> None:
        due = [g for g in self._open if now >= g.release_at]
        if not due:
            self._forget(now)
            return
        self._open = [g for g in self._open if now < g.release_at]
        for g in due:
            if len(g.members) == 1:
                out.append(g.members[0])
                continue
            merged = merge(g.members)
            g.ref = merged.ref
            self._done.append(g)
            out.append(merged)
        self._forget(now)

    def _forget(self, now: float) -> None:
        keep = 3600.0  # a late cancel an hour after a fall is no longer routed
        if self._done and now - self._done[0].t0 > keep:
            self._done = [g for g in self._done if now - g.t0 <= keep]


def merge(members: list[Detection]) -> Detection:
    """One detection from several witnesses of one fall (see the module docstring)."""
    best: dict[str, Detection] = {}
    for m in members:   # one vote per sensor: a detector repeating itself is not a witness
        key = m.sensor or f"_{id(m)}"
        if key not in best or m.confidence > best[key].confidence:
            best[key] = m
    ranked = sorted(best.values(), key=lambda m: -m.confidence)
    miss = 1.0
    for m in ranked:
        miss *= 1.0 - min(max(m.confidence, 0.0), 1.0)
    evidence: dict[str, float] = {}
    for m in ranked:
        for k, v in m.evidence.items():
            evidence.setdefault(k, v)
    for m in ranked:
        if m.sensor:
            evidence[f"confidence_{m.sensor}"] = round(m.confidence, 3)
    t0 = min(m.occurred_at for m in members)
    evidence["fused_sources"] = float(len(ranked))
    evidence["fused_span_s"] = round(max(m.occurred_at for m in members) - t0, 3)
    top = ranked[0]
    room = top.room or next((m.room for m in ranked if m.room), None)
    return Detection("fall_suspected", t0, top.sensor, room, confidence=round(min(1.0 - miss, 0.999), 4),
                     evidence=evidence, ref=top.ref or f"fusion:{t0:.3f}")
