"""Radar fall detector: a fast drop of a person relative to where that person stood, that
then stays low or vanishes at that place, from tracked targets (any radar's tracks; TI
people tracking TLVs 1010 position/velocity + 1012 height) or from raw point clouds
(TLV 1020) while the radar's tracker reports nobody.

Why this shape: a radar sees posture without anything worn, but not impacts, and the
radar's mounting is often unknown or wrong (installers' tape measures; another vendor's
tracks in the radar's own frame). So a fall is judged on the track's own heights:
- the height is the median over `smooth_s` (a centroid from a few points jumps by tens of
  centimetres frame to frame);
- the level before: the median of the second before the descent started, and where the
  track has walked (>= 0.4 m/s) for 2 s, its walking level (75th percentile of its heights
  while walking: the person's own standing height, learned from their walks);
- a descent: the height drops at least `min_drop_m` (centroid z or point-cloud height;
  `min_drop_top_m` for a tracked top of the person) below both, within `descent_window_s`,
  over the last 80% of the drop at `descent_speed_mps` (`descent_speed_top_mps` for a
  top, which travels twice as far as a centroid in a fall) or faster (a tracked downward
  velocity that fast counts: Doppler is evidence of speed), and not carried along a long
  walk (more than max(1 m, 2 x drop) across the room during it, from the median position
  of the half second before it: someone leaving the view; a tracker's ghost of a few
  frames is not a walk);
- then, for `confirm_seconds` of sensor time, the person neither rises back by half the
  drop, nor moves `walk_away_m` from where the descent ended, nor keeps walking for half a
  second (in a tilted radar's own frame, walking towards it lowers z); not being seen at
  all counts as staying (see below).
Only where heights are from the floor (the radar's mounting is known: configured, or
measured from a walk; or the tracker gives the top of the person, TLV 1012, which it
computes with its own mounting) must the descent also end at or below `floor_m`, and
getting up also counts at `up_m`. Sitting down (a smaller, slower drop), lying down on a bed or sofa
(slow, or ending in a `lying_zones` box: axis-aligned boxes in the radar's room
coordinates, metres) and walking out of view (no drop, or a drop carried by walking) are
not falls.

Blind zones (`blind_zones`): places the radar cannot judge height (behind a kitchen island,
under a table, the edge of the field of view, right below a wall-mounted sensor). Samples
inside them are ignored, so a fall there is left to the wearable and the inactivity and
dwell timers; the installer draws them from the commissioning walk.

Static people vanish: TI's static clutter removal drops a motionless person from the
point cloud and the tracker often loses them. A descent that was seen going down and is
then not seen again is therefore taken as "still down": the confirmation runs on sensor
time (the radar's next frames, any reading, or `tick(now)`).

A track's first half second is not used as the start of a descent (trackers allocate a
track with an unsettled height, and a gateway started next to a sleeper must not see a
fall) unless the track showed the person at rest before it (a clip or a track may begin a
quarter of a second before a real fall); a track seen again after `LOST_S` starts over the
same way.

Height: `Target.height` (top of the person, TLV 1012 maxZ) when given, else the target's z.
Point clouds: points with snr >= `min_snr`, farther than `near_range_m` from the radar
(its own leakage sits at 0.1-0.3 m range), over the last `points_window_s`, the cluster
around their median x, y; its height is the `height_quantile` of z (robust to multipath
ghosts). Without tracks a radar is assumed to watch one person at a time. A radar whose
tracker sends empty target lists (TI people tracking does, and the mmfall fall captures
carry no tracks at all) is judged on its points until a track is seen again.

Getting up: after `fall_suspected`, the same track (or, if that track was lost, a new one
within `same_person_m` of the fall) back within 30% of the drop below where it stood (or
above `up_m` where heights are from the floor) for `rise_seconds` within
`watch_up_seconds` yields `fall_cancelled` (gateway: alarm_cancelled) with the same `ref`.
A helper standing next to a person whose track is still alive on the floor does not cancel.

Mounting (`mounting`): heights are only as right as the mounting the driver put the points
in the room frame with, and installers get height and tilt wrong (the public mmfall
captures claim 2 m / 10 degrees and were taken at about 1.1 m / 15 degrees). So the
detector measures each radar's mounting itself from the moving points of a person walking
(sensordata/radar_mounting.py, the estimator `safehome doctor` uses): it undoes the
configured mounting (`SensorMeta.mounting`) to get sensor-frame points, and once a walk
gives an estimate (at least 4 range bins of 30 moving points over 2 m of range) that is
physically plausible, it re-projects points and tracked positions with the measured height
and tilt instead; until then, and for a ceiling radar (looking down, range is height: a
walk does not give the slope), it uses the configured one. `mounting = "measured"` (the
default, because a walk is the best evidence there is and nothing changes before one is
seen) uses the estimate; `"configured"` still measures and reports it (console, evidence)
but keeps the configured heights. The track histories are cleared when the geometry
changes, so a switch is never seen as a descent. The estimate survives restarts
(`state`), unless the configured mounting changed meanwhile (the radar was re-hung).

One track's descent (the drop, its speed, the level before, the warm-up, the walk check) is
judged in detectors/radar_descent.py; this module streams, confirms, watches for getting up,
re-projects with the mounting and persists.

Module fall flags (Seeed MR60FDA1/2 report a fall themselves) are translated to
fall_suspected by detectors/passthrough.py; this detector does not repeat them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Literal, Mapping

import numpy as np
from pydantic import Field, model_validator

from detectors.base import Detection, DetectorSettings, TimedDetector, room_of
from detectors.radar_descent import Track, find_descent, kth
from detectors.radar_self_mounting import SelfMounting
from detectors.zones import INF, Zone
from sensordata.radar_mounting import MountingEstimate
from sensordata.readings import AccelBlock, RadarPoints, RadarTargets


class RadarFallSettings(DetectorSettings):
    min_drop_m: float = Field(0.4, gt=0, title="Least drop of a person's centroid or point-cloud height in a fall (metres)")
    min_drop_top_m: float = Field(0.8, gt=0, title="Least drop of a tracked top of the person (TLV 1012 height) in a fall (metres)")
    descent_speed_mps: float = Field(0.7, gt=0, title="Least mean descent speed of a centroid or point-cloud height in a fall (m/s)")
    descent_speed_top_mps: float = Field(1.0, gt=0, title="Least mean descent speed of a tracked top of the person in a fall (m/s)")
    descent_window_s: float = Field(2.0, gt=0, le=10, title="The drop must happen within this many seconds")
    smooth_s: float = Field(0.3, ge=0, le=2, title="Heights are the median over this many seconds (centroid noise)")
    floor_m: float = Field(0.6, gt=0, title="Where the mounting is known: height (top, or "
                                            "centroid z) at or below which a person is near the floor")
    confirm_seconds: float = Field(5.0, ge=0, title="Seconds down (or not seen again) before fall_suspected")
    walk_away_m: float = Field(0.8, gt=0, title="Moving this far from where the descent ended is walking away, not lying there (m)")
    up_m: float = Field(0.9, gt=0, title="Where the mounting is known: height above which the person is up again")
    rise_seconds: float = Field(2.0, ge=0, title="Seconds up before fall_cancelled")
    watch_up_seconds: float = Field(600.0, gt=0, title="How long after a fall getting up still cancels it")
    same_person_m: float = Field(1.0, gt=0, title="A new track this close to a lost fallen one is the same person (m)")
    lying_zones: list[Zone] = Field(default_factory=list, title="Boxes where lying down is normal (bed, sofa)")
    blind_zones: list[Zone] = Field(default_factory=list, title="Boxes the radar cannot judge height in")
    min_snr: float = Field(5.0, ge=0, title="Point-cloud points weaker than this are dropped (dB)")
    near_range_m: float = Field(0.5, ge=0, title="Point-cloud points this close to the radar are its own leakage, not a person (m)")
    points_window_s: float = Field(0.5, gt=0, le=5, title="Point clouds are pooled over this many seconds")
    min_points: int = Field(6, ge=1, title="Fewest pooled points for a height estimate")
    height_quantile: float = Field(0.9, gt=0, le=1, title="Quantile of point z taken as the person's height")
    mounting: Literal["measured", "configured"] = Field(
        "measured", title="Heights from the mounting measured from a person walking (once seen; "
                          "the configured one until then), or always from the configured one")

    @model_validator(mode="after")
    def _order(self) -> "RadarFallSettings":
        if self.up_m <= self.floor_m:
            raise ValueError("up_m must be above floor_m")
        return self


@dataclass(slots=True)
class _Fall:
    ref: str
    sensor: str
    tid: int
    t: float
    x: float
    y: float
    up_h: float                 # at or above this the person is up again
    up_since: float | None = None


class RadarFallDetector(TimedDetector[RadarFallSettings]):
    name = "radar_fall"
    Settings = RadarFallSettings

    LOST_S: ClassVar[float] = 2.0     # a track unseen this long is lost
    FORGET_S: ClassVar[float] = 30.0  # and forgotten after this, unless it holds a descent

    def setup(self) -> None:
        settings = self.settings
        self.s = settings
        self.tracks: dict[tuple[str, int], Track] = {}
        self.falls: list[_Fall] = []
        self._tracked: dict[str, float] = {}      # radar -> last time its tracker saw someone
        self._pool: dict[str, deque[Any]] = {}    # radar -> (t, points) for the point path
        self._now = -INF
        self._last_gc = -INF
        #: no descent can be confirmed before this sensor time (a lower bound: candidates
        #: that were dropped since leave it early, never late), so `_advance` skips the
        #: tracks until then
        self._confirm_from = INF
        #: when a list, every height the detector judged is appended as
        #: (t, sensor, tid, height, state 0 watching / 1 descent waiting / 2 fallen);
        #: benchmarks/radar_fall_shapes.py plots it. None (the default) costs nothing.
        self.debug: list[tuple[float, str, int, float, int]] | None = None
        # radars whose room-frame mounting is known and measurable (wall mounts)
        self._mounts: dict[str, SelfMounting] = {
            sid: SelfMounting(m.mounting) for sid, m in self.sensors.items()
            if m.mounting is not None and m.mounting.kind != "ceiling"
            and m.mounting.elevation_tilt_deg <= 45.0}
        # radars whose heights are in a room frame (z up from the floor): only there do
        # absolute heights (floor_m, up_m) mean anything
        self._room_frame = {sid for sid, m in self.sensors.items() if m.mounting is not None}

    def _room(self, sensor: str) -> str | None:
        return room_of(self.sensors, sensor)

    # --- streaming -------------------------------------------------------------------
    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        advance = self._advance
        for r in readings:
            if isinstance(r, RadarTargets):
                t = r.t
                # _advance's own first steps, inline (1.7 million frames a day, nearly none
                # with anything due): only the clock moves unless a candidate may be due or
                # the tracks are due a clean-up; NaN takes the long way, as it did
                if not t <= self._now:
                    if t < self._confirm_from and not t - self._last_gc > 5.0:
                        self._now = t
                    else:
                        advance(t, out)
                if not r.targets:
                    continue   # an empty room's frame (half of them): nothing to judge
                self._tracked[r.sensor] = r.t
                m = self._mounts.get(r.sensor)
                use = m if m is not None and m.a is not None and self.s.mounting == "measured" \
                    else None
                for g in r.targets:
                    h = g.height if g.height is not None else g.z
                    x, y = g.x, g.y
                    if use is not None:
                        x, y, h = (np.array([x, y, h]) @ use.a.T + use.b).tolist()  # type: ignore[union-attr]
                    self._sample(r.sensor, g.tid, r.t, x, y, h, g.vz, g.height is not None, out)
            elif isinstance(r, RadarPoints):
                self._advance(r.t, out)
                m = self._mounts.get(r.sensor)
                if m is not None:
                    got = m.feed(r.points, r.t)
                    if got is not None:
                        self._adopt(r.sensor, m, got)
                # a radar whose tracker reports nobody (TI people tracking sends empty target
                # lists, or none, while its points still show someone) is judged on points
                if r.t - self._tracked.get(r.sensor, -INF) > self.LOST_S:
                    self._points(r, out)
            elif isinstance(r, AccelBlock):
                if len(r.t):
                    self._advance(float(r.t[-1]), out)
            else:
                self._advance(r.t, out)
        return out

    def _advance(self, t: float, out: list[Detection]) -> None:
        """Move sensor time to `t`: also confirms a fallen person the radar no longer reports
        (static people drop out of the point cloud), which is why a quiet tick matters."""
        if t <= self._now:
            return
        self._now = t
        if not t < self._confirm_from:   # every reading comes here, most with nothing due (a NaN: look)
            c = self.s.confirm_seconds
            for key, tr in self.tracks.items():
                cand = tr.cand
                if cand is not None and t - cand["t"] >= c:
                    self._confirm(key, tr, t, out)
            self._confirm_from = min((tr.cand["t"] + c - 1.0 for tr in self.tracks.values()
                                      if tr.cand is not None), default=INF)
        if t - self._last_gc > 5.0:
            self._last_gc = t
            self._gc(t)

    def _gc(self, t: float) -> None:
        for key in [k for k, tr in self.tracks.items()
                    if tr.cand is None and t - tr.last_t > self.FORGET_S]:
            del self.tracks[key]
        self.falls = [f for f in self.falls if t - f.t <= self.s.watch_up_seconds]

    def _sample(self, sensor: str, tid: int, t: float, x: float, y: float, h: float,
                vz: float, top: bool, out: list[Detection]) -> None:
        s = self.s
        if s.blind_zones and any(z.contains(sensor, x, y, h) for z in s.blind_zones):
            return
        key = (sensor, tid)
        tr = self.tracks.get(key)
        if tr is None:
            tr = self.tracks[key] = Track(born=t)
        tr.top = top
        if t - tr.last_t > self.LOST_S and tr.cand is None:
            tr.restart(t)   # seen again after a gap: starts over as a new track
        h = tr.smooth(t, h, s.smooth_s)
        fallen = bool(self.falls) and any(f.sensor == sensor and f.tid == tid for f in self.falls)
        if tr.cand is None and not fallen and tr.walking(t, x, y):
            tr.walk.append(h)   # the person's own standing height, learned from their walks
        tr.remember(t, x, y, h, vz, s.descent_window_s)
        if self.debug is not None:
            self.debug.append((t, sensor, tid, h, 1 if tr.cand is not None else 2 if fallen
                               else 0))
        if self.falls:
            self._watch_up(sensor, tid, t, x, y, h, out)
        cand = tr.cand
        if cand is not None:
            if h > cand["h"] + 0.5 * cand["drop"]:
                tr.cand = None      # up again before confirmation: not a fall
            elif (x - cand["x"]) ** 2 + (y - cand["y"]) ** 2 > s.walk_away_m ** 2:
                tr.cand = None      # walked away from where the descent ended
            elif tr.walked_on(cand, t, x, y):
                tr.cand = None
            elif h < cand["h"]:     # still going down: the drop is to the lowest height
                cand["h"], cand["drop"] = h, cand["top"] - h
            return
        if fallen:
            return
        # heights from the floor: a radar whose mounting is known, or a tracker's top of the
        # person (TLV 1012 maxZ is computed by the tracker from its own sensorPosition)
        room = top or sensor in self._room_frame
        if room and h > s.floor_m:
            return                  # the mounting is known: a fall ends near the floor
        got = find_descent(tr, t, x, y, h, vz, s.min_drop_top_m if top else s.min_drop_m,
                           s.descent_speed_top_mps if top else s.descent_speed_mps, s.smooth_s)
        if got is None:
            return
        if any(z.contains(sensor, x, y, h) for z in s.lying_zones):
            return
        # a second early: a lower bound, whatever `t - cand_t >= c` rounds to
        self._confirm_from = min(self._confirm_from, t + s.confirm_seconds - 1.0)
        got["room"] = float(room)
        tr.cand = got

    def _confirm(self, key: tuple[str, int], tr: Track, now: float, out: list[Detection]) -> None:
        cand, tr.cand = tr.cand, None
        if cand is None:
            return
        sensor, tid = key
        s = self.s
        ref = f"radar_fall:{sensor}:{tid}:{cand['t']:.3f}"
        conf = 0.55 + 0.2 * min(1.0, cand["speed"] / (3 * s.descent_speed_mps)) \
            + 0.2 * min(1.0, cand["drop"] / (2.4 * s.min_drop_m))
        level = {"walking_height_m": round(cand["level"], 3)} if cand["level"] > -INF else {}
        out.append(Detection("fall_suspected", cand["t"], sensor, self._room(sensor),
                             confidence=round(min(conf, 0.95), 3), ref=ref, evidence={
                                 "height_drop_m": round(cand["drop"], 3),
                                 "descent_speed_mps": round(cand["speed"], 3),
                                 "start_height_m": round(cand["top"], 3),
                                 "floor_height_m": round(cand["h"], 3),
                                 "time_near_floor_s": round(now - cand["t"], 2),
                                 "seen_on_floor_s": round(max(0.0, tr.last_t - cand["t"]), 2),
                                 "x_m": round(cand["x"], 2), "y_m": round(cand["y"], 2),
                                 "heights_in_room_frame": cand["room"], **level,
                                 **self._geometry(sensor)}))
        # up again: back within 30% of the drop below where the person stood (or above
        # up_m, where heights are from the floor)
        up_h = cand["top"] - 0.3 * cand["drop"]
        if cand["room"]:
            up_h = min(up_h, s.up_m)
        self.falls.append(_Fall(ref, sensor, tid, cand["t"], cand["x"], cand["y"], up_h))

    def _watch_up(self, sensor: str, tid: int, t: float, x: float, y: float, h: float,
                  out: list[Detection]) -> None:
        s = self.s
        for f in self.falls:
            if f.sensor != sensor:
                continue
            if f.tid != tid:
                own = self.tracks.get((sensor, f.tid))
                if own is not None and t - own.last_t < self.LOST_S:
                    continue     # the fallen track is alive: this is someone else
                if (x - f.x) ** 2 + (y - f.y) ** 2 > s.same_person_m ** 2:
                    continue
            if h < f.up_h:
                f.up_since = None
                continue
            if f.up_since is None:
                f.up_since = t
            if t - f.up_since >= s.rise_seconds:
                self.falls.remove(f)
                out.append(Detection("fall_cancelled", t, sensor, self._room(sensor), ref=f.ref,
                                     evidence={"height_m": round(h, 3),
                                               "seconds_after_fall": round(t - f.t, 2)}))
                return

    # --- mounting --------------------------------------------------------------------
    def _adopt(self, sensor: str, m: SelfMounting, e: MountingEstimate) -> None:
        m.adopt(e)
        if self.s.mounting != "measured":
            return
        # heights before and after the switch are in different frames: never compare them
        for (sid, _), tr in self.tracks.items():
            if sid == sensor:
                tr.hist.clear()
        self._pool.pop(sensor, None)

    def _geometry(self, sensor: str) -> dict[str, float]:
        """Which mounting the heights came from (alarm evidence)."""
        m = self._mounts.get(sensor)
        meta = self.sensors.get(sensor)
        conf = m.configured if m is not None else (meta.mounting if meta is not None else None)
        if m is not None and m.used is not None and self.s.mounting == "measured":
            return {"mounting_measured": 1.0, "mounting_height_m": m.used.height_m,
                    "mounting_tilt_deg": m.used.elevation_tilt_deg}
        if conf is None:
            return {"mounting_measured": 0.0}
        return {"mounting_measured": 0.0, "mounting_height_m": conf.height_m,
                "mounting_tilt_deg": conf.elevation_tilt_deg}

    def mounting_estimate(self, sensor: str) -> dict[str, float] | None:
        """The mounting measured for `sensor` once a walk gave one (the console shows it
        against the configured one), else None."""
        m = self._mounts.get(sensor)
        return m.as_dict() if m is not None else None

    # --- point clouds ------------------------------------------------------------------
    def _points(self, r: Any, out: list[Detection]) -> None:
        s = self.s
        p = np.asarray(r.points)
        if len(p):
            p = p[p[:, 4] >= s.min_snr]
            m = self._mounts.get(r.sensor)
            if m is not None and m.a is not None and s.mounting == "measured" and len(p):
                p = p.copy()
                p[:, :3] = p[:, :3] @ m.a.T + m.b
            if s.near_range_m > 0 and len(p):
                hs = self._sensor_height(r.sensor)
                d2 = p[:, 0] ** 2 + p[:, 1] ** 2 + (p[:, 2] - hs) ** 2
                p = p[d2 > s.near_range_m ** 2]
        pool = self._pool.setdefault(r.sensor, deque())
        pool.append((r.t, p))
        while pool and pool[0][0] < r.t - s.points_window_s:
            pool.popleft()
        pts = np.concatenate([q for _, q in pool]) if len(pool) > 1 else p
        if len(pts) < s.min_points:
            return   # nobody, or a still person the radar no longer sees
        mx, my = kth(pts[:, 0], 0.5), kth(pts[:, 1], 0.5)
        near = pts[(pts[:, 0] - mx) ** 2 + (pts[:, 1] - my) ** 2 <= 1.0]
        if len(near) < s.min_points:
            return
        # Height from the newest frame's share of the cluster when it has enough points,
        # so a descent is not smeared over the pooling window.
        fresh = p[(p[:, 0] - mx) ** 2 + (p[:, 1] - my) ** 2 <= 1.0] if len(p) else p
        if len(fresh) < max(3, s.min_points // 2):
            fresh = near
        h = kth(fresh[:, 2], s.height_quantile)
        self._sample(r.sensor, -1, r.t, mx, my, h, 0.0, False, out)

    def _sensor_height(self, sensor: str) -> float:
        """Where the radar itself is in its points' frame (0 when they are in its own)."""
        m = self._mounts.get(sensor)
        if m is not None and m.used is not None and self.s.mounting == "measured":
            return m.used.height_m
        meta = self.sensors.get(sensor)
        return meta.mounting.height_m if meta is not None and meta.mounting is not None else 0.0

    # --- persistence (short-lived: a reboot mid-fall keeps the cancel watch) ------------
    # The measured mounting is kept with the configured one it was measured against: if the
    # installer changed the configured mounting meanwhile, the radar was probably re-hung.
    def state(self) -> dict[str, Any]:
        return {"version": 3,
                "falls": [[f.ref, f.sensor, f.tid, f.t, f.x, f.y, f.up_h] for f in self.falls],
                "mountings": {sid: saved for sid, m in self._mounts.items()
                              if (saved := m.saved()) is not None}}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") not in (1, 2, 3):
            return
        self.falls = [_Fall(str(a), str(b), int(c), float(d), float(e), float(g),
                            float(rest[0]) if rest else self.s.up_m)
                      for a, b, c, d, e, g, *rest in state.get("falls", [])]
        for sid, saved in (state.get("mountings") or {}).items():
            m = self._mounts.get(sid)
            est = m.restorable(saved) if m is not None else None
            if m is not None and est is not None:
                self._adopt(sid, m, est)
