"""Every impact episode the wearable detector judges, with its features: the tuning table.

Why: choosing settings by re-running the detector for every point of a grid, for every
fold of a cross-validation, over thousands of recordings, costs hours on a Pi-class
machine. The detector's decision on an episode is a rule over a handful of features (peak,
descent speed, posture change, stillness, score), so we run it *once* per recording with
permissive settings (a low impact threshold, no posture pre-check, never firing) and
record every episode it judges. A candidate setting is then applied to the table in
microseconds. The table is for *choosing*; every figure reported as held-out is measured
afterwards by running the chosen setting through the real pipeline (`runner`).

Each episode also records `got_up_s`: when the detector's get-up watch, had the episode
fired, would have cancelled it (seconds after the decision; inf when not within the cancel
window), so the table scores cancels as the product does. Approximation: the table ignores
that a fired fall suspends the search for new impacts until it is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gateway.evaluation.recording import Recording
from gateway.evaluation.runner import END_SLACK_S, ONSET_SLACK_S

FEATURES = ("peak_g", "drop_mps", "posture_change_deg", "posture_vs_pre_deg", "post_activity_g",
            "stillness_s", "pre_peak_g", "pre_activity_g", "arm_rhythm", "similar_peaks",
            "free_fall_s", "score", "t", "t_first", "t_judged",
            "got_up_s")
PERMISSIVE_IMPACT_G = 1.8
MOVEMENT_WINDOW_S = 1.0   # the get-up rule's window (WearableFallDetector._watch_getup)


@dataclass
class Episodes:
    """One recording's metadata and its episodes, `features` (E, len(FEATURES))."""

    name: str
    dataset: str
    subject: str
    activity: str
    is_fall: bool
    group: str
    duration: float
    fall_lo: float
    fall_hi: float
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURES))))


def permissive(placement: str) -> Any:
    from detectors.wearable_fall import WearableFallSettings
    key = placement if placement in ("wrist", "chest", "pendant") else "waist"
    table = {key: {"impact_g": PERMISSIVE_IMPACT_G, "min_posture_deg": 0.0,
                   "score_threshold": 1e6}}
    return WearableFallSettings.model_validate(table)


def collect(rec: Recording, placement: str, block_s: float = 0.0) -> Episodes:
    """Run the detector once over `rec` as if worn at `placement`, recording episodes."""
    from detectors.base import SensorMeta
    from detectors.wearable_fall import WearableFallDetector
    from sensordata.readings import AccelBlock
    det = WearableFallDetector(permissive(placement),
                               {"w": SensorMeta("w", "evaluation", placement=placement)})
    rows: list[list[float]] = []
    t0 = float(rec.t[0])
    det.observer = lambda _s, f, _fired: rows.append(
        [float(f[k]) - (t0 if k.startswith("t") else 0.0) if k in f else np.inf
         for k in FEATURES])
    det.feed([AccelBlock("w", rec.t, rec.xyz)])
    if rows:
        _get_up(rec, det.settings, rows,
                pre_fall_needed=det._placement("w").getup_needs_pre_fall)
    lo = (rec.fall_onset - t0 - ONSET_SLACK_S) if rec.fall_onset is not None else -np.inf
    hi = (rec.fall_end - t0 + END_SLACK_S) if rec.fall_end is not None else np.inf
    return Episodes(rec.name, rec.dataset, rec.subject, rec.activity, rec.is_fall, rec.group,
                    rec.duration, lo, hi, np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)))


