"""Streaming resampler: raw accelerometer samples at any rate onto one fixed time grid.

Why: wearables deliver 20-200 Hz, irregular, with repeated or out-of-order timestamps
(BLE batching, UMAFall SensorTags). Features computed on a fixed grid need no per-rate
thresholds. Each grid value is the *average* of the piecewise-linear signal over its bin
(an exact box filter, so 200 Hz input is anti-aliased and 20 Hz input is interpolated),
plus the largest raw magnitude seen inside the bin, so short impact spikes survive the
averaging. Bursty timestamps (several samples stamped with one time, a sample stamped
before the previous one) cannot be placed on the time axis; they are left out of the mean
but their magnitude still counts in the peak of the bin at the latest time seen (a burst
at 238 Hz may hold the impact), and they are counted (`repeated`, `stepped_back`).
The grid is anchored to the sensor's first sample, so cutting the same stream
into different blocks yields the same grid values (streaming invariance). A pause longer
than `max_gap_s` restarts the grid wherever it falls, between blocks or inside one (a
whole recording fed at once, a BLE batch spanning a dropout), so the same pause gives the
same runs however the stream was cut, and nothing is interpolated across it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class GridRun(NamedTuple):
    """Consecutive completed grid points: indices k0, k0 + 1, ... (grid time = origin +
    k * dt), each bin's mean xyz (M, 3) and largest raw magnitude (M,)."""

    k0: int
    mean: np.ndarray
    peak: np.ndarray


