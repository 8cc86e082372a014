"""One labelled accelerometer recording, whatever dataset it came from.

A shared shape lets the runner, the metrics and the plots ignore where data came from:
SisFall (200 Hz, per-sample labels), UMAFall (irregular ~20 Hz, no onset labels) and,
later, gateway traces with ground truth all become a `Recording`.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Recordings start at a fixed, realistic Unix time so detectors see epoch-sized sensor
# times (float precision issues show up here and not first in the field).
EPOCH0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def read_text(path: Path) -> str:
    """A data set file's text, gzipped or plain; undecodable bytes become U+FFFD (the
    parsers then name the line) rather than stop the evaluation."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii", errors="replace") as fh:
        return str(fh.read())


@dataclass(frozen=True)
class Recording:
    """Samples of one accelerometer: `t` Unix seconds (N,), `xyz` in g (N, 3).

    `fall_onset`/`fall_end` are sensor times of the labelled fall span (None when the
    dataset has no per-sample labels); `group` names the population (e.g. "young",
    "elderly") so false positives can be reported per group.
    """

    name: str
    dataset: str
    subject: str
    activity: str
    is_fall: bool
    placement: str
    t: np.ndarray
    xyz: np.ndarray
    fall_onset: float | None = None
    fall_end: float | None = None
    group: str = ""

    @property
    def duration(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self.t) > 1 else 0.0

    def __len__(self) -> int:
        return int(self.t.shape[0])


def resampled(rec: Recording, rate_hz: float, jitter: float = 0.0, seed: int = 0) -> Recording:
    """The same recording as a sensor sampling at `rate_hz` would have delivered it
    (point samples of the original, linearly interpolated; `jitter` as a fraction of the
    period makes the timing irregular like BLE SensorTags). For checking rate invariance
    on whole data sets."""
    from dataclasses import replace
    period = 1.0 / rate_hz
    t = np.arange(rec.t[0], rec.t[-1], period)
    if jitter > 0:
        rng = np.random.default_rng(seed)
        t = np.sort(t + rng.uniform(-jitter, jitter, len(t)) * period)
        t = t[(t >= rec.t[0]) & (t <= rec.t[-1])]
    xyz = np.stack([np.interp(t, rec.t, rec.xyz[:, i]) for i in range(3)], axis=1)
    return replace(rec, t=t, xyz=xyz)


def bursty(rec: Recording, burst: int, back_fraction: float = 0.01, seed: int = 0) -> Recording:
    """The same samples stamped like a BLE wearable that batches: each run of `burst`
    samples carries the time of its last sample (so `burst - 1` of them repeat a time),
    and a fraction `back_fraction` of the batches is stamped up to one sample period
    before the previous batch (a step back). For checking that detection survives it."""
    from dataclasses import replace
    n = len(rec.t)
    if burst < 2 or n < 2:
        return rec
    idx = np.minimum((np.arange(n) // burst + 1) * burst - 1, n - 1)
    t = rec.t[idx].copy()
    period = float(np.median(np.diff(rec.t)))
    rng = np.random.default_rng(seed)
    starts = np.arange(burst, n, burst)
    back = starts[rng.random(len(starts)) < back_fraction]
    for s in back:  # stamp this batch before the previous one's time
        t[s:s + burst] = t[s - 1] - period * rng.uniform(0.1, 1.0)
    return replace(rec, t=t)
