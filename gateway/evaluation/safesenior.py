"""`safehome evaluate --format radar DIR` on SafeSenior clips: the radar fall detector on
clustered point clouds of an IWR6843ISK (3D People Tracking demo, 55 ms frames).

DIR holds `fall_N.csv`, `standUp_N.csv`, `walking_N.csv` and `config/*.cfg`, laid out like
`../shared/data/radar-real-dev/safesenior`. Columns
`frameNum,pointNum,xPos,yPos,zPos,Doppler,SNR,cluster,global_cluster`, metres.

Which frame the points are in: the radar's own (sensor) frame, as the data README says
and as the data show. A fallen person ends at z of -0.2 to 0 m and a walking person's
points have a median z of 0.4-0.65 m and a top near 1 m. In a room frame (z up from the
floor) a lying person would be above 0 and a walking adult's top near 1.7 m, so the points
are not that; in the sensor frame of a radar at the 1.25 m the room config claims the
floor would be at -1.25 m, at 2 m / 15 deg lower still. The data fit the sensor frame of a
radar about 0.5 m above the floor looking nearly level (the walk estimate below says
0.47 m / 3 deg): neither config is what the clips were taken with. So the reader treats
xPos, yPos, zPos as sensor-frame points and puts them in the room frame with the mounting
it is given, as the TI driver does with the demo's point cloud (TLV 1020; FrameConverter).

What the clips are not: Doppler is 0 and SNR 1.0 on every point (post-processed), and
missing frames were filled by copying the previous one. Hence:
- the detector drops points below `min_snr` (5 dB by default) and would see nothing: the
  evaluation sets `radar_fall.min_snr = 0` (the clips carry no SNR; every point is one the
  demo's tracker clustered as a person) and changes no other setting;
- the walk estimator selects moving points by Doppler and finds none: `measured` feeds it
  the five walking clips' points as a person's points (`MountingEstimator.feed_person`);
  the detector's own estimator (`self`, `self-after-walk`) still needs Doppler, so it
  measures nothing here and keeps the configured mounting.

After the last frame: a clip is 60 frames (3.3 s) and a fall clip ends with the person on
the floor, while the detector confirms a descent only after `confirm_seconds` (5 s) near
the floor. Sensor time is therefore let run on with ticks, one a second for `TAIL_S`, as the
live daemon ticks while the radar reports nobody (a motionless person drops out of the
demo's cloud): no frames and no points are made up. What the radar would have reported in
those seconds (someone getting up) is unknown, so a `fall_suspected` here says the descent
qualified, not that a real deployment would have alarmed. Then the cancel window runs out
(`Pipeline.finish`), which turns an uncancelled `fall_suspected` into the `fall` alarm.

Scores per clip: a fall clip is detected when a `fall` alarm comes (or, reported
separately, at least a `fall_suspected`); a `fall` alarm in a standUp or walking clip is a
false alarm.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gateway.evaluation.radar import T0

TAIL_S = 10.0          # sensor seconds ticked after a clip's last frame (confirm_seconds is 5)
PERIOD_S = 0.055       # the demo's frame period (frameCfg ... 55.00 in both configs)
KINDS = ("fall", "standUp", "walking")


@dataclass(frozen=True)
class Clip:
    """One CSV clip: frames as (frame number, (N, 5) sensor-frame x, y, z, doppler, snr)."""

    name: str
    kind: str
    frames: list[tuple[int, np.ndarray]]

    @property
    def points(self) -> np.ndarray:
        return np.concatenate([p for _, p in self.frames]) if self.frames else np.zeros((0, 5))


def read_clip(path: Path) -> Clip:
    """A clip's frames, every frame number from the first to the last (a number without
    rows is a frame without points, as the radar sends it)."""
    by: dict[int, list[list[float]]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            by.setdefault(int(row["frameNum"]), []).append(
                [float(row[k]) for k in ("xPos", "yPos", "zPos", "Doppler", "SNR")])
    frames = [(n, np.array(by.get(n, []), dtype=np.float32).reshape(-1, 5))
              for n in range(min(by), max(by) + 1)] if by else []
    return Clip(path.stem, path.stem.split("_")[0], frames)


def readings(clip: Clip, mount: Any, sensor: str = "radar", t0: float = T0) -> list[Any]:
    """The RadarPoints the TI driver would give the gateway: points in the room frame with
    `mount`, frame time = frame number x frame period from the first frame."""
    from sensordata.radar_mounting import sensor_to_room
    from sensordata.readings import RadarPoints
    first = clip.frames[0][0] if clip.frames else 0
    out = []
    for n, p in clip.frames:
        arr = p.copy()
        if len(arr):
            arr[:, :3] = sensor_to_room(p[:, :3], mount)
        out.append(RadarPoints(sensor, t0 + (n - first) * PERIOD_S, n, arr))
    return out


def clips(root: Path) -> list[Clip]:
    return [read_clip(p) for p in sorted(Path(root).glob("*.csv"))
            if p.stem.split("_")[0] in KINDS]


def walk_mounting(walks: list[Clip]) -> Any:
    """The mounting the walking clips' points show, pooled (None when they show none)."""
    from sensordata.radar_mounting import MountingEstimator
    est = MountingEstimator()
    for c in walks:
        for _, p in c.frames:
            est.feed_person(p[:, :3])
    return est.estimate()


