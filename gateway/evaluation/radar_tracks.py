"""`safehome evaluate --format radar-tracks DIR`: the radar fall detector on any 3D radar's
tracks, clip by clip, through the daemon's own Pipeline.

Why: the detector must not be tuned to one radar. Every 3D radar (TI people tracking,
Vayyar, Infineon, a research tracker) can export what its tracker saw as rows of time and
position; this reader takes exactly that, so clips from a radar we have never seen are
judged by the same code that runs in a home.

DIR layout: `fall/*.csv` holds clips with a fall; every other folder (any name: `walk`,
`sit`, `adl`) holds clips without one, and its name is the clip's label. Each CSV has a
header with at least `t,x,y,z`:
- `t`: seconds (any origin) or ISO 8601 time; each target's rows in time order (targets
  may come one after the other); rows with the same `t` are one frame;
- `x, y, z`: metres, z up; all three empty or NaN: the target was not seen at `t` (some
  exporters write such rows). In the radar's own frame (z = 0 at the radar) unless
  `--mounting-height H` says the radar hangs H m above the floor (z then gets + H: the floor
  is at z = -H in the file), which lets the detector also use absolute heights;
- `id` (optional): target id (a whole number or any name), for clips with several people;
  other columns are ignored.
Each frame becomes one `RadarTargets` reading (targets with a centroid z, no top height).

After the last row sensor time ticks on, one tick a second for `TAIL_S`, as the daemon
ticks while the radar reports nobody (a person lying still drops out of most trackers),
so a descent at the end of a clip can be confirmed; nothing is made up. Then the cancel
window runs out (`Pipeline.finish`). `alarm` is true when a `fall` alarm went out.

Bad input (a missing column, a value that is not a number or a time, a target's time
going back, an empty file) is refused with the file, line and column, and the command exits 2.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.evaluation.radar import T0

TAIL_S = 10.0      # sensor seconds ticked after a clip's last row (confirm_seconds is 5)
REQUIRED = ("t", "x", "y", "z")
FALL_LABEL = "fall"
WALL_CONFIG = Path(__file__).resolve().parents[2] / "firmware_configs" / "iwr6843aop_wall.cfg"


class TrackCsvError(ValueError):
    """A clip the reader refuses: where, what, and how to fix it."""

    def __init__(self, path: Path, line: int, column: str | None, problem: str, fix: str):
        where = f"{path}: line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {problem}; {fix}")


@dataclass(frozen=True)
class TrackClip:
    """One clip: frames of (seconds from the first row, ((id, x, y, z), ...))."""

    file: str
    label: str
    frames: list[tuple[float, tuple[tuple[int, float, float, float], ...]]]

    @property
    def seconds(self) -> float:
        return self.frames[-1][0] - self.frames[0][0] if self.frames else 0.0


def _number(path: Path, line: int, col: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise TrackCsvError(path, line, col, f"{text!r} is not a number",
                            "x, y, z are metres as plain numbers (e.g. 1.25)")
    return v


def _time(path: Path, line: int, text: str, iso: bool) -> float:
    if not iso:
        return _number(path, line, "t", text)
    from sensordata.timefmt import parse_iso
    try:
        return parse_iso(text.strip())
    except ValueError:
        raise TrackCsvError(path, line, "t", f"{text!r} is not an ISO 8601 time",
                            "give t as seconds (e.g. 12.35) or ISO 8601 "
                            "(e.g. 2026-01-05T10:00:00.050Z) in every row") from None


def _T(row: tuple[float, int, float, float, float]) -> float:
    return row[0]


def _target_id(path: Path, line: int, text: str, names: dict[str, int]) -> int:
    """A target id: a whole number as it is, any other text (trackers and exporters name
    targets "p1", "person-2", uuids) numbered by first appearance, from 1,000,000 on so it
    never meets a numeric id of the same clip."""
    key = text.strip()
    if not key:
        raise TrackCsvError(path, line, "id", "the id is empty",
                            "give every row its target's id (a number or a name)")
    try:
        v = float(key)
    except ValueError:
        return names.setdefault(key, 1_000_000 + len(names))
    if not math.isfinite(v) or v != int(v):
        raise TrackCsvError(path, line, "id", f"{text!r} is not a whole number or a name",
                            "give ids as whole numbers (e.g. 3) or names (e.g. p3)")
    return int(v)


def read_clip(path: Path, label: str, name: str | None = None) -> TrackClip:
    """Parse one CSV clip (TrackCsvError on bad input)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise TrackCsvError(path, 1, None, "the file is empty",
                                "write a header line with at least t,x,y,z and one row a frame")
        cols = [c.strip().lower() for c in header]
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise TrackCsvError(path, 1, missing[0], f"the header {','.join(header)!r} has no "
                                f"{', '.join(missing)} column", "the header needs t,x,y,z "
                                "(and optionally id); other columns are ignored")
        at = {c: cols.index(c) for c in (*REQUIRED, "id") if c in cols}
        rows: list[tuple[float, int, float, float, float]] = []
        iso: bool | None = None
        names: dict[str, int] = {}
        last: dict[int, float] = {}
        for line, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < len(cols):
                raise TrackCsvError(path, line, None, f"{len(row)} values for {len(cols)} "
                                    "columns", "every row needs a value for every header column")
            if iso is None:
                try:
                    float(row[at["t"]])
                    iso = False
                except ValueError:
                    iso = True
            t = _time(path, line, row[at["t"]], iso)
            tid = 0
            if "id" in at:
                tid = _target_id(path, line, row[at["id"]], names)
            if tid in last and t < last[tid]:
                raise TrackCsvError(path, line, "t", f"time goes back from {last[tid]} to {t}",
                                    "sort the rows by t")
            last[tid] = t
            xyz = [row[at[c]].strip() for c in ("x", "y", "z")]
            if all(v.lower() in ("", "nan") for v in xyz):
                continue    # the tracker did not see this target at t (some exporters say so)
            x, y, z = (_number(path, line, c, row[at[c]]) for c in ("x", "y", "z"))
            rows.append((t, tid, x, y, z))
    if not rows:
        raise TrackCsvError(path, 2, None, "the file has a header but no rows with a position",
                            "add one row per frame and target")
    # one frame per time; targets may come grouped by id (each in time order) rather than
    # interleaved, so the rows are put in time order (stable: a frame keeps its row order)
    rows.sort(key=_T)
    t0 = rows[0][0]
    frames: list[tuple[float, list[tuple[int, float, float, float]]]] = []
    prev = None
    for t, tid, x, y, z in rows:
        if t != prev:
            frames.append((t - t0, []))
            prev = t
        frames[-1][1].append((tid, x, y, z))
    return TrackClip(name or path.name, label, [(t, tuple(g)) for t, g in frames])


