"""The reader's fast construction of radar frames (sensordata/trace/columns.py) makes the
very objects the dataclass constructors make: replay must not change a single event
(issue 25), so equality, hashing, immutability and the unknown height all hold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sensordata.readings import RadarTargets, Target
from sensordata.trace.columns import radar_frames


def test_fast_radar_frames_equal_the_constructed_ones() -> None:
    counts = np.array([0, 2, 0, 1, 0], dtype=np.int64)
    tids = [7, 8, 9]
    vals = np.array([[0.5, 1.25, 0.0, 0.1, -0.2, 0.0, 1.7],
                     [1.0, 2.0, 0.0, 0.0, 0.0, 0.0, np.nan],
                     [-1.5, 3.0, 0.1, 0.3, 0.0, 0.0, 0.4]])
    t = [100.0, 100.1, 100.2, 100.3, 100.4]
    frames = [10, 11, 12, 13, 14]
    got = radar_frames("radar-living", t, frames, counts, tids, vals)
    want = [
        RadarTargets("radar-living", 100.0, 10, ()),
        RadarTargets("radar-living", 100.1, 11, (Target(7, 0.5, 1.25, 0.0, 0.1, -0.2, 0.0, 1.7),
                                                 Target(8, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, None))),
        RadarTargets("radar-living", 100.2, 12, ()),
        RadarTargets("radar-living", 100.3, 13, (Target(9, -1.5, 3.0, 0.1, 0.3, 0.0, 0.0, 0.4),)),
        RadarTargets("radar-living", 100.4, 14, ()),
    ]
    assert got == want
    assert [hash(f) for f in got] == [hash(f) for f in want]
    assert got[1].targets[1].height is None
    assert all(type(f.targets) is tuple and type(f.t) is float and type(f.frame) is int for f in got)
    assert all(type(g.tid) is int and type(g.x) is float for f in got for g in f.targets)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got[0].t = 1.0  # type: ignore[misc]


def test_no_frames_no_targets() -> None:
    assert radar_frames("r", [], [], np.zeros(0, np.int64), [], np.zeros((0, 7))) == []
