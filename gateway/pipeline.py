"""The detection pipeline: readings -> detectors -> alarm flow -> events.

This is the one piece of logic that the live daemon, `safehome replay` and the simulator
share, so it is synchronous and takes time only from the readings (or from `tick`).
Identity comes from injectable `clock` and `id_factory`: live they are the wall clock and
UUIDv7; replay passes sensor time and a deterministic factory, so two replays of one
trace print byte-identical output.
"""

from __future__ import annotations

import logging
import numbers
import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from detectors import registry as detector_registry
from detectors.base import Detection, Detector, SensorMeta
from detectors.fusion import FallFusion
from detectors.home_views import HomeTrackers
from detectors.home_witness import HomeWitness
from gateway.alarm_flow import AlarmFlow
from gateway.catalogue import describe, render
from gateway.config import HomeConfig
from gateway.events import Event, new_event_id
from gateway.sensors import expand as expand_sensors
from sensordata.readings import AccelBlock, Motion, Presence, RadarTargets

log = logging.getLogger("safehome.pipeline")

ROOM_MEMORY_S = 30 * 60.0  # activity older than this says nothing about where someone is
#: Activity this much *after* a worn sensor's detection still places it: readings are fed in
#: batches (the radar frames just after a fall are tracked before the wearable's detection
#: is made) and live drivers' clocks differ by fractions of a second. Without it the demo's
#: fall_suspected said "room unknown" and the fall a moment later "living room".
ROOM_LOOKAHEAD_S = 30.0
ALARM_FLOW_STATE = "alarm_flow"  # the open cancel window, saved next to the detectors' state
LOCATED_TYPES = frozenset({"fall_suspected", "fall", "alarm_cancelled", "sos"})  # about a person


def coalesce_blocks(readings: Sequence[Any],
                    parts: dict[str, list[int]] | None = None) -> Sequence[Any]:
    """Join each sensor's consecutive sample blocks in a batch into one block, placed where
    its last part was. Detectors do the same work per call whatever the block length, so a
    BLE stream's many small notifications or a trace's 1 s windows cost one call, not dozens.
    `parts` (each sensor's block indices, as the pipeline's `_scan` found them) saves a
    pass over the batch."""
    if parts is None:
        parts = {}
        for i, r in enumerate(readings):
            if isinstance(r, AccelBlock):
                parts.setdefault(r.sensor, []).append(i)
    if all(len(p) < 2 for p in parts.values()):
        return readings
    out = list(readings)
    merged_away: list[int] = []
    for p in parts.values():
        if len(p) > 1:
            blocks = [readings[i] for i in p]
            out[p[-1]] = AccelBlock(blocks[-1].sensor, np.concatenate([b.t for b in blocks]),
                                    np.concatenate([b.xyz for b in blocks]))
            merged_away += p[:-1]
    for i in sorted(merged_away, reverse=True):   # a few per batch: no pass over the rest
        del out[i]
    return out


def sensor_meta(config: HomeConfig) -> dict[str, SensorMeta]:
    return {k.meta.id: k.meta for k in expand_sensors(config)}


