"""Wearable fall detector: impact, descent, a new posture and stillness, then get-up.

Why this shape: impact alone fires on every hard sit-down, and published threshold
detectors lose much of their specificity in real homes. A fall is a sequence: the body
loses support (speed builds up downward), hits something (a peak), ends in a posture it
was not just in (lying) and stays there. So:

1. a peak above `impact_g` opens an *episode*; the posture before it is the reference;
2. `post_s` after the first impact we look at the posture and the movement over the
   last second; a body still rolling gets up to `settle_s` to come to rest, and the
   fall is dated at the episode's hardest impact;
3. the posture change is the smaller of the change against just before the episode and
   against any posture the wearer *rested in* during the last `rest_memory_s`: raising
   the arms and lowering them, clapping, rolling onto the side and back all end where
   the wearer was seconds earlier, a fall does not;
4. peak, descent speed, posture change and stillness add up to one score (physical
   units, weights in the settings); at or above `score_threshold` we emit
   `fall_suspected` at once (median 1.7 s after the labelled onset on SisFall);
5. while a fall is suspected, `getup_s` seconds back in the pre-fall orientation emit
   `fall_cancelled`; the gateway's cancel window then withdraws the alarm. That keeps the
   decision fast while lie-downs that end in sitting up cost nothing.

The decision as a timeline (docs/detection.md measures what each step buys, held out):

    impact -> suspicion -> evidence -> alarm or cancel

- *impact*: a peak of at least `impact_g` opens an episode (cheap, vectorised);
- *suspicion* (`post_s`..`settle_s` after the impact): the score rule above, and the
  arm's movement pattern before the episode: a wrist already swinging hard
  (`max_pre_activity_g`: waving, sweeping, a jacket sleeve) made the peak itself, a body
  that lost its balance did not; and the arm's rhythm around the impact: more than
  `max_similar_peaks` peaks of about the impact's size from 2 s before it to the judging
  point are the arm repeating a movement (clapping, waving, a sleeve pulled), a fall hits
  once. `fall_suspected` goes out at once, so the centre sees it
  and the gateway's cancel window (30 s by default) opens;
- *evidence* (the whole cancel window): what the wearer does next. Each rule below needs
  *positive* evidence, seconds of samples that show it: back upright (`getup_s`), or (at
  the wrist) steps resumed (`walk_s`: a step rhythm in the wrist's movement; nobody walks
  while lying on the floor), or (at the wrist) the arm at work again (`active_peaks`: two
  more separate peaks of about the impact's size after the decision, a sleeve pulled, a
  broom knocked, a wave; a body lying after a fall rests or moves softly, reaching or
  pushing up, and a fall among those peaks is judged as a fall of its own). A quiet
  wrist, a wrist that keeps lying in its new orientation, and *no
  samples at all* (the watch out of range, the battery gone, a recording that ends) are
  no evidence: nothing cancels and the window runs out into the `fall` alarm. Nothing is
  ever interpolated across missing samples (`max_gap_s` restarts the analysis);
- *alarm or cancel*: the gateway's alarm flow (gateway/alarm_flow.py) raises `fall` when
  the window closes without a cancel, measured in sensor time.

Input: readings of kind "accel" (blocks of `t` seconds, `xyz` g) at any rate or
irregular timing; each sensor is resampled to a fixed grid (`wearable_resample`), so
thresholds are in seconds and g, independent of the rate. Work is vectorised per block;
Python runs only per candidate peak, and most die at a cheap posture test.

Placement matters: at the waist, chest or neck the sensor turns with the trunk, so the
posture change is reliable; at the wrist the arm swings freely and peaks at 2 g in daily
life, so the wrist settings ask for a harder impact and a higher score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.base import Detection, Detector, SensorMeta, room_of
from detectors.wearable_fall_settings import PLACEMENT_DEFAULTS as PLACEMENT_DEFAULTS
from detectors.wearable_fall_settings import PlacementSettings as PlacementSettings
from detectors.wearable_fall_settings import WearableFallSettings as WearableFallSettings
from detectors.wearable_features import (
    PEAK_SEP_S,
    POST_START_S,
    PRE_WINDOW_S,
    SIMILAR_PEAK,
    impact_features,
    posture_vs_pre,
    step_rhythm,
)
from detectors.wearable_resample import GridResampler

GRID_HZ = 25.0    # posture, descent and stillness are slow; impact peaks survive as bin maxima
HISTORY_S = 8.0   # the longest look back (settle 3 s + pre-peak window 3 s) plus a block
# after the arm's peaks cancel, impacts are looked for again from the first of them, but at
# most this far before the peak that completed the count: always inside the history the
# block before kept (HISTORY_S), so the verdict never depends on how samples were batched
RESUME_BACK_S = 3.0
CLUSTER_S = 0.5     # the impact is the largest peak within this time of the first one
STEP_RHYTHM = 0.5   # autocorrelation at the step period that counts as walking (clear steps
                    # give 0.6-0.9; a wrist lying or fidgeting stays under 0.3)


@dataclass
class _Fallen:
    k_impact: int
    upright_ref: np.ndarray | None                # None: the pre-fall orientation not recorded
    k_emitted: int
    up_run: int = 0
    impact_g: float = 0.0                         # the impact's peak, for "about its size"
    active_last: int = -(1 << 62)                 # grid index of the last such peak counted
    active_first: int = -1                        # ... and of the first one
    active_count: int = 0


@dataclass
class _SensorState:
    grid: GridResampler
    k0: int = 0                                   # grid index of hist[0]
    start_k: int = 0                              # grid index where the samples (re)started
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    peak: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pending: int | None = None                    # grid index of the first peak of a candidate
    next_k: int = 0                               # candidates start at or after this index
    judge_at: int = 0                             # grid index at which to judge the pending one
    fallen: _Fallen | None = None
    # orientations the wearer recently rested in: grid index and unit vector per snapshot
    rest_k: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rest_v: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


class WearableFallDetector(Detector[WearableFallSettings]):
    name = "wearable_fall"
    Settings = WearableFallSettings

    def __init__(self, settings: WearableFallSettings | None = None,
                 sensors: Mapping[str, SensorMeta] | None = None,
                 timezone: str | None = None) -> None:
        super().__init__(settings or WearableFallSettings(), sensors or {}, timezone)
        self._state: dict[str, _SensorState] = {}
        # a hook for tuning tools: called with (sensor, features, fired) for every judged
        # episode that passed the posture pre-check; the gateway leaves it None
        self.observer: Callable[[str, dict[str, float], bool], None] | None = None

    # -- configuration ---------------------------------------------------------------
    def _placement(self, sensor: str) -> PlacementSettings:
        meta = self.sensors.get(sensor)
        p = (meta.placement or "").lower() if meta else ""
        return getattr(self.settings, p) if p in ("wrist", "chest", "pendant") else self.settings.waist

    def _room(self, sensor: str) -> str | None:
        return room_of(self.sensors, sensor)

    def score(self, f: Mapping[str, float], p: PlacementSettings) -> float:
        """One number from the evidence; the main threshold applies to it."""
        still = max(0.0, 1.0 - f["post_activity_g"] / p.max_post_activity_g)
        return (p.bias + p.w_peak * (f["peak_g"] - 1.0) + p.w_drop * f["drop_mps"]
                + p.w_posture * f["posture_change_deg"] / 90.0 + p.w_still * still)

    def timing(self, sensor: str) -> dict[str, int]:
        """How many samples of `sensor` came with a time the grid could not place: the
        same time as the previous sample (bursts) or an earlier one (steps back)."""
        st = self._state.get(sensor)
        if st is None:
            return {"samples_repeated_time": 0, "samples_stepped_back": 0}
        return {"samples_repeated_time": st.grid.repeated,
                "samples_stepped_back": st.grid.stepped_back}

    # -- streaming -------------------------------------------------------------------
    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        if not self.settings.enabled:
            return out
        for r in readings:
            if getattr(r, "kind", None) != "accel" or len(r.t) == 0:
                continue
            st = self._state.get(r.sensor)
            if st is None:
                st = self._state[r.sensor] = _SensorState(
                    GridResampler(GRID_HZ, self.settings.max_gap_s))
            for run in st.grid.feed(r.t, r.xyz):        # more than one after a pause
                self._process(r.sensor, st, run.k0, run.mean, run.peak, out)
        return out

    def _process(self, sensor: str, st: _SensorState, k_first: int, x: np.ndarray,
                 pk: np.ndarray, out: list[Detection]) -> None:
        dt = st.grid.dt
        if len(st.peak) and k_first != st.k0 + len(st.peak):  # gap: start over
            st.x, st.peak, st.pending, st.fallen = np.zeros((0, 3)), np.zeros(0), None, None
            st.judge_at = 0
        if not len(st.peak):
            st.k0 = st.start_k = k_first
            st.next_k = max(st.next_k, k_first)
        n_old = len(st.peak)
        st.x = np.concatenate((st.x, x))
        st.peak = np.concatenate((st.peak, pk))
        self._note_rest(st, n_old)
        p = self._placement(sensor)
        s = self.settings
        post_n = int(round(s.post_s / dt))
        cluster_n = int(round(CLUSTER_S / dt))
        settle_step = int(round(0.2 / dt))
        post0_n = int(round(POST_START_S / dt))
        pos = n_old                               # older points were examined already
        while True:
            if st.fallen is not None:
                if not self._watch_getup(sensor, st, n_old, out):
                    break
                pos = min(pos, st.next_k - st.k0)     # a cancel may resume further back
                continue
            if st.pending is None:
                lo = max(st.next_k - st.k0, pos, 0)
                hits = np.flatnonzero(st.peak[lo:] >= p.impact_g)
                if not len(hits):
                    break
                st.pending = st.k0 + lo + int(hits[0])
            c = st.pending - st.k0
            if c + cluster_n >= len(st.peak):
                break
            i0 = c + int(np.argmax(st.peak[c:c + cluster_n + 1]))   # first impact
            # judge at post_s after the impact; a body still rolling may get more time
            # (up to settle_s) to come to rest, which only delays the hard cases
            e = max(i0 + post_n, st.judge_at - st.k0)
            if e >= len(st.peak):
                break
            # the fall's impact is the hardest one of the episode before the rest
            i = i0 + int(np.argmax(st.peak[i0:max(i0 + 1, e - post0_n)]))
            if posture_vs_pre(st.x, i0, i, e, dt) < p.min_posture_deg:
                # no change of posture: not a fall, whatever else happened (the full
                # posture change below is never larger than this one)
                st.pending, st.judge_at = None, 0
                st.next_k = st.k0 + i + cluster_n
                pos = i + 1
                continue
            f = impact_features(st.x, st.peak, i0, i, e, dt, s.still_tol_g)
            self._new_posture(st, i0, f)
            score = self.score(f, p)
            moving = f["post_activity_g"] > p.max_post_activity_g
            # the arm's pattern before: a sensor already moving harder than
            # `max_pre_activity_g` before the episode made the peak itself (waving,
            # sweeping, a jacket sleeve); a body that loses its balance was not
            busy = f["pre_activity_g"] > p.max_pre_activity_g
            # the arm's rhythm around the peak: clapping, waving, sweeping, pulling a
            # sleeve repeat peaks of about the impact's size every few tenths of a second,
            # before and after it; a body that loses its balance hits once (perhaps with a
            # rebound) and lies still. More than `max_similar_peaks` such peaks from 2 s
            # before the impact to the judging point: the wearer's own movement
            rhythmic = f["similar_peaks"] > p.max_similar_peaks
            fired = (f["posture_change_deg"] >= p.min_posture_deg and not moving
                     and not busy and not rhythmic and score >= p.score_threshold)
            if (moving and f["posture_change_deg"] >= p.min_posture_deg
                    and (e - i0 + settle_step) * dt <= s.settle_s):
                st.judge_at = st.k0 + e + settle_step
                continue
            if self.observer is not None:
                self.observer(sensor, {**f, "score": score,
                                       "t": float(st.grid.time_of(st.k0 + i)),
                                       "t_first": float(st.grid.time_of(st.k0 + i0)),
                                       "t_judged": float(st.grid.time_of(st.k0 + e))}, fired)
            st.pending = None
            st.judge_at = 0
            st.next_k = st.k0 + i + cluster_n
            pos = i + 1
            if fired:
                t_impact = float(st.grid.time_of(st.k0 + i))
                conf = 1.0 / (1.0 + math.exp(-(score - p.score_threshold)))
                lo = max(0, i0 + int(PRE_WINDOW_S[0] / dt))
                ref: np.ndarray | None = st.x[
                    lo:max(lo + 1, i0 + int(PRE_WINDOW_S[1] / dt))].mean(axis=0)
                if p.getup_needs_pre_fall and st.k0 + i0 + int(PRE_WINDOW_S[0] / dt) < st.start_k:
                    # the samples began (the watch connected, or came back after a pause)
                    # less than 2.5 s before the impact: the orientation the wearer stood or
                    # sat in is not recorded, and the first samples may be the fall itself.
                    # Being "back" in it is then no evidence of getting up (only positive
                    # evidence cancels); steps resumed still are. Measured: docs/detection.md
                    ref = None
                st.fallen = _Fallen(st.k0 + i, ref, st.k0 + e, impact_g=float(st.peak[i]))
                out.append(Detection(
                    "fall_suspected", t_impact, sensor, self._room(sensor),
                    confidence=round(0.5 + 0.5 * conf, 3),
                    evidence={**{k: round(v, 3) for k, v in f.items()}, "score": round(score, 3),
                              **{k: float(v) for k, v in self.timing(sensor).items() if v}}))
        # keep the history short
        keep = int(HISTORY_S / dt)
        if len(st.peak) > keep:
            cut = len(st.peak) - keep
            st.x, st.peak, st.k0 = st.x[cut:], st.peak[cut:], st.k0 + cut

    def _note_rest(self, st: _SensorState, n_old: int) -> None:
        """Remember orientations held still for a second (one snapshot per half second).

        Why: a fall ends in a posture the wearer was not just resting in. Raising the arms
        and lowering them again, clapping, or rolling back onto the back all end in an
        orientation held shortly before; the pre-impact window alone misses that when the
        movement took several seconds. The price, accepted on purpose: a fall that ends
        in the very posture rested in less than `rest_memory_s` earlier (lying on the back
        in bed, standing up, falling onto the back within seconds) is not a new posture."""
        s = self.settings
        dt = st.grid.dt
        win = int(round(1.0 / dt))
        start = max(n_old, win - 1)
        if start >= len(st.peak):
            return
        c = np.cumsum(np.concatenate((np.zeros((1, 3)), st.x[start - win + 1:])), axis=0)
        c2 = np.cumsum(np.concatenate(([0.0], np.einsum("ij,ij->i", st.x[start - win + 1:],
                                                          st.x[start - win + 1:]))))
        mean = (c[win:] - c[:-win]) / win
        var = (c2[win:] - c2[:-win]) / win - np.einsum("ij,ij->i", mean, mean)
        calm = np.flatnonzero(var < s.rest_activity_g ** 2)
        if not len(calm):
            return
        k = st.k0 + start + calm
        bucket = k // (win // 2)
        last = np.flatnonzero(np.diff(np.append(bucket, -1)) != 0)  # last calm in each bucket
        v = mean[calm[last]]
        v = v / np.maximum(np.linalg.norm(v, axis=1), 1e-9)[:, None]
        st.rest_k = np.concatenate((st.rest_k, k[last]))
        st.rest_v = np.concatenate((st.rest_v, v))
        # forget only what no candidate can still ask for: candidates lie in the history
        # (from st.k0 on), so measure the memory from there, never from the newest sample
        # (that would make the verdict depend on how the samples were cut into blocks)
        keep = st.rest_k > st.k0 - int(round(s.rest_memory_s / dt))
        st.rest_k, st.rest_v = st.rest_k[keep], st.rest_v[keep]

    def _new_posture(self, st: _SensorState, i: int, f: dict[str, float]) -> None:
        """Posture change = the smaller of: against just before the impact, against any
        posture rested in during the last `rest_memory_s` before the movement began."""
        dt = st.grid.dt
        post = f.pop("_post")
        f["posture_vs_pre_deg"] = f["posture_change_deg"]
        k_i = st.k0 + i
        sel = (st.rest_k <= k_i + int(PRE_WINDOW_S[1] / dt)) & \
            (st.rest_k > k_i - int(round(self.settings.rest_memory_s / dt)))
        if not sel.any():
            return
        cos = st.rest_v[sel] @ (post / max(float(np.linalg.norm(post)), 1e-9))
        rest = math.degrees(math.acos(float(np.clip(cos.max(), -1.0, 1.0))))
        f["posture_change_deg"] = min(f["posture_change_deg"], rest)

    def _walking(self, st: _SensorState, start: int, end: int, walk_s: float
                 ) -> tuple[int, float] | None:
        """Evidence of steps: the first grid point in [start, end) whose last `walk_s`
        seconds, all after the decision, repeat at walking's step period (checked every half
        second of the grid, so the verdict does not depend on how samples were cut into
        blocks). Returns (point, rhythm) or None."""
        fl = st.fallen
        assert fl is not None
        dt = st.grid.dt
        w = int(round(walk_s / dt))
        half = max(1, int(round(0.5 / dt)))
        for j in range(max(start, fl.k_emitted - st.k0 + w), end):
            if (st.k0 + j) % half:
                continue
            rhythm = step_rhythm(st.x[j - w + 1:j + 1], dt)
            if rhythm >= STEP_RHYTHM:
                return j, rhythm
        return None

    @staticmethod
    def _arm_active(fl: _Fallen, st: _SensorState, start: int, end: int, n: int) -> int | None:
        """The grid point in [start, end) where the `n`-th separate peak (at least
        PEAK_SEP_S apart) reaching half the impact's excess over 1 g is seen after the
        decision, or None. Counted in time order, the count kept across blocks, so the
        verdict does not depend on how the samples were cut."""
        need = 1.0 + SIMILAR_PEAK * (fl.impact_g - 1.0)
        sep = max(1, int(round(PEAK_SEP_S / st.grid.dt)))
        for j in np.flatnonzero(st.peak[start:end] >= need) + start:
            if st.k0 + int(j) - fl.active_last >= sep:
                fl.active_last = st.k0 + int(j)
                fl.active_first = fl.active_last if fl.active_first < 0 else fl.active_first
                fl.active_count += 1
                if fl.active_count >= n:
                    return int(j)
        return None

    def _watch_getup(self, sensor: str, st: _SensorState, n_old: int,
                     out: list[Detection]) -> bool:
        """Scan grid points after the decision for a sustained return to upright and moving.

        Returns True when the watch ended, by a cancel or after `rearm_s` (the caller
        then looks for new impacts)."""
        s = self.settings
        fl = st.fallen
        if fl is None:
            return True  # nothing watched: look for new impacts
        dt = st.grid.dt
        win = int(round(1.0 / dt))
        start = max(fl.k_emitted - st.k0 + 1, n_old, win)
        if start >= len(st.peak):
            return False
        # 1 s moving mean orientation and RMS movement, at each new grid point
        c = np.cumsum(np.concatenate((np.zeros((1, 3)), st.x)), axis=0)
        c2 = np.cumsum(np.concatenate(([0.0], np.einsum("ij,ij->i", st.x, st.x))))
        idx = np.arange(start, len(st.peak)) + 1
        mean = (c[idx] - c[idx - win]) / win
        var = (c2[idx] - c2[idx - win]) / win - np.einsum("ij,ij->i", mean, mean)
        act = np.sqrt(np.maximum(var, 0.0))
        if fl.upright_ref is None:        # no recorded pre-fall orientation to return to
            up = np.zeros(len(idx), dtype=bool)
        else:
            ref = fl.upright_ref / max(np.linalg.norm(fl.upright_ref), 1e-9)
            cosang = (mean @ ref) / np.maximum(np.linalg.norm(mean, axis=1), 1e-9)
            up = (cosang >= math.cos(math.radians(s.upright_deg))) & (act >= s.getup_activity_g)
        need = int(round(s.getup_s / dt))
        # continue the run of "up" points from the previous block
        run = fl.up_run
        got_up: tuple[int, int] | None = None
        for j, u in enumerate(up):           # short loop only while a fall is suspected
            run = run + 1 if u else 0
            if run >= need:
                got_up = (start + j, run)
                break
        fl.up_run = run
        # steps resumed: looked for only before the get-up (the earlier evidence wins)
        p = self._placement(sensor)
        end = got_up[0] if got_up else len(st.peak)
        walk = self._walking(st, start, end, p.walk_s) if p.walk_s > 0 else None
        # the arm at work again: `active_peaks` separate peaks of about the impact's size
        # after the decision. A body lying after a fall rests, or moves without hitting
        # anything as hard as the fall did (reaching, pushing up); an arm pulling a sleeve,
        # waving or sweeping keeps hitting peaks of the size that raised the suspicion
        active = (self._arm_active(fl, st, start, walk[0] if walk else end, p.active_peaks)
                  if p.active_peaks > 0 else None)
        if walk is not None or got_up is not None or active is not None:
            if active is not None:
                k = active
                ev: dict[str, float] = {"active_peaks": float(fl.active_count)}
            elif walk is not None:
                k = walk[0]
                ev = {"walking_s": round(p.walk_s, 2), "step_rhythm": round(walk[1], 3)}
            else:
                assert got_up is not None
                k = got_up[0]
                ev = {"upright_s": round(got_up[1] * dt, 2),
                      "activity_g": round(float(act[k - start]), 3)}
            out.append(Detection(
                "fall_cancelled", float(st.grid.time_of(st.k0 + k)), sensor, self._room(sensor),
                confidence=1.0,
                evidence={**ev, "since_impact_s": round((st.k0 + k - fl.k_impact) * dt, 2)}))
            st.fallen = None
            # after the arm's peaks cancel, the search for impacts resumes at the first of
            # them (at most RESUME_BACK_S back): one of them may be a fall of its own
            st.next_k = (max(fl.active_first, st.k0 + k - int(round(RESUME_BACK_S / dt)))
                         if active is not None else st.k0 + k + 1)
            return True
        if (st.k0 + len(st.peak) - fl.k_emitted) * dt > s.rearm_s:
            # the alarm has long gone out (or the band was taken off): look for new falls
            # again; the lying posture is now a rested one, so lying there is no new fall
            st.fallen = None
            st.next_k = st.k0 + len(st.peak)
            return True
        return False