class GridResampler:
    """Turn blocks of (t, xyz) into runs of grid points (k, mean xyz, peak |a|).

    `k` is the grid index: grid time = origin + k * dt. A gap longer than `max_gap_s`
    restarts the grid (no interpolation across missing data): a block with a pause inside
    gives two runs, and the caller sees the jump in k between them.
    """

    def __init__(self, rate_hz: float = 50.0, max_gap_s: float = 1.0) -> None:
        self.dt = 1.0 / rate_hz
        self.max_gap_s = max_gap_s
        self.origin: float | None = None
        # raw samples not yet fully consumed: relative time, xyz; the first is the anchor at
        # or before the last grid boundary (needed for interpolation, not counted again)
        self._tail_t = np.zeros(0)
        self._tail_x = np.zeros((0, 3))
        self._next_k = 0  # first grid point not produced yet
        # samples off the time axis, kept for the peak of the bin they fall in
        self._extra_t = np.zeros(0)
        self._extra_m2 = np.zeros(0)
        self.repeated = 0       # samples stamped with the previous sample's time
        self.stepped_back = 0   # samples stamped before the latest time seen

    @property
    def last_time(self) -> float | None:
        if self.origin is None or not len(self._tail_t):
            return None
        return self.origin + float(self._tail_t[-1])

    def time_of(self, k: int | np.ndarray) -> float | np.ndarray:
        return self.origin + np.asarray(k) * self.dt if self.origin is not None else np.nan

    def feed(self, t: np.ndarray, xyz: np.ndarray) -> list[GridRun]:
        """The grid points this block completes, as runs split at every pause longer than
        `max_gap_s` (usually one run, or none while a bin is still open)."""
        t = np.asarray(t, dtype=np.float64)
        xyz = np.asarray(xyz, dtype=np.float64)
        if not (np.isfinite(t.sum()) and np.isfinite(xyz.sum())):  # rare: drop bad rows
            ok = np.isfinite(t) & np.isfinite(xyz).all(axis=1)
            t, xyz = t[ok], xyz[ok]
        if not len(t):
            return []
        # a sample more than max_gap_s after every sample before it (in this block or
        # the last one) starts a new run; a burst or a step back never does
        last = self.last_time
        seen = np.maximum.accumulate(np.concatenate(([-np.inf if last is None else last],
                                                     t[:-1])))
        cuts = np.flatnonzero(t[1:] - seen[1:] > self.max_gap_s) + 1
        runs = []
        for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [len(t)])),
                          strict=True):
            k0, mean, peak = self._feed_span(t[lo:hi], xyz[lo:hi])
            if len(peak):
                runs.append(GridRun(k0, mean, peak))
        return runs

    def _feed_span(self, t: np.ndarray, xyz: np.ndarray
                   ) -> tuple[int, np.ndarray, np.ndarray]:
        """One span without a pause inside: (first k, mean xyz, peak) of its points."""
        empty = (self._next_k, np.zeros((0, 3)), np.zeros(0))
        if not len(t):
            return empty
        if self.origin is None:
            self.origin = float(t[0])
            self._next_k = 0
            self._tail_t = np.zeros(0)
            self._tail_x = np.zeros((0, 3))
        rel = t - self.origin
        # keep strictly increasing times only: repeated or late samples are dropped
        prev = self._tail_t[-1] if len(self._tail_t) else -np.inf
        if rel[0] > prev and (len(rel) < 2 or bool((rel[1:] > rel[:-1]).all())):
            keep = None                                   # the usual case: in order
        else:
            run_max = np.maximum.accumulate(np.concatenate(([prev], rel)))
            keep = rel > run_max[:-1]
            off = ~keep
            self.repeated += int(np.count_nonzero(rel[off] == run_max[:-1][off]))
            self.stepped_back += int(np.count_nonzero(rel[off] < run_max[:-1][off]))
            if np.isfinite(run_max[:-1][off]).all():
                self._extra_t = np.concatenate((self._extra_t, run_max[:-1][off]))
                self._extra_m2 = np.concatenate((self._extra_m2,
                                                 np.einsum("ij,ij->i", xyz[off], xyz[off])))
        if keep is not None:
            rel, xyz = rel[keep], xyz[keep]
            if not len(rel):
                return empty
        if len(self._tail_t) and rel[0] - self._tail_t[-1] > self.max_gap_s:
            # restart after a gap: new grid starts at the first grid time after the gap
            self._next_k = math.ceil(rel[0] / self.dt)
            self._tail_t = np.zeros(0)
            self._tail_x = np.zeros((0, 3))
            self._extra_t, self._extra_m2 = np.zeros(0), np.zeros(0)
        T = np.concatenate((self._tail_t, rel))
        X = np.concatenate((self._tail_x, xyz))
        if len(T) < 2:
            self._tail_t, self._tail_x = T, X
            return empty
        k0 = self._next_k
        if k0 * self.dt - self.dt < T[0]:  # first bin must start at or after the first sample
            k0 = math.floor(T[0] / self.dt) + 1
        k1 = math.floor(T[-1] / self.dt)  # last boundary covered by data
        if k1 < k0:
            self._tail_t, self._tail_x = T, X
            self._next_k = k0
            return (k0, *empty[1:])
        bounds = np.arange(k0 - 1, k1 + 1) * self.dt  # M+1 boundaries for M bins
        # exact integral of the linear interpolant up to each boundary
        seg = T[1:] - T[:-1]
        cum = np.zeros((len(T), 3))
        np.cumsum(0.5 * (X[1:] + X[:-1]) * seg[:, None], axis=0, out=cum[1:])
        starts = np.searchsorted(T, bounds, side="right")   # first sample after each bound
        j = np.minimum(np.maximum(starts - 1, 0), len(T) - 2)
        frac = ((bounds - T[j]) / seg[j])[:, None]
        xb = X[j] + frac * (X[j + 1] - X[j])
        integral = cum[j] + (bounds - T[j])[:, None] * 0.5 * (X[j] + xb)
        mean = (integral[1:] - integral[:-1]) / self.dt
        # largest raw magnitude inside each bin (b_{k-1}, b_k]
        mag2 = np.einsum("ij,ij->i", X, X)                 # squared: sqrt only per bin
        peak = np.einsum("ij,ij->i", mean, mean)
        nonempty = starts[1:] > starts[:-1]
        if nonempty.any():
            s = starts[:-1][nonempty]
            raw_max = np.maximum.reduceat(mag2, s)
            # reduceat runs to the next start; bins are contiguous so that next start is
            # the bin's own end except for the last non-empty bin, which we cap explicitly
            ends = starts[1:][nonempty]
            last = len(s) - 1
            raw_max[last] = mag2[s[last]:ends[last]].max()
            peak[nonempty] = np.maximum(peak[nonempty], raw_max)
        if len(self._extra_t):
            # samples off the time axis: their magnitude counts in their bin's peak
            b = np.searchsorted(bounds, self._extra_t, side="left") - 1
            mine = (b >= 0) & (b < len(peak))
            np.maximum.at(peak, b[mine], self._extra_m2[mine])
            later = b >= len(peak)
            self._extra_t, self._extra_m2 = self._extra_t[later], self._extra_m2[later]
        np.sqrt(peak, out=peak)
        # carry the anchor (last sample at or before the last boundary) and what follows
        a = int(starts[-1]) - 1
        self._tail_t, self._tail_x = T[a:], X[a:]
        self._next_k = k1 + 1
        return k0, mean, peak
