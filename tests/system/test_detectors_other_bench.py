"""The throughput benchmark for the radar, fusion, routine and wearable-health detectors
runs (at a tiny scale here) and reports a rate for every one of them."""

from __future__ import annotations

from benchmarks.detectors_other import bench_other_detectors


def test_benchmark_reports_every_detector():
    lines: list[str] = []
    results = bench_other_detectors(scale=0.02, out=lines.append)
    names = " ".join(results)
    for det in ("radar_fall tracks", "radar_fall point cloud", "inactivity", "not_up", "dwell",
                "night_door", "daily_summary", "wearable_health", "fusion"):
        assert det in names
    assert all(v > 0 for v in results.values())
    assert len(lines) == len(results) + 1
