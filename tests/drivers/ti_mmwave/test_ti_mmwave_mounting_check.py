"""A radar measures its own mounting from a person walking: the slope of the moving
points' median height over range gives the tilt, its intercept the height."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.ti_mmwave.chirp import Mounting
from drivers.ti_mmwave.convert import sensor_to_room
from drivers.ti_mmwave.mounting_check import (
    PERSON_MIDDLE_M,
    MountingEstimator,
    room_to_sensor,
)

MMFALL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "radar-real-dev" / "mmfall"


def _walk(m: Mounting, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A person walking away from the radar, 1-7 m: points over the body (0.1-1.7 m)
    centred on PERSON_MIDDLE_M, plus static clutter, in the radar's own frame."""
    rng = np.random.default_rng(seed)
    n = 20000
    y = rng.uniform(1.0, 7.0, n)
    x = rng.normal(0.0, 0.3, n)
    z = np.clip(rng.normal(PERSON_MIDDLE_M, 0.35, n), 0.05, 1.8)
    static = np.column_stack([rng.uniform(-2, 2, 3000), rng.uniform(1, 7, 3000),
                              rng.uniform(0, 2.5, 3000)])
    room = np.vstack([np.column_stack([x, y, z]), static])
    vel = np.concatenate([rng.choice([-1.0, 1.0], n) * rng.uniform(0.3, 1.5, n), np.zeros(3000)])
    return room_to_sensor(room, m), vel


@pytest.mark.parametrize("height,tilt", [(2.0, 10.0), (1.1, 15.0), (2.4, 25.0)])
def test_height_and_tilt_come_back_from_a_walk(height, tilt):
    m = Mounting(height, tilt)
    xyz, vel = _walk(m)
    assert np.allclose(sensor_to_room(xyz, m)[:, 2].min(), 0.0, atol=0.1)   # frames agree
    est = MountingEstimator()
    for a in range(0, len(xyz), 500):                       # frame by frame
        est.feed(xyz[a:a + 500], vel[a:a + 500])
    got = est.estimate()
    assert got is not None
    assert got.height_m == pytest.approx(height, abs=0.1)
    assert got.elevation_tilt_deg == pytest.approx(tilt, abs=1.5)
    assert "agrees" in got.versus(m)
    assert "fix: sensorPosition" in got.versus(Mounting(height + 1.0, tilt))


def test_too_little_walking_is_not_measured():
    est = MountingEstimator()
    xyz, vel = _walk(Mounting(2.0, 10.0))
    near = xyz[:, 1] < 1.5
    est.feed(xyz[near], vel[near])
    assert est.estimate() is None


@pytest.mark.skipif(not MMFALL.is_dir(), reason="shared radar captures absent")
def test_decode_reports_configured_against_measured_mounting():
    res = subprocess.run([sys.executable, "-m", "gateway.cli", "decode", "--driver", "ti_mmwave",
                          "--mounting-config", str(MMFALL / "config" / "people_tracking.cfg"),
                          str(MMFALL / "people_tracking_fall_1.bin")],
                         capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr
    line = next(ln for ln in res.stderr.splitlines() if "mounting:" in ln)
    assert "configured height 2.00 m, tilt 10 deg" in line and "fix: sensorPosition" in line
    measured = float(line.split("measured height ")[1].split(" m")[0])
    assert 0.5 < measured < 1.5                      # the README's "the sensor sat lower"


@pytest.mark.skipif(not MMFALL.is_dir(), reason="shared radar captures absent")
def test_evaluate_radar_scores_the_labelled_captures(capsys):
    import json

    from gateway.cli import main
    assert main(["evaluate", "--format", "radar", str(MMFALL), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    caps = {c["capture"]: c for c in rep["captures"]}
    assert rep["falls"] == 8 and len(caps["people_tracking_fall_0"]["falls"]) == 6
    assert caps["people_tracking_walking"]["mounting"].startswith("1.09 m, 15 deg")
    assert "out_of_box_fall" not in caps                    # unlabelled, said so in the file
    assert rep["detected"] == sum(c["detected"] for c in caps.values())
    assert main(["evaluate", "--format", "radar", str(MMFALL), "--set",
                 "radar_fall.nonsense=1"]) == 2
