"""Samples per second per detector on one core: `python benchmarks/detectors.py`.

Why: the gateway runs on a Raspberry Pi next to drivers, storage and MQTT; a detector
must stay a few percent of one core. Each benchmark builds a realistic stream (a real
SisFall recording when `../shared/data` is present, else a synthetic walk-and-fall),
feeds it in blocks of a given length as a driver would, and reports samples per second
(best of `--repeat` runs, single thread). Add a detector by adding an entry to BENCHES.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.base import SensorMeta  # noqa: E402
from sensordata.readings import AccelBlock  # noqa: E402

SISFALL = ROOT.parent / "shared" / "data" / "sisfall-dev"


def _one_core() -> None:
    """Pin to one CPU and one BLAS thread, so the figure is 'per core'."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        except OSError:
            pass


def accel_stream(seconds: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated SisFall recordings (falls and ADLs) resampled to `rate_hz`, or a
    synthetic stream when the data set is absent; length `seconds`."""
    chunks = []
    if SISFALL.is_dir():
        from gateway.evaluation import sample, sisfall
        paths = sample.spread(sisfall.files(SISFALL), sisfall.key, 30)
        chunks = [sisfall.load(p).xyz for p in paths]
    if not chunks:
        rng = np.random.default_rng(0)
        n = int(200 * 60)
        base = np.tile([0.0, -1.0, 0.0], (n, 1)) + rng.normal(0, 0.2, (n, 3))
        base[n // 2: n // 2 + 20] *= 4.0
        base[n // 2 + 20:, :] = [1.0, 0.0, 0.0]
        chunks = [base]
    xyz200 = np.concatenate(chunks)
    t200 = np.arange(len(xyz200)) / 200.0
    n = int(seconds * rate_hz)
    t = np.arange(n) / rate_hz
    src_t = t % t200[-1]
    xyz = np.stack([np.interp(src_t, t200, xyz200[:, i]) for i in range(3)], axis=1)
    return 1_767_225_600.0 + t, xyz


_STREAMS: dict[float, tuple[np.ndarray, np.ndarray]] = {}


def _accel(seconds: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    if rate_hz not in _STREAMS:
        _STREAMS[rate_hz] = accel_stream(seconds, rate_hz)
    return _STREAMS[rate_hz]


def bench_wearable_fall(seconds: float, rate_hz: float, block_s: float, repeat: int) -> float:
    """Samples per second through WearableFallDetector, fed `block_s` blocks."""
    from detectors.wearable_fall import WearableFallDetector
    t, xyz = _accel(seconds, rate_hz)
    block = max(1, int(block_s * rate_hz))
    blocks = [AccelBlock("w", t[i:i + block], xyz[i:i + block]) for i in range(0, len(t), block)]
    best = float("inf")
    for _ in range(repeat):
        det = WearableFallDetector(None, {"w": SensorMeta("w", "bench", placement="waist")})
        t0 = time.perf_counter()
        for b in blocks:
            det.feed([b])
        best = min(best, time.perf_counter() - t0)
    return len(t) / best


# name -> function(seconds, rate_hz, block_s, repeat) -> samples per second. A detector
# with other inputs (radar frames, motion events) builds its own stream of `seconds`
# at `rate_hz` readings per second inside its function.
BENCHES: dict[str, Callable[[float, float, float, int], float]] = {
    "wearable_fall": bench_wearable_fall,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="stream length")
    ap.add_argument("--rates", default="50,200", help="sample rates in Hz")
    ap.add_argument("--blocks-s", default="1,10,60", help="block lengths in seconds")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated detector names")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    _one_core()
    rows: list[dict[str, Any]] = []
    names = args.only.split(",") if args.only else list(BENCHES)
    for rate in [float(r) for r in args.rates.split(",")]:
        for bs in [float(b) for b in args.blocks_s.split(",")]:
            for name in names:
                sps = BENCHES[name](args.seconds, rate, bs, args.repeat)
                rows.append({"detector": name, "rate_hz": rate, "block_s": bs,
                             "samples_per_s": round(sps)})
                if not args.json:
                    print(f"{name:16s} {rate:5.0f} Hz  blocks of {bs:5.2f} s  "
                          f"{sps / 1e6:7.2f} M samples/s", flush=True)
    if not args.only:
        # The home detectors (radar, routine, health) measure readings per second.
        from detectors_other import bench_other_detectors
        quiet = (lambda *a, **k: None) if args.json else print
        for name, rps in bench_other_detectors(out=quiet).items():
            rows.append({"detector": name, "readings_per_s": round(rps)})
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
