"""Replay a trace through the very same Pipeline the daemon runs.

Determinism: the pipeline's clock is the replayed sensor time and its event ids come
from a counter keyed by the trace's name, so replaying one trace twice gives the same
events byte for byte, and the same `occurred_at` as the live run that recorded it.
Readings stream from the file in batches; nothing holds a whole trace in memory.
"""

from __future__ import annotations

import gc
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.config import AlarmConfig, HomeConfig
from gateway.events import Event
from sensordata.readings import reading_time
from sensordata.trace.model import Label, StreamInfo, TraceDamage
from sensordata.trace.reader import RecordedEvent, TraceReader

BATCH = 512
GC_YOUNG = 50_000        # allocations between young-generation collections while replaying
QUIET_TICK_S = 3600.0   # traces with quiet_gaps: how often time moves on through silence
_NS = uuid.UUID("5b1e9a52-8f1c-4d43-9e0b-7f1c2a3b4c5d")


def config_for(reader: TraceReader) -> HomeConfig:
    """A default home built from the trace's own stream metadata, with the settings the
    scenario suggested (timezone, detector tables, alarm flow) when it names any."""
    try:
        suggested = json.loads(reader.meta.get("gateway_config", "{}"))
    except ValueError:
        suggested = {}
    return config_for_streams(reader.streams(), suggested if isinstance(suggested, dict) else {})


def config_for_streams(streams: Iterable[StreamInfo], suggested: dict[str, Any]) -> HomeConfig:
    """The home replay runs for these streams; `suggested` may name a timezone, detector
    tables and alarm settings. `safehome evaluate` builds its home here too, so both
    score the same product."""
    sensors: dict[str, dict[str, Any]] = {}
    for info in streams:
        sensors.setdefault(info.sensor, info.sensor_dict())
    overrides: dict[str, Any] = {}
    if "timezone" in suggested:
        overrides["timezone"] = str(suggested["timezone"])
    if isinstance(suggested.get("detectors"), dict):
        overrides["detectors"] = suggested["detectors"]
    if isinstance(suggested.get("alarm"), dict):
        overrides["alarm"] = AlarmConfig.model_validate(suggested["alarm"])
    return HomeConfig.for_replay(list(sensors.values()), **overrides)


def replay_id(trace: str, n: int, t: float) -> str:
    """The id of a replay's `n`th event: a valid UUIDv7 (as docs/schemas/event.json and
    every gateway id) whose time field is the sensor time, and whose random bits come from
    the trace name and `n`, so replaying the same trace gives the same ids."""
    b = bytearray(uuid.uuid5(_NS, f"{trace}:{n}").bytes)
    b[0:6] = (int(max(t, 0.0) * 1000) & ((1 << 48) - 1)).to_bytes(6, "big")
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


@dataclass
class ReplayResult:
    trace: str
    events: list[Event] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    recorded: list[RecordedEvent] = field(default_factory=list)
    readings: int = 0
    first: float | None = None
    last: float | None = None
    damage: TraceDamage | None = None
    cpu_s: float = 0.0
    config: HomeConfig | None = None
    #: what the detectors learned by the end (the care report reads the trends' days)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def matches(self, label: Label, slack: float = 600.0) -> dict[str, bool]:
        """For each event type the label expects: was one raised in its time span?"""
        return {typ: any(e.type == typ and label.t - 60 <= e.occurred_at <= label.end + slack
                         for e in self.events) for typ in label.expect}


def replay(path: str, config: HomeConfig | None = None, *, speed: float | None = None,
           on_event: Callable[[Event], None] | None = None,
           start: float | None = None, end: float | None = None,
           progress: Callable[[float], None] | None = None) -> ReplayResult:
    """Feed every reading of `path` to a fresh Pipeline; returns what happened.

    `speed` None replays as fast as the CPU allows; otherwise sensor time advances
    `speed` times faster than the wall clock (1.0 = real time). `progress(t)` is called
    with the sensor time reached after each batch."""
    from gateway.pipeline import Pipeline

    reader = TraceReader(path)
    cfg = config or config_for(reader)
    res = ReplayResult(reader.name, config=cfg)
    counter = iter(range(1, 1 << 62))
    now = [reader.start_time or 0.0]
    pipe = _Gateway(lambda: Pipeline(cfg, clock=lambda: now[0],
                                     id_factory=lambda: replay_id(reader.name, next(counter), now[0])))

    def emit(events: Iterable[Event]) -> None:
        for ev in events:
            res.events.append(ev)
            if on_event is not None:
                on_event(ev)

    # Replay makes millions of short-lived objects; each full garbage collection would
    # walk every object alive before it (modules, config, detectors) again. Frozen, those
    # are left out of collections until the replay ends (16 % of a day's replay time).
    # The young generation is collected every GC_YOUNG allocations rather than 700: the
    # readings die young without cycles, so the default ran 5,000 collections a day that
    # found next to nothing (another 7 %); cycles are still collected, RSS is unchanged.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, *thresholds[1:])
    try:
        _run(reader, pipe, res, emit, now, speed, start, end, progress)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return res