class Pipeline:
    def __init__(self, config: HomeConfig, *, clock: Callable[[], float] = time.time,
                 id_factory: Callable[[], str] | None = None, seq_start: int = 0) -> None:
        self.config = config
        self.clock = clock
        self.id_factory = id_factory or (lambda: new_event_id())
        self.seq = seq_start
        self.now: float | None = None  # latest sensor time seen
        self.room_names = config.room_names()
        meta = sensor_meta(config)
        # One tracker of where the person is, shared by every detector that asks (activity,
        # away): updated once per batch here, not once per detector (detectors/activity.py)
        self.homes = HomeTrackers(meta)
        self.detectors: dict[str, Detector[Any]] = {
            name: detector_registry.build(name, settings, meta, config.timezone, self.homes)
            for name, settings in config.detector_settings().items()
        }
        self.fusion = FallFusion(config.fusion_settings())
        self.flow = AlarmFlow(config.alarm.cancel_window, self._make)
        # The home's sensors as a second witness of a worn sensor's suspected fall: asked
        # whenever the open window's time moves (see _advance)
        self.witness = HomeWitness(config.fusion_settings().home_witness, meta)
        self.rooms_of = {sid: m.room for sid, m in meta.items() if m.room is not None}
        self.last_room: tuple[str, float] | None = None  # (room, sensor time) of the last activity
        self._out: list[Event] = []
        self.readings_seen = 0
        self.on_seq: Callable[[int], None] | None = None  # the daemon reserves seqs ahead
        self.detector_failures: dict[str, int] = {}  # detector -> exceptions contained

    # -- identity ------------------------------------------------------------------------
    def _where(self, type_name: str, det: Detection) -> Detection:
        """A worn sensor has no room; a person is where the home last saw someone move.
        The guess is marked (`room_inferred`, and "probably" in the texts)."""
        if det.room is not None or self.last_room is None or type_name not in LOCATED_TYPES:
            return det
        room, seen = self.last_room
        age = det.occurred_at - seen
        if not -ROOM_LOOKAHEAD_S <= age <= ROOM_MEMORY_S:
            return det
        return replace(det, room=room, evidence={**det.evidence, "room_inferred": 1,
                                                 "room_seen_s_ago": round(max(age, 0.0))})

    def _scan(self, readings: Sequence[Any]) -> tuple[float, dict[str, list[int]] | None]:
        """One pass over a batch (a day is 1.9 million readings): track the room of the
        latest activity (`last_room`), and return the batch's latest sensor time (as
        `max(reading_time(r) ...)`) and, when one sensor sent several sample blocks (then
        `coalesce_blocks` has work to do), each sensor's block indices, else None."""
        rooms_of = self.rooms_of
        last_room = self.last_room
        end: float | None = None
        blocks: dict[str, list[int]] = {}
        several = False
        for i, r in enumerate(readings):
            if isinstance(r, RadarTargets):
                t = r.t
                active = bool(r.targets)
            elif isinstance(r, AccelBlock):
                t = r.end
                at = blocks.get(r.sensor)
                if at is None:
                    blocks[r.sensor] = [i]
                else:
                    at.append(i)
                    several = True
                active = False
            else:
                t = r.t
                active = ((isinstance(r, Motion) and r.active)
                          or (isinstance(r, Presence) and bool(r.present)))
            if end is None or t > end:
                end = t
            if active:
                room = rooms_of.get(r.sensor)
                if room is not None and (last_room is None or r.t >= last_room[1]):
                    last_room = (room, r.t)
        self.last_room = last_room
        assert end is not None   # readings is not empty
        return end, blocks if several else None

    def _make(self, type_name: str, det: Detection, ref: str | None, *, test: bool = False,
              names: Mapping[str, str] | None = None) -> str:
        """One event. `names` are words for the texts only (never evidence, which is numbers)."""
        info = describe(type_name)
        det = self._where(type_name, det)
        self.seq += 1
        if self.on_seq is not None:
            self.on_seq(self.seq)
        evidence = {k: _plain(v) for k, v in det.evidence.items()}
        values = {"room": det.room, "sensor": det.sensor, **evidence, **(names or {})}
        ev = Event(
            id=self.id_factory(), seq=self.seq, type=type_name, severity=info.severity,
            occurred_at=det.occurred_at, detected_at=self.clock(),
            text=render(type_name, values, self.room_names), room=det.room, sensor=det.sensor,
            confidence=det.confidence, evidence=evidence, ref=ref, test=test)
        self._out.append(ev)
        return ev.id

    def _take(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    # -- the three ways time moves ------------------------------------------------------
    def feed(self, readings: Sequence[Any]) -> list[Event]:
        """Readings in sensor-time order (per sensor); returns the events they caused."""
        if not readings:
            return []
        self.readings_seen += len(readings)
        end, blocks = self._scan(readings)
        self.witness.observe(readings)
        if blocks is not None:
            readings = coalesce_blocks(readings, blocks)
        detections: list[Detection] = []
        homes = self.homes
        try:
            homes.track(readings)
        except Exception:  # noqa: BLE001 - as a detector's bug: the home's detectors see nothing new
            homes.release()
            self._detector_failed("home_tracker", "feed", end)
        for name, det in self.detectors.items():
            try:
                detections.extend(det.feed(readings))
            except Exception:  # noqa: BLE001 - a detector bug must not stop the others or the daemon
                self._detector_failed(name, "feed", end)
        homes.release()
        self.now = end if self.now is None else max(self.now, end)
        self._handle(self.fusion.feed(detections, self.now))
        self._advance(self.now)
        return self._take()

    def tick(self, now: float) -> list[Event]:
        """Advance sensor time without readings (the live daemon calls this each second)."""
        if self.now is not None and now <= self.now:
            return self._take()
        self.now = now
        detections: list[Detection] = []
        for name, det in self.detectors.items():
            try:
                detections.extend(det.tick(now))
            except Exception:  # noqa: BLE001 - one detector's bug must not stop time for the rest
                self._detector_failed(name, "tick", now)
        self._handle(self.fusion.feed(detections, now))
        self._advance(now)
        return self._take()

    def finish(self) -> list[Event]:
        """End of a replay: release held falls, then let an open cancel window run out."""
        self._handle(self.fusion.flush())
        if self.flow.window is not None:
            self._advance(self.flow.window.deadline)
        return self._take()

    def _detector_failed(self, name: str, where: str, now: float) -> None:
        """Count every failure; the first of each detector is logged with its traceback and
        raises a `detector_failure` event, so the centre knows what the home cannot see."""
        n = self.detector_failures.get(name, 0) + 1
        self.detector_failures[name] = n
        if n > 1:
            return
        log.exception("detector %s failed in %s (counted; logged only this first time)", name, where)
        self._make("detector_failure", Detection("detector_failure", now), None,
                   names={"detector": name})

    def _handle(self, detections: Iterable[Detection]) -> None:
        for d in sorted(detections, key=lambda d: d.occurred_at):
            self._advance(d.occurred_at)
            if d.type == "fall_suspected" and d.room is None:
                d = self._placed(d)
            before = self.flow.window
            self.flow.handle(d)
            w = self.flow.window
            if d.type == "fall_suspected" and w is not None:
                self.witness.suspected(w.suspected_id, d, first=w is not before)

    def _placed(self, d: Detection) -> Detection:
        """A worn sensor's fall happened where the home saw someone at that moment, measured
        from the readings' own times (the witness's history), so it does not depend on
        how readings were batched; the fall, or its cancel, then name the same room."""
        where = self.witness.place(d.occurred_at)
        if where is None:
            return d
        room, _, age = where
        return replace(d, room=room, evidence={**d.evidence, "room_inferred": 1,
                                               "room_seen_s_ago": round(age)})

    def _advance(self, t: float) -> None:
        """Move the cancel window's time to `t`; the home's verdict up to then (a cancel or
        an early confirmation, dated at its evidence) comes first, so how readings were
        batched never changes which of them wins."""
        w = self.flow.window
        if w is None:
            self.witness.verdict(None, t)   # no window: the witness forgets any it watched
        else:
            verdict = self.witness.verdict(w.suspected_id, min(t, w.deadline))
            if verdict is not None:
                self.flow.handle(verdict)
        self.flow.advance(t)

    # -- events that do not come from detectors -----------------------------------------
    def technical(self, type_name: str, occurred_at: float, *, sensor: str | None = None,
                  room: str | None = None, evidence: Mapping[str, float] | None = None,
                  ref: str | None = None, test: bool = False) -> Event:
        self._make(type_name, Detection(type_name, occurred_at, sensor, room, 1.0,
                                        dict(evidence or {})), ref, test=test)
        return self._out.pop()

    # -- learned state ---------------------------------------------------------------------
    def detector_states(self) -> dict[str, dict[str, Any]]:
        return {n: state for n, d in self.detectors.items() if (state := d.state())}

    def restore_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        flow = states.get(ALARM_FLOW_STATE)
        if flow is not None:
            try:
                self.flow.restore(flow)
            except (KeyError, TypeError, ValueError):
                log.exception("could not restore the open cancel window")
        for name, state in states.items():
            det = self.detectors.get(name)
            if det is not None:
                try:
                    det.restore(state)
                except Exception:  # stale or foreign state: start learning afresh
                    log.exception("could not restore learned state of detector %s", name)


def _plain(value: Any) -> Any:
    """Evidence as plain Python numbers: a detector's np.float32 or np.int64 would not
    serialise to JSON, neither in the store nor on the wire."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value
