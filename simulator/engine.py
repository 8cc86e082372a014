"""Run a scenario: the timeline, every sensor's generator and the imperfections, merged
into one arrival-ordered stream of readings and labels, ten minutes at a time.

Streaming in slices keeps memory flat (a 30-day run needs no more than a 10-minute one),
and each slice's random generators are seeded by (seed, sensor, slice), so a trace is a
pure function of scenario and seed: the same bytes on every run and every machine with
the same numpy.
"""

from __future__ import annotations

import heapq
import json
import math
import zlib
from bisect import bisect_left
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, Callable, Collection, Iterable, Iterator

import numpy as np

from sensordata.readings import AccelBlock, Battery, HeartRate, RadarPoints, RadarTargets, Target
from sensordata.trace.model import Label, StreamInfo
from simulator import ambient, imperfect, radar, wearable
from simulator.routine import build_timeline
from simulator.scenario import Scenario, SensorSpec
from simulator.timeline import Segment, locate

SLICE_S = 600.0
Item = tuple[float, Any]   # (arrival time, reading or Label)


def _sid(text: str) -> int:
    return zlib.crc32(text.encode())


def streams_of(spec: SensorSpec) -> list[StreamInfo]:
    base: dict[str, Any] = dict(driver=spec.driver, model=spec.model, room=spec.room,
                                placement=spec.placement, role=spec.role)
    if spec.kind == "wearable":
        out = [StreamInfo(spec.id, "accel", rate_hz=float(spec.rate_hz or 50), units="g",
                          axes=("x", "y", "z"), **base)]
        if spec.options.get("heart_rate", True):
            out.append(StreamInfo(spec.id, "heart_rate", rate_hz=1.0, **base))
        out.append(StreamInfo(spec.id, "battery", **base))
        out.append(StreamInfo(spec.id, "button", **base))   # its SOS button
        return out
    if spec.kind == "radar":
        out = [StreamInfo(spec.id, "radar_targets", rate_hz=float(spec.rate_hz or 10), **base)]
        if spec.options.get("points", False):
            out.append(StreamInfo(spec.id, "radar_points", rate_hz=float(spec.rate_hz or 10),
                                  **base))
        return out
    kind = {"motion": "motion", "door": "contact", "button": "button"}[spec.kind]
    return [StreamInfo(spec.id, kind, **base)]