def _get_up(rec: Recording, s: Any, rows: list[list[float]], cancel_window_s: float = 30.0,
            pre_fall_needed: bool = False) -> None:
    """Fill `got_up_s` of each episode with the detector's own get-up rule (a sustained
    return to the pre-fall orientation, `WearableFallDetector._watch_getup`); with
    `pre_fall_needed` (the wrist), none for an impact within 2.5 s of the recording's
    start, whose pre-fall orientation is not recorded."""
    import math

    from detectors.wearable_fall import GRID_HZ
    from detectors.wearable_features import PRE_WINDOW_S
    from detectors.wearable_resample import GridResampler
    grid = GridResampler(GRID_HZ, s.max_gap_s)
    runs = grid.feed(rec.t, rec.xyz)          # split at pauses, as the detector sees them
    origin = grid.origin if grid.origin is not None else float(rec.t[0])
    dt = grid.dt
    win = int(round(1.0 / dt))
    need = int(round(s.getup_s / dt))
    t0 = float(rec.t[0])
    sums: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # per run, once: its running sums
    for row in rows:
        row[column("got_up_s")] = np.inf
        k_impact = int(round((row[column("t_first")] + t0 - origin) / dt))
        k_judged = int(round((row[column("t_judged")] + t0 - origin) / dt))
        run = next((r for r in runs if r.k0 <= k_judged < r.k0 + len(r.peak)), None)
        if run is None or (pre_fall_needed and row[column("t_first")] < -PRE_WINDOW_S[0]):
            continue
        x = run.mean                          # the detector starts over after a pause
        i0, e = k_impact - run.k0, k_judged - run.k0
        if run.k0 not in sums:
            sums[run.k0] = (np.cumsum(np.concatenate((np.zeros((1, 3)), x)), axis=0),
                            np.cumsum(np.concatenate(([0.0], np.einsum("ij,ij->i", x, x)))))
        c, c2 = sums[run.k0]
        lo = max(0, i0 + int(PRE_WINDOW_S[0] / dt))
        ref = x[lo:max(lo + 1, i0 + int(PRE_WINDOW_S[1] / dt))].mean(axis=0)
        ref = ref / max(float(np.linalg.norm(ref)), 1e-9)
        idx = np.arange(max(e + 1, win), min(len(x), e + 1 + int(cancel_window_s / dt))) + 1
        if not len(idx):
            continue
        mean = (c[idx] - c[idx - win]) / win
        var = (c2[idx] - c2[idx - win]) / win - np.einsum("ij,ij->i", mean, mean)
        act = np.sqrt(np.maximum(var, 0.0))
        cos = (mean @ ref) / np.maximum(np.linalg.norm(mean, axis=1), 1e-9)
        up = (cos >= math.cos(math.radians(s.upright_deg))) & (act >= s.getup_activity_g)
        run_len = np.convolve(up.astype(np.int64), np.ones(need, dtype=np.int64),
                              "full")[:len(up)]
        hit = np.flatnonzero(run_len >= need)
        if len(hit):
            row[column("got_up_s")] = float((idx[hit[0]] - 1 - e) * dt)


def evidence_s(settings: Any, placement: str) -> float:
    """Seconds after the judging point a wearer who is fine needs to show it, from the
    detector's own settings: back upright (`getup_s`), then steps (the placement's
    `walk_s`), plus the 1 s window over which the get-up rule measures orientation and
    movement. A recording that ends sooner after an episode cannot show what happened next
    (the wrist's defaults: 1 + 3 + 1 = 5 s). Derived, not tuned on any figure."""
    key = placement if placement in ("wrist", "chest", "pendant") else "waist"
    return float(settings.getup_s + getattr(settings, key).walk_s + MOVEMENT_WINDOW_S)


def column(name: str) -> int:
    return FEATURES.index(name)


def scores(eps: Episodes, rule: Mapping[str, float]) -> np.ndarray:
    """Each episode's score under `rule` (WearableFallDetector.score on the table)."""
    f = eps.features
    still = np.maximum(0.0, 1.0 - f[:, column("post_activity_g")] / rule["max_post_activity_g"])
    return (rule["bias"] + rule["w_peak"] * (f[:, column("peak_g")] - 1.0)
            + rule["w_drop"] * f[:, column("drop_mps")]
            + rule["w_posture"] * f[:, column("posture_change_deg")] / 90.0
            + rule["w_still"] * still)


def alarms(eps: Episodes, rule: Mapping[str, float]) -> np.ndarray:
    """Which episodes of `eps` a setting would raise (PlacementSettings keys in `rule`)."""
    f = eps.features
    if not len(f):
        return np.zeros(0, dtype=bool)
    score = scores(eps, rule)
    return ((f[:, column("got_up_s")] > 1e6)         # a get-up inside the window cancels
            & (f[:, column("peak_g")] >= rule["impact_g"])
            & (f[:, column("posture_vs_pre_deg")] >= rule["min_posture_deg"])
            & (f[:, column("posture_change_deg")] >= rule["min_posture_deg"])
            & (f[:, column("post_activity_g")] <= rule["max_post_activity_g"])
            & (f[:, column("pre_activity_g")] <= rule.get("max_pre_activity_g", np.inf))
            & (f[:, column("similar_peaks")] <= rule.get("max_similar_peaks", np.inf))
            & (score >= rule["score_threshold"]))


def verdicts(table: Iterable[Episodes], rule: Mapping[str, float]) -> list[tuple[Episodes, bool]]:
    """(recording, correct?) per recording: a fall needs an alarm in its span, an ADL none."""
    out = []
    for eps in table:
        fired = alarms(eps, rule)
        if eps.is_fall:
            t = eps.features[:, column("t")] if len(eps.features) else np.zeros(0)
            ok = bool((fired & (t >= eps.fall_lo) & (t <= eps.fall_hi)).any())
        else:
            ok = not bool(fired.any())
        out.append((eps, ok))
    return out
