"""Write the real radar recordings we have as `--format radar-tracks` clips (CSV, t,x,y,z,id),
so the detector is judged on them the way it will be judged on another radar's tracks.

- SafeSenior: each clip's clustered points per frame -> their centroid (one target), in
  the radar's own frame (t = frame number x 55 ms). Folder: `fall`, `standUp`, `walking`.
- mmfall: the people-tracking captures. Only `people_tracking_walking` carries the
  tracker's own tracks (TLV 1010): written as they are (id = track id; TI gives them in
  the frame of the config's sensorPosition, so 2 m is taken off z to put them back in the
  radar's frame). The fall sessions carry no tracks, so a track is made the way a simple
  tracker would: per frame the centroid of the points (TLV 1020, radar frame) farther than
  0.5 m from the radar (its leakage), pooled over 0.3 s. Each labelled fall becomes a clip
  from `before_s` before to `after_s` after its label (folder `fall`), and the sessions
  without falls are cut into clips of the same length (folder named after the capture).
Nothing is copied into the repository: tests write these into a temporary directory.
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import Iterable

import numpy as np

NEAR_M = 0.5
POOL_S = 0.3


def _write(path: Path, rows: Iterable[tuple[float, int, float, float, float]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t", "id", "x", "y", "z"])
        for t, tid, x, y, z in rows:
            w.writerow([f"{t:.3f}", tid, f"{x:.3f}", f"{y:.3f}", f"{z:.3f}"])
            n += 1
    return n


def write_safesenior(src: Path, dest: Path) -> list[Path]:
    from gateway.evaluation import safesenior
    out = []
    for c in safesenior.clips(src):
        first = c.frames[0][0]
        rows = []
        for n, p in c.frames:
            if len(p):
                x, y, z = (float(v) for v in p[:, :3].mean(axis=0))
                rows.append(((n - first) * safesenior.PERIOD_S, 0, x, y, z))
        label = "fall" if c.kind == "fall" else c.kind
        path = dest / label / f"{c.name}.csv"
        _write(path, rows)
        out.append(path)
    return out


def mmfall_track(path: Path, period: float = 0.055) -> list[tuple[float, int, float, float, float]]:
    """(t, id, x, y, z) rows for one capture, radar frame: the tracker's tracks where the
    capture has them, else the pooled point centroid (see the module docstring)."""
    from drivers.ti_mmwave.parser import FrameParser
    frames = list(FrameParser().feed(path.read_bytes()))
    if not frames:
        return []
    n0 = frames[0].header.frame_number
    if any(f.targets for f in frames):
        return [((f.header.frame_number - n0) * period, int(g.tid), float(g.pos[0]),
                 float(g.pos[1]), float(g.pos[2]) - 2.0)
                for f in frames for g in (f.targets or ())]
    rows = []
    pool: list[tuple[float, np.ndarray]] = []
    for f in frames:
        t = (f.header.frame_number - n0) * period
        p = f.points.xyz if f.points is not None and len(f.points) else np.zeros((0, 3))
        p = p[np.linalg.norm(p, axis=1) > NEAR_M] if len(p) else p
        pool = [(tt, q) for tt, q in pool if tt > t - POOL_S] + [(t, p)]
        if not len(p):
            continue
        pts = np.concatenate([q for _, q in pool])
        c = np.median(pts, axis=0)
        rows.append((t, 0, float(c[0]), float(c[1]), float(c[2])))
    return rows


def write_mmfall(src: Path, dest: Path, before_s: float = 5.0, after_s: float = 5.0,
                 labels_file: Path | None = None) -> list[Path]:
    from gateway.evaluation.radar import LABELS
    labels = tomllib.loads((labels_file or LABELS).read_text())["captures"]
    out = []
    for name, entry in labels.items():
        path = src / f"{name}.bin"
        if not name.startswith("people_") or not path.exists():
            continue
        rows = mmfall_track(path)
        if not rows:
            continue
        falls = [float(f) for f in entry["falls"]]
        if falls:
            for i, f in enumerate(falls):
                clip = [r for r in rows if f - before_s <= r[0] <= f + after_s]
                if clip:
                    p = dest / "fall" / f"{name}_{i + 1}.csv"
                    _write(p, clip)
                    out.append(p)
            continue
        length = before_s + after_s
        end = rows[-1][0]
        k = 0
        while k * length < end:
            clip = [r for r in rows if k * length <= r[0] < (k + 1) * length]
            if len(clip) > 5:
                p = dest / name / f"{name}_{k:03d}.csv"
                _write(p, clip)
                out.append(p)
            k += 1
    return out
