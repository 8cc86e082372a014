"""The detection pipeline: readings -> detectors -> alarm flow -> events.

This is the one piece of logic that the live daemon, `safehome replay` and the simulator
share, so it is synchronous and takes time only from the readings (or from `tick`).
Identity comes from injectable `clock` and `id_factory`: live they are the wall clock and
UUIDv7; replay passes sensor time and a deterministic factory, so two replays of one
trace print byte-identical output.
"""

from __future__ import annotations

import inspect
import logging
import numbers
import time
from dataclasses import replace

import numpy as np
from typing import Any, Callable, Iterable, Mapping, Sequence

from detectors import registry as detector_registry
from detectors.base import Detection, SensorMeta
from detectors.fusion import FallFusion
from gateway.alarm_flow import AlarmFlow
from gateway.catalogue import describe, render
from gateway.config import HomeConfig
from gateway.events import Event, new_event_id
from gateway.readings import AccelBlock, reading_time
from gateway.sensors import expand as expand_sensors

log = logging.getLogger("safehome.pipeline")

ROOM_MEMORY_S = 30 * 60.0  # activity older than this says nothing about where someone is
ALARM_FLOW_STATE = "alarm_flow"  # the open cancel window, saved next to the detectors' state
LOCATED_TYPES = frozenset({"fall_suspected", "fall", "alarm_cancelled", "sos"})  # about a person


def coalesce_blocks(readings: Sequence[Any]) -> Sequence[Any]:
    """Join each sensor's consecutive sample blocks in a batch into one block, placed where
    its last part was. Detectors do the same work per call whatever the block length, so a
    BLE stream's many small notifications or a trace's 1 s windows cost one call, not dozens."""
    parts: dict[str, list[AccelBlock]] = {}
    for r in readings:
        if r.kind == "accel":
            parts.setdefault(r.sensor, []).append(r)
    if all(len(p) < 2 for p in parts.values()):
        return readings
    last = {id(p[-1]): p for p in parts.values() if len(p) > 1}
    merged_away = {id(b) for p in last.values() for b in p[:-1]}
    out: list[Any] = []
    for r in readings:
        if id(r) in merged_away:
            continue
        p = last.get(id(r))
        if p is not None:
            r = AccelBlock(r.sensor, np.concatenate([b.t for b in p]),
                           np.concatenate([b.xyz for b in p]))
        out.append(r)
    return out


def _build(cls: type, settings: Any, meta: Mapping[str, SensorMeta], timezone: str) -> Any:
    """Detectors that keep local time (windows, days) are told the home's timezone."""
    if "timezone" in inspect.signature(cls).parameters:
        return cls(settings, meta, timezone=timezone)
    return cls(settings, meta)


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
        self.detectors: dict[str, Any] = {
            name: _build(detector_registry.load(name), settings, meta, config.timezone)
            for name, settings in config.detector_settings().items()
        }
        self.fusion = FallFusion(config.fusion_settings())
        self.flow = AlarmFlow(config.alarm.cancel_window, self._make)
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
        if not 0 <= age <= ROOM_MEMORY_S:
            return det
        return replace(det, room=room, evidence={**det.evidence, "room_inferred": 1,
                                                 "room_seen_s_ago": round(age)})

    def _track_room(self, readings: Sequence[Any]) -> None:
        for r in readings:
            room = self.rooms_of.get(r.sensor)
            if room is None:
                continue
            kind = r.kind
            if ((kind == "motion" and r.active) or (kind == "presence" and r.present)
                    or (kind == "radar_targets" and r.targets)):
                if self.last_room is None or r.t >= self.last_room[1]:
                    self.last_room = (room, r.t)

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
        end = max(reading_time(r) for r in readings)
        self._track_room(readings)
        readings = coalesce_blocks(readings)
        detections: list[Detection] = []
        for name, det in self.detectors.items():
            try:
                detections.extend(det.feed(readings))
            except Exception:  # noqa: BLE001 - a detector bug must not stop the others or the daemon
                self._detector_failed(name, "feed", end)
        self.now = end if self.now is None else max(self.now, end)
        self._handle(self.fusion.feed(detections, self.now))
        self.flow.advance(self.now)
        return self._take()

    def tick(self, now: float) -> list[Event]:
        """Advance sensor time without readings (the live daemon calls this each second)."""
        if self.now is not None and now <= self.now:
            return self._take()
        self.now = now
        detections: list[Detection] = []
        for name, det in self.detectors.items():
            tick = getattr(det, "tick", None)
            if tick is not None:
                try:
                    detections.extend(tick(now))
                except Exception:  # noqa: BLE001 - one detector's bug must not stop time for the rest
                    self._detector_failed(name, "tick", now)
        self._handle(self.fusion.feed(detections, now))
        self.flow.advance(now)
        return self._take()

    def finish(self) -> list[Event]:
        """End of a replay: release held falls, then let an open cancel window run out."""
        self._handle(self.fusion.flush())
        if self.flow.window is not None:
            self.flow.advance(self.flow.window.deadline)
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
            self.flow.advance(d.occurred_at)
            self.flow.handle(d)

    # -- events that do not come from detectors -----------------------------------------
    def technical(self, type_name: str, occurred_at: float, *, sensor: str | None = None,
                  room: str | None = None, evidence: Mapping[str, float] | None = None,
                  ref: str | None = None, test: bool = False) -> Event:
        self._make(type_name, Detection(type_name, occurred_at, sensor, room, 1.0,
                                        dict(evidence or {})), ref, test=test)
        return self._out.pop()

    # -- learned state ---------------------------------------------------------------------
    def detector_states(self) -> dict[str, dict[str, Any]]:
        return {n: d.state() for n, d in self.detectors.items() if hasattr(d, "state")}

    def restore_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        flow = states.get(ALARM_FLOW_STATE)
        if flow is not None:
            try:
                self.flow.restore(flow)
            except (KeyError, TypeError, ValueError):
                log.exception("could not restore the open cancel window")
        for name, state in states.items():
            det = self.detectors.get(name)
            if det is not None and hasattr(det, "restore"):
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