class _Gateway:
    """The replayed gateway: its pipeline, and a restart (a new pipeline given the learned
    state of the old, as the daemon does after a reboot) where the trace says the gateway
    was not watching (an imported log's logger outage, gateway/trace/outages.py)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.pipe = make()
        self.restarts = 0

    def feed(self, batch: list[Any]) -> list[Event]:
        return list(self.pipe.feed(batch))

    def tick(self, now: float) -> list[Event]:
        return list(self.pipe.tick(now))

    def finish(self) -> list[Event]:
        return list(self.pipe.finish())

    def detector_states(self) -> dict[str, dict[str, Any]]:
        return dict(self.pipe.detector_states())

    def restart(self) -> None:
        states = self.pipe.detector_states()
        self.pipe = self.make()
        self.pipe.restore_states(json.loads(json.dumps(states)))   # as SQLite keeps them
        self.restarts += 1


def _outages(reader: TraceReader) -> list[tuple[float, float]]:
    try:
        spans = json.loads(reader.meta.get("logger_outages", "[]"))
        return [(float(a), float(b)) for a, b in spans]
    except (ValueError, TypeError):
        return []


def _run(reader: TraceReader, pipe: Any, res: ReplayResult, emit: Callable[[Iterable[Event]], None],
         now: list[float], speed: float | None, start: float | None, end: float | None,
         progress: Callable[[float], None] | None) -> None:
    # An event log's logger ran throughout: silence there is a quiet home, and the daemon's
    # clock would have ticked through it (a day summary for a day away, a deadline on time).
    quiet_gaps = reader.meta.get("quiet_gaps") == "true"
    outages = _outages(reader) if quiet_gaps else []
    cpu0 = time.process_time()
    wall0 = time.monotonic()
    batch: list[Any] = []
    t_max: float | None = None
    for window in reader.windows(start, end):
        i = 0
        while i < len(window):  # labels and recorded events come first in a window
            item = window[i]
            if isinstance(item, Label):
                res.labels.append(item)
            elif isinstance(item, RecordedEvent):
                res.recorded.append(item)
            else:
                break
            i += 1
        last = window[-1] if i < len(window) else None
        if last is not None and not isinstance(last, (Label, RecordedEvent)):
            batch += window[i:] if i else window
            # a window's readings come sorted by sensor time, so its last is its latest:
            # the batch's end without looking at every reading again
            t_last = reading_time(last)
            t_max = t_last if t_max is None or t_last > t_max else t_max
        if len(batch) >= BATCH:
            _feed(pipe, batch, now, res, emit, speed, wall0, t_max, quiet_gaps, outages)
            batch, t_max = [], None
            if progress is not None:
                progress(now[0])
    if batch:
        _feed(pipe, batch, now, res, emit, speed, wall0, t_max, quiet_gaps, outages)
    res.damage = reader.damage
    declared_end = _declared_end(reader)
    if res.last is not None:
        until = res.last if declared_end is None or reader.damage else max(res.last, declared_end)
        if end is not None:
            until = min(until, end)
        if quiet_gaps:   # the log went on after the last reading: a quiet home till its end
            tick = res.last + QUIET_TICK_S
            while tick < until:
                now[0] = tick
                emit(pipe.tick(tick))
                tick += QUIET_TICK_S
        now[0] = until
        emit(pipe.tick(until))
    emit(pipe.finish())
    res.states = pipe.detector_states()
    res.cpu_s = time.process_time() - cpu0


def _feed(pipe: Any, batch: list[Any], now: list[float], res: ReplayResult,
          emit: Callable[[Iterable[Event]], None], speed: float | None, wall0: float,
          t_end: float | None = None, quiet_gaps: bool = False,
          outages: list[tuple[float, float]] | None = None) -> None:
    if quiet_gaps and batch:
        # split the batch where sensor time jumps, and tick through each jump
        last = res.last if res.last is not None else reading_time(batch[0])
        start = 0
        for i, r in enumerate(batch):
            t = reading_time(r)
            if t - last > QUIET_TICK_S:
                if i > start:
                    _feed(pipe, batch[start:i], now, res, emit, speed, wall0)
                    last = max(last, res.last or last)
                tick = last + QUIET_TICK_S
                down = next(((a, b) for a, b in outages or () if last - 1e-3 <= a and b <= t + 1e-3),
                            None)
                while tick < (t if down is None else down[0]):
                    now[0] = tick
                    emit(pipe.tick(tick))
                    tick += QUIET_TICK_S
                if down is not None:   # the logger was down: the gateway was off
                    pipe.restart()
                    tick = down[1] + QUIET_TICK_S
                    while tick < t:
                        now[0] = tick
                        emit(pipe.tick(tick))
                        tick += QUIET_TICK_S
                start = i
            last = max(last, t)
        if start:
            batch = batch[start:]
            t_end = None   # the batch was cut: its end is looked up again
    if t_end is None or t_end != t_end:   # unknown, or a NaN-timed reading: look at them all
        t_end = max(reading_time(r) for r in batch)
    if res.first is None:
        res.first = min(reading_time(r) for r in batch)
    if speed:
        due = wall0 + (t_end - res.first) / speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    now[0] = t_end if res.last is None else max(res.last, t_end)
    res.last = now[0]
    res.readings += len(batch)
    emit(pipe.feed(batch))


def _declared_end(reader: TraceReader) -> float | None:
    from sensordata.timefmt import parse_iso
    text = reader.meta.get("end")
    try:
        return parse_iso(text) if text else None
    except ValueError:
        return None
