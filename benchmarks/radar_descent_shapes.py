"""Does the shape of a descent tell a fall from a lowering to the floor? Measured on every
real clip the radar fall detector suspects, as written and as another radar would give it.

    nice -n 10 .venv/bin/python benchmarks/radar_descent_shapes.py

Why: played backwards, SafeSenior's real stand-ups are lowerings to the floor of 0.53-0.66 m
at 0.85-1.06 m/s, and two of five alarm (benchmarks/radar_tracks_robustness.py). Speed does
not separate them from the real falls (docs/detection-radar.md). A fall ends in an impact, a
controlled lowering is thought to decelerate smoothly; and a fall is thought to be shorter.
This prints, for each clip in which the detector's descent rule fires (same detector,
default settings, no mounting, the clip's frames as `RadarTargets`), on the smoothed height
the detector judges:
- drop: the top of the descent (the candidate's start height) to the lowest height within
  1 s after the candidate;
- t90-10: from the last moment above 90% of the drop to the first below 10% (the
  descent's duration without its ends);
- end/mid: the mean speed over the last 40% (50% -> 10%) over that of the 40% before
  (90% -> 50%): below 1 a descent that slows before the floor, above 1 one that ends fast;
- alarm: whether the clip raised a fall alarm through `radar_tracks.run_clip`.
Presentations: the clips as written, resampled to 20 Hz, and the other clips played
backwards at 20 Hz (the falls are not reversed). Nothing is tuned here.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import _util  # noqa: F401
import radar_tracks_robustness as rob

from detectors.base import SensorMeta
from detectors.radar_fall import RadarFallDetector
from gateway.evaluation import radar_tracks
from gateway.evaluation.radar import T0
from sensordata.readings import RadarTargets, Target


def shape(clip: radar_tracks.TrackClip) -> dict[str, float] | None:
    """The descent the detector's rule found first in the clip, measured; None if none."""
    det = RadarFallDetector(RadarFallDetector.Settings(),
                            {"radar": SensorMeta("radar", "ti_mmwave", "room")})
    det.debug = []
    for n, (t, targets) in enumerate(clip.frames):
        det.feed([RadarTargets("radar", T0 + t, n, tuple(
            Target(tid, x, y, z) for tid, x, y, z in targets))])
    waiting = [(t, tid) for t, _, tid, _, state in det.debug if state == 1]
    if not waiting:
        return None
    tc, tid = waiting[0]
    hs = [(t, h) for t, _, i, h, _ in det.debug if i == tid]
    before = [h for t, h in hs if tc - 2.0 <= t < tc]
    after = [h for t, h in hs if tc - 0.05 <= t <= tc + 1.0]
    if not before or not after:
        return None
    top, low = max(before), min(after)
    drop = top - low
    t10 = next((t for t, h in hs if t >= tc - 1.0 and h <= low + 0.1 * drop), math.nan)

    def last_above(frac: float) -> float:
        got = [t for t, h in hs if t < t10 and h >= low + frac * drop]
        return got[-1] if got else math.nan
    t90, t50 = last_above(0.9), last_above(0.5)
    mid = 0.4 * drop / (t50 - t90) if t50 > t90 else math.inf
    end = 0.4 * drop / (t10 - t50) if t10 > t50 else math.inf
    ratio = end / mid if math.isfinite(mid) and math.isfinite(end) else math.nan
    # horizontal travel: where the person was in the half second before the descent, and
    # in the second after it reached 10% (a toppling body's centroid moves off its feet)
    xy = [(t, x, y) for t, g in clip.frames for i, x, y, _ in g if i == tid]
    t0 = t90 if math.isfinite(t90) else tc
    a = [(x, y) for t, x, y in xy if t0 - 0.5 <= T0 + t <= t0]
    b = [(x, y) for t, x, y in xy if t10 <= T0 + t <= t10 + 1.0] if math.isfinite(t10) else []
    move = math.dist(_med(a), _med(b)) if a and b else math.nan
    return {"drop": drop, "dur": t10 - t90, "ratio": ratio, "move": move}


def _med(p: list[tuple[float, float]]) -> tuple[float, float]:
    xs, ys = sorted(x for x, _ in p), sorted(y for _, y in p)
    return xs[len(xs) // 2], ys[len(ys) // 2]


def presentations(tmp: Path) -> dict[str, list[tuple[str, str, str, list[Any]]]]:
    """name -> [(data set, label, clip name, rows)]"""
    clips = rob.base_clips(tmp / "base")
    out: dict[str, list[tuple[str, str, str, list[Any]]]] = {
        "as written": [], "20 Hz": [], "20 Hz, others played backwards": []}
    for c in clips:
        for name, rows in rob.windows(c, None):
            r20 = rob.resample(rows)
            out["as written"].append((c.data, c.label, name, rows))
            out["20 Hz"].append((c.data, c.label, name, r20))
            out["20 Hz, others played backwards"].append(
                (c.data, c.label, name, r20 if c.label == "fall" else rob.reverse(r20)))
    return out


def fmt(v: float, unit: str = "") -> str:
    return "-" if not math.isfinite(v) else f"{v:.2f}{unit}"


def main() -> int:
    if not rob.DATA.is_dir():
        print(f"no data at {rob.DATA}")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="radar-shapes-"))
    summary: dict[tuple[str, bool], list[dict[str, float]]] = {}
    print("Clips the rule fires in that are falls or raise an alarm:")
    print("| presentation | clip | label | alarm | drop | t90-10 | end/mid speed | moved |")
    print("|---|---|---|---|---|---|---|---|")
    for pres, items in presentations(tmp).items():
        for data, label, name, rows in items:
            path = tmp / "".join(ch if ch.isalnum() else "_" for ch in pres) / label / f"{name}.csv"
            rob.write(path, rows, False)
            clip = radar_tracks.read_clip(path, label)
            got = shape(clip)
            if got is None:
                continue
            alarm = radar_tracks.run_clip(clip)[0].alarm
            is_fall = label == "fall"
            if alarm:
                summary.setdefault((f"{data} {pres}", is_fall), []).append(got)
            if not (alarm or is_fall):
                continue
            print(f"| {pres} | {data} {name} | {label} | {'yes' if alarm else 'no'} | "
                  f"{fmt(got['drop'], ' m')} | {fmt(got['dur'], ' s')} | {fmt(got['ratio'])} | "
                  f"{fmt(got['move'], ' m')} |",
                  flush=True)
    print("\nAlarmed clips, range (min-max) per presentation:")
    print("| data, presentation | falls: t90-10 | others: t90-10 | falls: end/mid | others: end/mid"
          " | falls: moved | others: moved |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted({k for k, _ in summary}):
        cells = []
        for feat in ("dur", "ratio", "move"):
            for is_fall in (True, False):
                vs = [g[feat] for g in summary.get((key, is_fall), []) if math.isfinite(g[feat])]
                cells.append(f"{min(vs):.2f}-{max(vs):.2f} ({len(vs)})" if vs else "-")
        print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