@dataclass
class ClipScore:
    clip: str
    kind: str
    mounting: str
    suspected: int = 0
    alarms: int = 0
    cancelled: int = 0

    @property
    def outcome(self) -> str:
        if self.kind == "fall":
            return "fall alarm" if self.alarms else ("suspected only" if self.suspected
                                                     else "missed")
        return "FALSE ALARM" if self.alarms else ("suspected, cancelled" if self.suspected
                                                  else "no alarm")


def run_clip(clip: Clip, cfg: Any, mount: Any, detectors: dict[str, Any],
             states: dict[str, Any] | None = None,
             before: Sequence[Clip] = ()) -> tuple[list[Any], Any]:
    """Every event the pipeline raises for `clip` (after `before`'s clips, back to back),
    and the pipeline; sensor time ticks on TAIL_S after the last frame."""
    from gateway.evaluation.radar import home_for
    from gateway.pipeline import Pipeline
    home = home_for(Path(cfg.path), cfg, mount, detectors)
    ids = iter(range(1, 1 << 30))
    pipe = Pipeline(home, clock=lambda: pipe.now or T0,
                    id_factory=lambda: f"{clip.name}:{next(ids)}")
    if states:
        pipe.restore_states(states)
    events: list[Any] = []
    t = T0
    for c in [*before, clip]:
        for r in readings(c, mount, t0=t):
            events += pipe.feed([r])
        t = (pipe.now or t) + 1.0
    end = pipe.now or T0
    for k in range(1, int(TAIL_S) + 1):
        events += pipe.tick(end + k)
    events += pipe.finish()
    return events, pipe


def evaluate(root: Path, mounting: str = "measured",
             detectors: dict[str, Any] | None = None) -> tuple[list[ClipScore], Any]:
    """Per-clip scores for each mounting the mode implies, and the walk estimate."""
    from drivers.ti_mmwave import chirp
    from sensordata.radar_mounting import Mounting
    all_clips = clips(root)
    walks = [c for c in all_clips if c.kind == "walking"]
    est = walk_mounting(walks)
    own = "measured" if mounting.startswith("self") else "configured"
    table = {"mounting": own, "min_snr": 0.0, **(detectors or {}).get("radar_fall", {})}
    dets = {**(detectors or {}), "radar_fall": table}
    cfgs = [chirp.load(p) for p in sorted((Path(root) / "config").glob("*.cfg"))]
    runs: list[tuple[Any, Any, str]] = []
    if mounting == "measured":
        if est is not None:
            m = Mounting(est.height_m, est.elevation_tilt_deg)
            runs.append((cfgs[0], m, f"measured {m.height_m:.2f} m, "
                                     f"{m.elevation_tilt_deg:.1f} deg"))
    else:
        runs += [(c, c.mounting, f"{Path(c.path).stem} {c.mounting.height_m:.2f} m, "
                                 f"{c.mounting.elevation_tilt_deg:.0f} deg")
                 for c in cfgs if c.mounting is not None]
    out = []
    for cfg, mount, label in runs:
        states = None
        if mounting == "self-after-walk":
            _, pipe = run_clip(walks[0], cfg, mount, dets, before=walks[1:])
            states = pipe.detector_states()
        for c in all_clips:
            events, pipe = run_clip(c, cfg, mount, dets, states)
            used = label
            if own == "measured":
                det = pipe.detectors.get("radar_fall")
                e = det.mounting_estimate("radar") if det is not None else None
                used += ("; self-measured " + f"{e['height_m']:.2f} m, {e['tilt_deg']:.0f} deg"
                         if e else "; not self-measured")
            sc = ClipScore(c.name, c.kind, used)
            sc.suspected = sum(e.type == "fall_suspected" for e in events)
            sc.alarms = sum(e.type == "fall" for e in events)
            sc.cancelled = sum(e.type == "alarm_cancelled" for e in events)
            out.append(sc)
    return out, est


def summary(scores: list[ClipScore]) -> dict[str, dict[str, int]]:
    """Per mounting: falls with an alarm / with at least a suspicion, false alarms."""
    out: dict[str, dict[str, int]] = {}
    for s in scores:
        d = out.setdefault(s.mounting, {"falls": 0, "alarmed": 0, "suspected": 0,
                                        "others": 0, "false_alarms": 0, "others_suspected": 0})
        if s.kind == "fall":
            d["falls"] += 1
            d["alarmed"] += bool(s.alarms)
            d["suspected"] += bool(s.suspected or s.alarms)
        else:
            d["others"] += 1
            d["false_alarms"] += bool(s.alarms)
            d["others_suspected"] += bool(s.suspected or s.alarms)
    return out
