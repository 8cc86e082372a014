"""What the radar shows of each real fall, and what the fall detector made of it: one PNG
per labelled fall (8 in the mmfall people-tracking captures, 5 SafeSenior fall clips).

    nice -n 10 .venv/bin/python benchmarks/radar_fall_shapes.py [OUT_DIR]   # build/radar-falls

Each capture/clip runs through the gateway's Pipeline exactly as `safehome evaluate
--format radar` runs it (mmfall: the doctor's walk mounting, 1.09 m / 15 deg; SafeSenior:
the walking clips' mounting), with the detector's debug list switched on. Per fall:
- top: every point's height (room frame) coloured by |radial velocity|; the height the
  detector judged (its pooled-cluster height, or a track's height) coloured by its state
  (watching / descent waiting for confirmation / fallen); tracked heights (TLV 1010/1012)
  where the capture has tracks (only people_tracking_walking does); the label;
- bottom: points per frame and their median range (where the person is).
And one printed line per fall, in numbers: the standing height before (90th percentile of
the detector's height 2-6 s before the label), the lowest height within 3 s after, the
points per second before/after, the seconds without a person-height after, the
detector's outcome. The PNGs go under build/ (not committed); docs/detection-radar.md quotes
the numbers.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import _util  # noqa: F401
import numpy as np

from gateway.evaluation.radar import LABELS, T0, home_for, measured_mounting

DATA = _util.REPO.parent / "shared" / "data" / "radar-real-dev"
STATE = ("watching", "descent waiting", "fallen")
COLOURS = ("tab:blue", "tab:orange", "tab:red")


def run_mmfall(name: str) -> tuple[np.ndarray, list[tuple], list[tuple], list[float], list[float]]:
    """Points (t, x, y, z, v), tracks (t, tid, z, height), the detector's debug list and
    fall alarm times (s from the first frame) for one mmfall capture."""
    from drivers.ti_mmwave import chirp
    from drivers.ti_mmwave.convert import FrameConverter
    from drivers.ti_mmwave.parser import FrameParser
    from gateway.pipeline import Pipeline
    root = DATA / "mmfall"
    cfg = chirp.load(root / "config" / "people_tracking.cfg")
    mount = measured_mounting(root / "people_tracking_walking.bin")
    path = root / f"{name}.bin"
    home = home_for(path, cfg, mount, {"radar_fall": {"mounting": "configured"}})
    now = [T0]
    ids = iter(range(1, 1 << 30))
    pipe = Pipeline(home, clock=lambda: now[0], id_factory=lambda: f"x:{next(ids)}")
    det = pipe.detectors["radar_fall"]
    det.debug = []  # type: ignore[attr-defined]
    conv = FrameConverter("radar", mount, tracking=cfg.tracking,
                          doppler_resolution_mps=cfg.doppler_resolution_mps)
    pts: list[np.ndarray] = []
    tracks: list[tuple] = []
    events: list[Any] = []
    first = None
    for f in FrameParser().feed(path.read_bytes()):
        n = f.header.frame_number
        first = n if first is None else first
        now[0] = max(now[0], T0 + (n - first) * (cfg.frame_period_s or 0.055))
        rs = conv.readings(f, now[0])
        for r in rs:
            if r.kind == "radar_points" and len(r.points):
                pts.append(np.column_stack([np.full(len(r.points), r.t - T0), r.points[:, :4]]))
            elif r.kind == "radar_targets":
                tracks += [(r.t - T0, g.tid, g.z, g.height) for g in r.targets]
        events += pipe.feed(rs)
    events += pipe.finish()
    dbg = [(t - T0, *rest) for t, *rest in det.debug]  # type: ignore[attr-defined]
    return (np.concatenate(pts) if pts else np.zeros((0, 5)), tracks, dbg,
            [e.occurred_at - T0 for e in events if e.type == "fall"],
            [e.occurred_at - T0 for e in events if e.type == "fall_suspected"])


def run_safesenior(clip_name: str) -> tuple[np.ndarray, list[tuple], list[tuple], list[float],
                                            list[float]]:
    from drivers.ti_mmwave import chirp
    from gateway.evaluation import safesenior
    from gateway.pipeline import Pipeline
    from sensordata.radar_mounting import Mounting
    root = DATA / "safesenior"
    all_clips = safesenior.clips(root)
    est = safesenior.walk_mounting([c for c in all_clips if c.kind == "walking"])
    mount = Mounting(est.height_m, est.elevation_tilt_deg)
    cfg = chirp.load(sorted((root / "config").glob("*.cfg"))[0])
    clip = next(c for c in all_clips if c.name == clip_name)
    home = home_for(Path(cfg.path), cfg, mount,
                    {"radar_fall": {"mounting": "configured", "min_snr": 0.0}})
    ids = iter(range(1, 1 << 30))
    pipe = Pipeline(home, clock=lambda: pipe.now or T0, id_factory=lambda: f"x:{next(ids)}")
    det = pipe.detectors["radar_fall"]
    det.debug = []  # type: ignore[attr-defined]
    pts = []
    events: list[Any] = []
    for r in safesenior.readings(clip, mount):
        if len(r.points):
            pts.append(np.column_stack([np.full(len(r.points), r.t - T0), r.points[:, :4]]))
        events += pipe.feed([r])
    end = pipe.now or T0
    for k in range(1, int(safesenior.TAIL_S) + 1):
        events += pipe.tick(end + k)
    events += pipe.finish()
    dbg = [(t - T0, *rest) for t, *rest in det.debug]  # type: ignore[attr-defined]
    return (np.concatenate(pts), [], dbg, [e.occurred_at - T0 for e in events if e.type == "fall"],
            [e.occurred_at - T0 for e in events if e.type == "fall_suspected"])


def numbers(label: str, fall_t: float, pts: np.ndarray, dbg: list[tuple],
            alarms: list[float], suspected: list[float]) -> str:
    h = np.array([(t, z, s) for t, _, _, z, s in dbg]) if dbg else np.zeros((0, 3))
    before = h[(h[:, 0] >= fall_t - 6) & (h[:, 0] < fall_t - 2)] if len(h) else h
    after = h[(h[:, 0] >= fall_t - 1) & (h[:, 0] <= fall_t + 3)] if len(h) else h
    stand = float(np.quantile(before[:, 1], 0.9)) if len(before) else float("nan")
    low = float(after[:, 1].min()) if len(after) else float("nan")
    rate_b = np.sum((pts[:, 0] >= fall_t - 6) & (pts[:, 0] < fall_t - 1)) / 5.0
    rate_a = np.sum((pts[:, 0] >= fall_t) & (pts[:, 0] < fall_t + 5)) / 5.0
    seen = h[(h[:, 0] > fall_t) & (h[:, 0] <= fall_t + 10)] if len(h) else h
    gaps = np.diff(np.concatenate([[fall_t], seen[:, 0], [fall_t + 10]])) if len(h) else [10.0]
    state = max((int(s) for t, s in h[:, [0, 2]].tolist()
                 if fall_t - 3 <= t <= fall_t + 15), default=0) if len(h) else 0
    hit = any(fall_t - 3 <= a <= fall_t + 15 for a in alarms)
    sus = [round(a - fall_t, 1) for a in suspected if fall_t - 3 <= a <= fall_t + 15]
    return (f"{label}: standing {stand:.2f} m, lowest {low:.2f} m (drop {stand - low:.2f}), "
            f"points/s {rate_b:.0f} before / {rate_a:.0f} after, longest gap after "
            f"{max(gaps):.1f} s, detector reached '{STATE[state]}', "
            f"{'FALL ALARM' if hit else 'no alarm'}"
            + (f", fall_suspected at {sus} s" if sus else ""))


def plot(out: Path, label: str, fall_t: float, pts: np.ndarray, tracks: list[tuple],
         dbg: list[tuple], span: tuple[float, float]) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lo, hi = fall_t + span[0], fall_t + span[1]
    p = pts[(pts[:, 0] >= lo) & (pts[:, 0] <= hi)]
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True,
                               gridspec_kw={"height_ratios": [3, 1]})
    sc = a.scatter(p[:, 0] - fall_t, p[:, 3], c=np.abs(p[:, 4]), s=6, cmap="viridis",
                   vmin=0, vmax=2, label="points (colour: |radial v| m/s)")
    fig.colorbar(sc, ax=a, pad=0.01)
    d = [r for r in dbg if lo <= r[0] <= hi]
    for s in (0, 1, 2):
        q = [(t - fall_t, z) for t, _, _, z, st in d if st == s]
        if q:
            a.plot(*zip(*q, strict=True), ".", ms=4, color=COLOURS[s], label=f"detector height: {STATE[s]}")
    tr = [(t - fall_t, z, hh) for t, _, z, hh in tracks if lo <= t <= hi]
    if tr:
        a.plot([x[0] for x in tr], [x[1] for x in tr], "k+", ms=4, label="track z (TLV 1010)")
        a.plot([x[0] for x in tr if x[2] is not None], [x[2] for x in tr if x[2] is not None],
               "kx", ms=4, label="track top (TLV 1012)")
    a.axvline(0, color="k", ls="--", lw=1)
    a.set_ylabel("height (m, room frame)")
    a.set_ylim(-1.5, 2.2)
    a.legend(loc="upper left", fontsize=7, ncol=2)
    a.set_title(label)
    frames = np.unique(p[:, 0])
    counts = [np.sum(p[:, 0] == t) for t in frames]
    b.bar(frames - fall_t, counts, width=0.05, color="tab:gray")
    b.set_ylabel("points/frame")
    rng = np.hypot(p[:, 1], p[:, 2])
    b2 = b.twinx()
    b2.plot(p[:, 0] - fall_t, rng, ".", ms=2, color="tab:green")
    b2.set_ylabel("range (m)", color="tab:green")
    b.set_xlabel("seconds from the labelled fall")
    fig.tight_layout()
    path = out / (label.split(" ")[0].replace(":", "_") + ".png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else _util.REPO / "build" / "radar-falls"
    out.mkdir(parents=True, exist_ok=True)
    if not DATA.is_dir():
        print(f"no data at {DATA}")
        return 1
    labels = tomllib.loads(LABELS.read_text())["captures"]
    for name in ("people_tracking_fall_0", "people_tracking_fall_1"):
        pts, tracks, dbg, alarms, sus = run_mmfall(name)
        for i, f in enumerate(labels[name]["falls"]):
            label = f"{name}:{i + 1} at {f} s"
            plot(out, label, float(f), pts, tracks, dbg, (-8.0, 12.0))
            print(numbers(label, float(f), pts, dbg, alarms, sus), flush=True)
    for k in range(1, 6):
        pts, tracks, dbg, alarms, sus = run_safesenior(f"fall_{k}")
        # the clip has no fall label: take the moment the judged height was lowest-changing
        h = np.array([(t, z) for t, _, _, z, _ in dbg])
        fall_t = float(h[int(np.argmin(np.diff(h[:, 1])) + 1), 0]) if len(h) > 2 else 1.5
        label = f"safesenior_fall_{k} (steepest drop at {fall_t:.1f} s)"
        plot(out, label, fall_t, pts, tracks, dbg, (-fall_t, 4.0))
        print(numbers(label, fall_t, pts, dbg, alarms, sus), flush=True)
    pts, tracks, dbg, _, _ = run_mmfall("people_tracking_walking")
    plot(out, "people_tracking_walking 60-80 s (tracks)", 60.0, pts, tracks, dbg, (0.0, 20.0))
    print(f"plots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
