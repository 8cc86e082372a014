"""The radar fall detector alone over a long trace's radar readings: every fall_suspected,
and whether a labelled fall explains it (from 60 s before it to 10 min after it ends, as
`safehome evaluate` matches). A full `safehome evaluate` of the simulated 30-day home takes
hours on a shared machine; this checks the one detector a change touched in ~25 min.

    nice -n 10 .venv/bin/python benchmarks/radar_trace_falls.py month.mcap
"""

from __future__ import annotations

import sys
import time

import _util  # noqa: F401

from detectors.base import SensorMeta
from detectors.radar_fall import RadarFallDetector
from sensordata.readings import RadarPoints, RadarTargets
from sensordata.trace.reader import TraceReader


def main() -> int:
    start = time.time()
    rd = TraceReader(sys.argv[1])
    falls = [(lab.t, lab.end) for lab in rd.labels() if lab.what == "fall"]
    dets: dict[str, RadarFallDetector] = {}
    n, first, last, outside = 0, None, None, 0
    for r in rd.readings():
        if not isinstance(r, (RadarTargets, RadarPoints)):
            continue
        n += 1
        first = r.t if first is None else first
        last = r.t
        d = dets.get(r.sensor)
        if d is None:
            d = dets[r.sensor] = RadarFallDetector(RadarFallDetector.Settings(), {
                r.sensor: SensorMeta(r.sensor, "ti_mmwave", r.sensor)})
        for x in d.feed([r]):
            if x.type == "fall_suspected":
                inside = any(a - 60 <= x.occurred_at <= b + 600 for a, b in falls)
                outside += not inside
                print(f"fall_suspected {x.sensor} at {x.occurred_at:.1f}: "
                      f"{'a labelled fall' if inside else 'NOT A LABELLED FALL'}", flush=True)
    days = 0.0 if first is None or last is None else (last - first) / 86400
    print(f"{n} radar readings over {days:.1f} days, {len(falls)} labelled falls, "
          f"{outside} fall_suspected outside them, {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
