"""Features of one candidate impact, computed on the fixed-rate grid.

Why these: a fall is a short loss of support (the body accelerates downward, the sensor
reads well under 1 g), a hard stop (a peak of several g), and a body that ends up in a
different orientation and lies still. Each feature measures one of those physically, in
units a carer or an auditor can read in the event's evidence:

- `peak_g`: largest acceleration magnitude around the impact;
- `drop_mps`: downward speed gained before the impact, from integrating (|a| - 1 g) over
  the last 1.5 s before it: orientation-free, so it works on a wrist as on a belt;
- `posture_change_deg`: angle between the gravity direction before (standing or
  sitting) and after (lying) the impact;
- `post_activity_g`: how much the sensor still moves after the impact (RMS deviation
  from its mean), and `stillness_s`, how long of the post window it stayed within a
  small tolerance of that mean;
- `pre_peak_g`, `pre_activity_g`: what the sensor did before the episode (repeated hard
  peaks mean clapping, jogging or hopping); evidence for the reader, not in the score;
- `similar_peaks`: how many separate peaks of about the impact's size lie between 2 s
  before it and the judging point (the arm's own rhythm; the wrist's `max_similar_peaks`
  gate), `arm_rhythm`: the magnitude's autocorrelation at 0.2-1.0 s there, and
  `free_fall_s`: the longest spell under 0.6 g in the second before the impact (evidence
  only: measured absent from about half the wrist falls, docs/detection.md).

All windows are in seconds and converted to grid points, so the numbers do not depend on
the sensor's sampling rate.
"""

from __future__ import annotations

import math

import numpy as np

G = 9.81