def clip_paths(root: Path) -> list[tuple[Path, str]]:
    """(file, label) for every `*.csv` in DIR's folders, folders and files sorted."""
    return [(p, d.name) for d in sorted(Path(root).iterdir()) if d.is_dir()
            for p in sorted(d.glob("*.csv"))]


def home(mounting_height: float | None, detectors: dict[str, Any] | None = None) -> Any:
    """A default home with one radar. With a mounting height the radar's heights are in a
    room frame (a wall radar at that height, level), so the detector may use absolute ones."""
    from gateway.config import HomeConfig
    sensor: dict[str, Any] = {"id": "radar", "type": "ti_mmwave", "room": "room"}
    if mounting_height is not None:
        sensor["settings"] = {"port": "file:/dev/null", "config": str(WALL_CONFIG),
                              "sensor_height_m": mounting_height, "elevation_tilt_deg": 0.0}
    return HomeConfig.for_replay([sensor], **({"detectors": detectors} if detectors else {}))


@dataclass
class ClipResult:
    file: str
    label: str
    alarm: bool
    suspected: int
    cancelled: int
    frames: int
    seconds: float
    evidence: dict[str, float] = field(default_factory=dict)


def run_clip(clip: TrackClip, mounting_height: float | None = None,
             detectors: dict[str, Any] | None = None) -> tuple[ClipResult, list[Any]]:
    """One clip through a fresh Pipeline: its result and every event."""
    from gateway.pipeline import Pipeline
    from sensordata.readings import RadarTargets, Target
    lift = mounting_height or 0.0
    ids = iter(range(1, 1 << 30))
    pipe = Pipeline(home(mounting_height, detectors), clock=lambda: pipe.now or T0,
                    id_factory=lambda: f"{clip.file}:{next(ids)}")
    events: list[Any] = []
    for n, (t, targets) in enumerate(clip.frames):
        events += pipe.feed([RadarTargets("radar", T0 + t, n, tuple(
            Target(tid, x, y, z + lift) for tid, x, y, z in targets))])
    end = pipe.now or T0
    for k in range(1, int(TAIL_S) + 1):
        events += pipe.tick(end + k)
    events += pipe.finish()
    sus = [e for e in events if e.type == "fall_suspected"]
    ev = {k: float(v) for k, v in (sus[0].evidence or {}).items()
          if isinstance(v, (int, float))} if sus else {}
    return ClipResult(clip.file, clip.label, any(e.type == "fall" for e in events), len(sus),
                      sum(e.type == "alarm_cancelled" for e in events), len(clip.frames),
                      round(clip.seconds, 3), ev), events


def evaluate(root: Path, mounting_height: float | None = None,
             detectors: dict[str, Any] | None = None) -> list[ClipResult]:
    out = []
    for path, label in clip_paths(root):
        clip = read_clip(path, label, str(path.relative_to(root)))
        out.append(run_clip(clip, mounting_height, detectors)[0])
    return out


def summary(results: list[ClipResult]) -> dict[str, Any]:
    falls = [r for r in results if r.label == FALL_LABEL]
    others = [r for r in results if r.label != FALL_LABEL]
    per = {}
    for lab in sorted({r.label for r in others}):
        rs = [r for r in others if r.label == lab]
        per[lab] = {"clips": len(rs), "false_alarms": sum(r.alarm for r in rs)}
    return {"falls": len(falls), "falls_alarmed": sum(r.alarm for r in falls),
            "others": len(others), "false_alarms": sum(r.alarm for r in others),
            "per_label": per}