class Simulation:
    def __init__(self, scn: Scenario, seed: int = 0,
                 sensors: Collection[str] | None = None) -> None:
        """With `sensors`, only those sensors' event lists are built (each from its own
        random stream, so they are the same as with every sensor) and `items()` renders
        only them by default: the live driver plays one sensor and need not hold the rest."""
        self.scn, self.seed = scn, seed
        self.sensors = None if sensors is None else frozenset(sensors)
        self.segs, self.labels = build_timeline(scn, seed)
        self._starts = np.array([s.t0 for s in self.segs])
        self.labels += self._activity_labels()
        self.labels.sort(key=lambda lb: lb.t)
        self._events: dict[str, list[Item]] = {}
        for spec in scn.sensors:
            if self.sensors is not None and spec.id not in self.sensors:
                continue
            rng = np.random.default_rng([seed, _sid(spec.id), 999_999])
            if spec.kind == "motion":
                self._events[spec.id] = ambient.motion_events(spec, self.segs, rng, scn)
            elif spec.kind == "door":
                self._events[spec.id] = ambient.door_events(spec, self.segs, rng, scn)
            elif spec.kind == "button":
                self._events[spec.id] = ambient.button_events(spec, scn)
        if not any(s.kind == "button" for s in scn.sensors):
            wear = [s for s in scn.sensors if s.kind == "wearable"]
            if wear and (self.sensors is None or wear[0].id in self.sensors):
                # the wearable's own SOS button
                self._events.setdefault(wear[0].id, []).extend(ambient.button_events(wear[0], scn))
        for events in self._events.values():   # by time (stable), so a slice is a bisection
            events.sort(key=lambda item: item[0])
        self._event_times = {k: [t for t, _ in v] for k, v in self._events.items()}

    def event_readings(self) -> list[Any]:
        """Only the event sensors' readings (motion, doors, buttons), in time order, without
        imperfections: a 90-day home in a second, for routine trends and their tests
        (a full trace also renders every radar frame and wearable sample)."""
        items = sorted((t, i, r) for i, (t, r) in enumerate(
            item for events in self._events.values() for item in events))
        return [r for _, _, r in items]

    def _activity_labels(self) -> list[Label]:
        """Hard sit-downs and ordinary outings, so evaluations can see what a false alarm
        was made of."""
        out = []
        for s in self.segs:
            if s.act == "sit_down" and s.params.get("hard"):
                out.append(Label(s.t0, s.t1, "sit_down_hard", s.room, detail={"kind": "activity"}))
            elif s.act == "out" and s.dur > 600:
                out.append(Label(s.t0, s.t1, "away", None, detail={"kind": "activity"}))
        return [lb for lb in out if self.scn.start <= lb.t < self.scn.end]

    def streams(self) -> list[StreamInfo]:
        return [info for spec in self.scn.sensors for info in streams_of(spec)]

    def meta(self) -> dict[str, str]:
        scn = self.scn
        gw = {"timezone": str(scn.tz.key), **scn.gateway}
        return {"scenario": scn.name, "seed": str(self.seed),
                "start": _iso(scn.start), "end": _iso(scn.end),
                "duration_s": repr(scn.duration), "timezone": str(scn.tz.key),
                "generator": "safehome simulate", "gateway_config": json.dumps(gw, sort_keys=True)}

    # --- per slice --------------------------------------------------------------------
    def _segments(self, a: float, b: float) -> list[Segment]:
        i = locate(self.segs, a)
        out = []
        while i < len(self.segs) and self.segs[i].t0 < b:
            if self.segs[i].t1 > a:
                out.append(self.segs[i])
            i += 1
        return out

    def _wearable(self, spec: SensorSpec, a: float, b: float, rng: np.random.Generator,
                  noise: float, range_g: float | None) -> list[Item]:
        blocks, hr_items = self._wearable_parts(spec, a, b, rng, noise, range_g)
        return list(blocks) + hr_items

    def _wearable_parts(self, spec: SensorSpec, a: float, b: float, rng: np.random.Generator,
                        noise: float, range_g: float | None) -> tuple[Iterator[Item], list[Item]]:
        """The slice's accelerometer blocks (made as they are taken: the slice keeps its
        samples as three arrays, not a few hundred block objects) and heart rates; every
        random draw is made here, in the same order as ever."""
        rate = float(spec.rate_hz or 50)
        block = max(1, int(round(rate * float(spec.options.get("block_s", 1.0)))))
        k0 = math.ceil((a - self.scn.start) * rate - 1e-9)
        k1 = math.ceil((b - self.scn.start) * rate - 1e-9)
        t = self.scn.start + np.arange(k0, k1) / rate
        xyz = np.zeros((len(t), 3))
        present = np.ones(len(t), dtype=bool)
        wrist = spec.placement == "wrist"
        hr_items: list[Item] = []
        for seg in self._segments(a, b):
            i0, i1 = np.searchsorted(t, [seg.t0, seg.t1])
            if seg.act == "out":
                present[i0:i1] = False
                continue
            if i1 > i0:
                xyz[i0:i1] = wearable.segment_accel(seg, t[i0:i1], wrist, rng, noise)
            if spec.options.get("heart_rate", True):
                for ts in np.arange(math.ceil(max(seg.t0, a)), min(seg.t1, b)):
                    bpm = wearable.heart_rate(seg) + 4 * math.sin(ts / 900.0) + rng.normal(0, 1.5)
                    worn = seg.worn
                    hr_items.append((float(ts), HeartRate(spec.id, float(ts),
                                                          int(round(bpm)) if worn else 0,
                                                          (), worn)))
        # the sensor's resolution (2^-11 g), then its full scale
        lsb = 2.0 ** -11
        full_scale = np.floor((range_g or float(spec.options.get("range_g", 16.0))) / lsb) * lsb
        xyz = imperfect.saturate(np.round(xyz / lsb) * lsb, full_scale)
        return _blocks(spec.id, t, xyz, present, block), hr_items

    def _radar(self, spec: SensorSpec, a: float, b: float, rng: np.random.Generator,
               noise: float) -> list[Item]:
        t, track, tid, frame0 = self._radar_track(spec, a, b, rng, noise)
        points = bool(spec.options.get("points", False))
        items: list[Item] = []
        rows, tids, ts = track.tolist(), tid.tolist(), t.tolist()
        for i, (ti, row) in enumerate(zip(ts, rows, strict=True)):
            seen = row[0] == row[0]   # not NaN
            targets = (Target(tids[i], *row),) if seen else ()
            items.append((ti, RadarTargets(spec.id, ti, frame0 + i, targets)))
            if points:
                pts = radar.point_cloud(track[i], rng) if seen else np.zeros((0, 5), np.float32)
                items.append((ti, RadarPoints(spec.id, ti, frame0 + i, pts)))
        return items

    def _radar_track(self, spec: SensorSpec, a: float, b: float, rng: np.random.Generator,
                     noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The slice's frame times, track (x, y, z, vx, vy, vz, height; NaN: nobody seen),
        target ids and first frame number; every draw but the point clouds' is made here."""
        rate = float(spec.rate_hz or 10)
        k0 = math.ceil((a - self.scn.start) * rate - 1e-9)
        k1 = math.ceil((b - self.scn.start) * rate - 1e-9)
        t = self.scn.start + np.arange(k0, k1) / rate
        track = np.full((len(t), 7), np.nan)
        tid = np.zeros(len(t), dtype=np.int64)
        room = self.scn.room(spec.room) if spec.room else None
        for seg in self._segments(a, b):
            if room is None or seg.room != room.id or seg.act == "out":
                continue
            i0, i1 = np.searchsorted(t, [seg.t0, seg.t1])
            if i1 <= i0:
                continue
            j = locate(self.segs, seg.t0 - 1e-6)
            prev = self.segs[j].posture if j < len(self.segs) and self.segs[j] is not seg else "upright"
            tr = radar.segment_track(seg, t[i0:i1], prev, rng, noise)
            hidden = radar.in_blind(tr[:, :2], room.blind)
            tr[:, :2] = radar.room_frame(tr[:, :2], room.size)
            tr[hidden] = np.nan
            track[i0:i1] = tr
            tid[i0:i1] = 1 + (_sid(f"{seg.room}{int(seg.t0) // 3600}") % 200)
        track = np.round(track * 1000.0) / 1000.0   # millimetres, as trackers report
        return t, track, tid, int(k0)

    def slice(self, index: int, sensors: Collection[str] | None = None) -> list[Item]:
        return list(self._slice(index, sensors))

    def _slice(self, index: int, sensors: Collection[str] | None = None) -> Iterator[Item]:
        """Everything that arrives in slice `index`, in arrival order; with `sensors`, only
        those sensors' readings (and the labels). Each sensor's generator is seeded by
        (seed, sensor, slice) alone, so a sensor's readings are the same with or without
        the others: the live driver renders just the sensor it plays, instead of every
        sensor's slice held in memory by each of a home's simulated sensors."""
        # The order is that of one stable sort by arrival of every sensor's packets (in
        # sensor order, each sorted by sensor time) and then the labels: a merge of the
        # parts, each sorted, with equal keys taken in the parts' order, gives the same.
        a = self.scn.start + index * SLICE_S
        b = min(self.scn.end, a + SLICE_S)
        if sensors is None:
            sensors = self.sensors
        elif self.sensors is not None and not set(sensors) <= self.sensors:
            raise ValueError(f"sensors {sorted(set(sensors) - self.sensors)} were not built "
                             "by this Simulation (its `sensors`)")
        streams: list[Iterable[Item]] = []
        for spec in self.scn.sensors:
            if sensors is not None and spec.id not in sensors:
                continue
            imp = self.scn.imperfections.get(spec.id)
            rng = np.random.default_rng([self.seed, _sid(spec.id), index])
            noise = imp.noise if imp else 0.0
            events: list[Item] = []
            if self._events.get(spec.id):
                times = self._event_times[spec.id]
                events = self._events[spec.id][bisect_left(times, a):bisect_left(times, b)]
            if imp is None and (spec.kind == "wearable" or (
                    spec.kind == "radar" and not spec.options.get("points", False))):
                # made as taken: no imperfection draws from the rng after generation
                parts: list[Iterable[Item]]
                if spec.kind == "wearable":
                    blocks, hr = self._wearable_parts(spec, a, b, rng, noise, None)
                    parts = [blocks, hr, [(a, Battery(spec.id, a, 100.0))], events]
                else:
                    t, track, tid, frame0 = self._radar_track(spec, a, b, rng, noise)
                    parts = [_frames(spec.id, t, track, tid, frame0), events]
                streams.append(_arrivals(parts))
                continue
            packets: list[Item] = []
            if spec.kind == "wearable":
                packets = self._wearable(spec, a, b, rng, noise, imp.range_g if imp else None)
                level = imperfect.battery_left(imp, a, self.scn.start) if imp else 100.0
                packets.append((a, Battery(spec.id, a, round(max(0.0, level), 1))))
            elif spec.kind == "radar":
                packets = self._radar(spec, a, b, rng, noise)
            packets += events
            packets.sort(key=lambda p: p[0])
            streams.append(sorted(imperfect.apply(packets, imp, self.scn.start, rng),
                                  key=itemgetter(0)))
        streams.append(sorted(((lb.t, lb) for lb in self.labels if a <= lb.t < b),
                              key=itemgetter(0)))
        return heapq.merge(*streams, key=itemgetter(0))

    @property
    def slices(self) -> int:
        return max(1, math.ceil(self.scn.duration / SLICE_S))

    def items(self, progress: Callable[[float], None] | None = None,
              sensors: Collection[str] | None = None) -> Iterator[Item]:
        for i in range(self.slices):
            # made as taken (a live driver plays a slice for ten minutes: it need not hold
            # every reading of it, only the radar's track and the wearable's samples)
            yield from self._slice(i, sensors)
            if progress is not None:
                progress(min(self.scn.duration, (i + 1) * SLICE_S))


def _blocks(sensor: str, t: np.ndarray, xyz: np.ndarray, present: np.ndarray,
            block: int) -> Iterator[Item]:
    """(sensor time, AccelBlock) of `block` samples each, leaving out samples not present."""
    for j in range(0, len(t), block):
        sel = present[j:j + block]
        if not sel.any():
            continue
        tb, xb = t[j:j + block][sel], xyz[j:j + block][sel]
        yield float(tb[-1]), AccelBlock(sensor, tb, xb)


def _frames(sensor: str, t: np.ndarray, track: np.ndarray, tid: np.ndarray,
            frame0: int) -> Iterator[Item]:
    """(sensor time, RadarTargets) per frame of a track (see Simulation._radar_track)."""
    for i in range(len(t)):
        ti = float(t[i])
        row = track[i].tolist()
        targets = (Target(int(tid[i]), *row),) if row[0] == row[0] else ()   # not NaN
        yield ti, RadarTargets(sensor, ti, frame0 + i, targets)


def _arrivals(parts: list[Iterable[Item]]) -> Iterator[Item]:
    """A perfect sensor's packets (parts of one kind each, each by sensor time) by arrival
    (sensor time + the radio's latency), as `imperfect.apply` with no imperfection and a
    stable sort would give: equal arrivals by sensor time, then by part."""
    def arriving(part: Iterable[Item]) -> Iterator[tuple[float, float, Any]]:
        for t, r in part:
            yield t + imperfect.LATENCY_S.get(r.kind, 0.05), t, r
    ordered = [arriving(p if isinstance(p, Iterator) else sorted(p, key=itemgetter(0)))
               for p in parts]
    for arrival, _, r in heapq.merge(*ordered, key=itemgetter(0, 1)):
        yield arrival, r


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def simulate_to(path: str, scn: Scenario, seed: int = 0,
                progress: Callable[[float], None] | None = None) -> dict[str, int]:
    """Write the scenario's trace to `path`; returns counts per item type."""
    from sensordata.trace.writer import TraceWriter
    sim = Simulation(scn, seed)
    counts: dict[str, int] = {}
    with TraceWriter(path, meta=sim.meta()) as w:
        for info in sim.streams():
            w.add_stream(info)
        for _, item in sim.items(progress):
            if isinstance(item, Label):
                w.label(item)
                counts["label"] = counts.get("label", 0) + 1
            else:
                w.write(item)
                counts[item.kind] = counts.get(item.kind, 0) + 1
    return counts