PRE_WINDOW_S = (-2.5, -1.0)    # orientation before the fall: before the descent began
DROP_WINDOW_S = (-1.5, 0.0)    # descent before the impact
PRE_PEAK_WINDOW_S = (-3.0, -0.7)  # hard peaks here mean a repetitive activity, not a fall
POST_START_S = 0.4             # after the rebound of the impact
POST_LEN_S = 1.0               # stillness is judged over at most this long


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two vectors in degrees (0 when either is zero)."""
    na, nb = math.sqrt(float(a @ a)), math.sqrt(float(b @ b))
    if na < 1e-9 or nb < 1e-9:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(a @ b) / (na * nb)))))


def _windows(i_pre: int, i_imp: int, e: int, dt: float) -> tuple[int, int, int, int]:
    """Grid bounds (pre lo, pre hi, post lo, post hi): before the episode's first impact
    `i_pre`; the last second up to the judging point `e`, never the rebound of `i_imp`."""
    lo = max(0, i_pre + int(round(PRE_WINDOW_S[0] / dt)))
    hi = max(lo + 1, i_pre + int(round(PRE_WINDOW_S[1] / dt)))
    p0 = max(i_imp + int(round(POST_START_S / dt)), e - int(round(POST_LEN_S / dt)))
    return lo, hi, min(p0, e), e + 1


def posture_vs_pre(x: np.ndarray, i_pre: int, i_imp: int, e: int, dt: float) -> float:
    """The cheap first test: orientation change from just before to after the impact.
    Most candidate peaks (steps, jogging, a bump) fail it, so the rest is not computed."""
    lo, hi, p0, p1 = _windows(i_pre, i_imp, e, dt)
    return angle_deg(x[lo:hi].sum(axis=0), x[p0:p1].sum(axis=0))


def impact_features(x: np.ndarray, peak: np.ndarray, i_pre: int, i: int, e: int, dt: float,
                    still_tol_g: float) -> dict[str, float]:
    """Features of an episode: first impact at grid index `i_pre`, hardest impact `i`,
    judged with data up to `e`, in history `x` (M, 3) / `peak` (M,).

    The history may start late (the first seconds of a stream), in which case the
    windows are clipped to what exists.
    """
    def idx(s: float) -> int:
        return i + int(round(s / dt))

    lo, hi, p0, p1 = _windows(i_pre, i, e, dt)
    pre = x[lo:hi].mean(axis=0)
    post_x = x[p0:p1]
    post = post_x.mean(axis=0)
    dev = np.linalg.norm(post_x - post, axis=1)
    # descent: integrate (|a| - 1 g) over the window before the impact; the largest fall
    # of that running integral is the downward speed gained
    d0 = max(0, idx(DROP_WINDOW_S[0]))
    mag = np.linalg.norm(x[d0:i + 1], axis=1)
    vel = np.cumsum((mag - 1.0) * G * dt)
    drop = float(np.max(np.maximum.accumulate(np.concatenate(([0.0], vel)))[1:] - vel)) \
        if len(vel) else 0.0
    k0, k1 = max(0, i - int(0.3 / dt)), i + int(0.3 / dt) + 1
    # what the sensor did before the fall began: repeated hard peaks (clapping, jogging,
    # hopping) or steady movement, versus the calm before a loss of balance
    q0 = max(0, i_pre + int(round(PRE_PEAK_WINDOW_S[0] / dt)))
    q1 = max(0, i_pre + int(round(PRE_PEAK_WINDOW_S[1] / dt)))
    pre_peak = float(peak[q0:q1].max()) if q1 > q0 else 1.0
    pre_x = x[lo:hi]
    pre_dev = np.linalg.norm(pre_x - pre, axis=1)
    a0, a1 = max(0, i + int(round(ARM_WINDOW_S / dt))), min(len(x), e + 1)
    return {
        "peak_g": float(peak[k0:k1].max()),
        "drop_mps": drop,
        "posture_change_deg": angle_deg(pre, post),
        "post_activity_g": float(np.sqrt(np.mean(dev * dev))),
        "stillness_s": float(np.count_nonzero(dev < still_tol_g) * dt),
        "pre_peak_g": pre_peak,
        "pre_activity_g": float(np.sqrt(np.mean(pre_dev * pre_dev))),
        "arm_rhythm": arm_rhythm(x[a0:a1], dt),
        "similar_peaks": float(similar_peaks(peak[a0:a1], i - a0, dt)),
        "free_fall_s": free_fall_s(x[max(0, i - int(round(FREE_FALL_LOOK_S / dt))):i], dt),
        "_post": post,
    }


# -- the arm's own rhythm around the impact ------------------------------------------------
# Why: waving, clapping, sweeping or pulling a jacket sleeve is the wearer's own periodic arm
# movement: the magnitude repeats every 0.2-1.0 s before AND after the hardest peak, with
# several peaks of about the same size. A body losing its balance makes one dominant impact
# (perhaps a rebound within a few tenths of a second) and then lies still. Both measures
# use only the magnitude, so they do not depend on how the watch sits on the arm.
ARM_WINDOW_S = -2.0           # from 2 s before the hardest impact up to the judging point
ARM_LAGS_S = (0.2, 1.0)       # a clap, a wave or a sweep repeats within this period
PEAK_SEP_S = 0.3              # peaks closer than this are one impact and its rebound
SIMILAR_PEAK = 0.5            # a peak whose excess over 1 g is at least half the impact's
FREE_FALL_LOOK_S = 1.0        # the descent is looked for in the last second before the impact
FREE_FALL_G = 0.6             # below this the wrist is partly weightless: the body drops


def arm_rhythm(x: np.ndarray, dt: float) -> float:
    """Largest normalised autocorrelation (0..1) of the magnitude over `x` (N, 3) at lags
    of 0.2-1.0 s: near 1 when the arm repeats a movement, low when one impact dominates
    (its energy has no partner at any lag)."""
    mag = np.linalg.norm(x, axis=1)
    lo, hi = int(round(ARM_LAGS_S[0] / dt)), int(round(ARM_LAGS_S[1] / dt))
    if len(mag) < 2 * hi:
        return 0.0
    dev = mag - mag.mean()
    energy = float(dev @ dev)
    if energy < 1e-9:
        return 0.0
    return max(0.0, max(float(dev[:-lag] @ dev[lag:]) / energy for lag in range(lo, hi + 1)))


def similar_peaks(peak: np.ndarray, i: int, dt: float) -> int:
    """How many separate peaks (at least PEAK_SEP_S apart) in `peak` reach half the excess
    over 1 g of the impact at index `i`, the impact included: 1 for a single impact, 3 or
    more for clapping, waving or hopping."""
    need = 1.0 + SIMILAR_PEAK * (float(peak[i]) - 1.0)
    sep = max(1, int(round(PEAK_SEP_S / dt)))
    cand = np.flatnonzero(peak >= need)
    if not len(cand):
        return 1
    order = cand[np.argsort(-peak[cand], kind="stable")]
    taken: list[int] = []
    for k in order:
        if all(abs(int(k) - t) >= sep for t in taken):
            taken.append(int(k))
    return max(1, len(taken))


def free_fall_s(x: np.ndarray, dt: float) -> float:
    """Longest run (s) of magnitude under FREE_FALL_G in `x`: the body dropping before the
    impact. Evidence for the reader and for measuring; a wrist may brace and not show it."""
    low = np.linalg.norm(x, axis=1) < FREE_FALL_G
    best = run = 0
    for v in low:
        run = run + 1 if v else 0
        best = max(best, run)
    return best * dt


STEP_LAGS_S = (0.35, 1.3)     # one step (0.35-0.7 s) or one stride (0.7-1.3 s) of walking
STEP_MIN_RMS_G = 0.05         # below this the wrist is not walking, whatever the rhythm
STEP_MAX_RMS_G = 0.8          # above this it is thrashing or hitting, not stepping


def step_rhythm(x: np.ndarray, dt: float) -> float:
    """How strongly the magnitude of acceleration in `x` (N, 3) repeats at walking's step
    or stride period: the largest normalised autocorrelation at those lags (0..1), 0 when
    the movement is outside walking's range.

    Why the magnitude: it does not depend on how the watch sits on the arm, and each step
    sends a jolt up the body whatever the arm does. A fallen wearer does not produce a
    steady rhythm of jolts for seconds; walking does."""
    mag = np.linalg.norm(x, axis=1)
    dev = mag - mag.mean()
    rms = float(np.sqrt(np.mean(dev * dev))) if len(dev) else 0.0
    lo, hi = int(round(STEP_LAGS_S[0] / dt)), int(round(STEP_LAGS_S[1] / dt))
    if not STEP_MIN_RMS_G <= rms <= STEP_MAX_RMS_G or len(dev) < 2 * hi:
        return 0.0
    # every second of the window moves: seconds of steps, not a burst after a still spell
    sec = max(1, int(round(1.0 / dt)))
    for a in range(0, len(mag) - sec + 1, sec):
        if float(np.std(mag[a:a + sec])) < STEP_MIN_RMS_G:
            return 0.0
    energy = float(dev @ dev)
    ac = [float(dev[:-lag] @ dev[lag:]) / energy for lag in range(lo, hi + 1)]
    return max(0.0, max(ac))
