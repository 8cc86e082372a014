"""The radar fall detector measures its own mounting from a person walking and re-projects
heights with it: a radar configured at 2 m / 10 degrees that really hangs at 1.1 m /
15 degrees sees a fallen person 0.6 m too high, and misses the fall, until a walk has
shown it where it hangs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detectors.base import SensorMeta
from detectors.radar_fall import RadarFallDetector
from gateway.console import mounting as console_mounting
from sensordata.radar_mounting import Mounting, room_to_sensor, sensor_to_room
from sensordata.readings import RadarPoints
from tests.support.home_stream import of_type, restart, run

T0 = 1_772_430_000.0
DT = 0.055
TRUE = Mounting(1.1, 15.0)
CONFIGURED = Mounting(2.0, 10.0)
MMFALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "radar-real-dev" / "mmfall"


def sensors(configured: Mounting | None = CONFIGURED) -> dict[str, SensorMeta]:
    return {"radar": SensorMeta("radar", "ti_mmwave", room="living", mounting=configured)}


def make(mounting: str = "measured", configured: Mounting | None = CONFIGURED) -> RadarFallDetector:
    return RadarFallDetector(RadarFallDetector.Settings(mounting=mounting), sensors(configured))


def as_driver_sends(room_true: np.ndarray, vel: np.ndarray, t: float, n: int) -> RadarPoints:
    """Points where the person really is, put in the room frame as the driver does: from
    the radar's own frame with the configured (wrong) mounting."""
    xyz = sensor_to_room(room_to_sensor(room_true, TRUE), CONFIGURED)
    snr = np.full(len(xyz), 12.0, dtype=np.float32)
    return RadarPoints("radar", t, n, np.column_stack([xyz, vel, snr]).astype(np.float32))


def walk(seconds: float = 40.0, start: float = T0, seed: int = 1) -> list[RadarPoints]:
    """Up and down the room, 1-7 m from the radar at 0.6 m/s, 8 points a frame over the body."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(int(seconds / DT)):
        t = i * DT
        phase = (0.6 * t) % 12.0
        y0 = 1.0 + (phase if phase < 6.0 else 12.0 - phase)
        pts = np.column_stack([rng.normal(0, 0.2, 8), y0 + rng.normal(0, 0.1, 8),
                               np.clip(rng.normal(0.9, 0.35, 8), 0.05, 1.8)])
        vel = (0.6 if phase < 6.0 else -0.6) + rng.normal(0, 0.1, 8)
        out.append(as_driver_sends(pts, vel, start + t, i))
    return out


def fall(start: float, seed: int = 2) -> list[RadarPoints]:
    """Standing at 3 m for 3 s, down to the floor in 0.6 s, lying there 10 s (standing and
    lying still: the radar sees almost no Doppler then)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(int(13.6 / DT)):
        t = i * DT
        top = 1.7 if t < 3.0 else max(0.35, 1.7 - (t - 3.0) * 1.35 / 0.6)
        pts = np.column_stack([rng.normal(0, 0.2, 8), 3.0 + rng.normal(0, 0.1, 8),
                               rng.uniform(0.05, top, 8)])
        vel = rng.normal(-1.0 if 3.0 <= t < 3.6 else 0.0, 0.03, 8)
        out.append(as_driver_sends(pts, vel, start + t, 10_000 + i))
    return out


def test_a_walk_gives_the_detector_the_mounting_and_a_fall_it_would_miss_is_found():
    det = make()
    assert det.mounting_estimate("radar") is None, "nothing measured before a walk"
    before = run(det, fall(T0))
    assert not of_type(before, "fall_suspected"), "configured 2 m: the floor looks 0.6 m high"
    run(det, walk(start=T0 + 30))
    got = det.mounting_estimate("radar")
    assert got is not None
    assert got["height_m"] == pytest.approx(TRUE.height_m, abs=0.1)
    assert got["tilt_deg"] == pytest.approx(TRUE.elevation_tilt_deg, abs=2.0)
    found = of_type(run(det, fall(T0 + 80)), "fall_suspected")
    assert len(found) == 1
    ev = found[0].evidence
    assert ev["mounting_measured"] == 1.0
    assert ev["mounting_height_m"] == pytest.approx(1.1, abs=0.1)
    assert ev["floor_height_m"] < 0.6


def test_configured_mode_measures_and_reports_but_keeps_the_configured_heights():
    det = make("configured")
    run(det, walk(start=T0))
    assert det.mounting_estimate("radar") is not None
    assert not of_type(run(det, fall(T0 + 50)), "fall_suspected")


def test_a_fall_seen_by_a_rightly_configured_radar_needs_no_walk():
    """The control: the synthetic fall is a fall when the heights are right."""
    global CONFIGURED
    saved, CONFIGURED = CONFIGURED, TRUE
    try:
        found = of_type(run(make(configured=TRUE), fall(T0)), "fall_suspected")
    finally:
        CONFIGURED = saved
    assert len(found) == 1 and found[0].evidence["mounting_measured"] == 0.0
    assert found[0].evidence["mounting_height_m"] == 1.1


def test_too_short_a_walk_changes_nothing():
    det = make()
    run(det, walk(seconds=3.0))           # 1.8 m of range: no slope yet
    assert det.mounting_estimate("radar") is None


def test_the_estimate_survives_a_restart_unless_the_radar_was_reconfigured():
    det = make()
    run(det, walk(start=T0))
    fresh = restart(make, det)
    assert fresh.mounting_estimate("radar") == det.mounting_estimate("radar")
    assert len(of_type(run(fresh, fall(T0 + 100)), "fall_suspected")) == 1
    rehung = RadarFallDetector(RadarFallDetector.Settings(), sensors(Mounting(2.2, 10.0)))
    rehung.restore(json.loads(json.dumps(det.state())))
    assert rehung.mounting_estimate("radar") is None, "configured mounting changed: re-measure"


def test_old_state_without_a_mounting_still_restores_the_falls():
    det = make()
    det.restore({"version": 1, "falls": [["r1", "radar", -1, T0, 0.0, 3.0]]})
    assert len(det.falls) == 1 and det.mounting_estimate("radar") is None


def test_a_ceiling_radar_or_one_without_a_known_mounting_is_not_self_measured():
    for m in (Mounting(2.6, 90.0, kind="ceiling"), None):
        det = make(configured=m)
        run(det, walk(seconds=20.0))
        assert det.mounting_estimate("radar") is None


def test_the_console_shows_what_the_detector_measured_against_the_configured():
    det = make()
    run(det, walk(start=T0))
    got = console_mounting.check({"height_m": 2.0, "tilt_deg": 10.0},
                                 console_mounting.measured({"radar_fall": det}, "radar"))
    assert got["height_m"]["measured"] == pytest.approx(1.1, abs=0.1)
    assert got["height_m"]["ok"] is False
    assert got["tilt_deg"]["configured"] == 10.0


@pytest.mark.skipif(not MMFALL.is_dir(), reason="shared radar captures absent")
def test_the_real_walking_capture_gives_the_detector_the_doctors_mounting():
    from drivers.ti_mmwave import chirp
    from gateway.evaluation.radar import measured_mounting, run_capture
    cfg = chirp.load(MMFALL / "config" / "people_tracking.cfg")
    path = MMFALL / "people_tracking_walking.bin"
    _, _, pipe = run_capture(path, cfg, cfg.mounting)          # points at 2 m / 10 deg
    got = pipe.detectors["radar_fall"].mounting_estimate("radar")
    doctor = measured_mounting(path)
    assert got is not None and doctor is not None
    assert got["height_m"] == pytest.approx(doctor.height_m, abs=0.05)
    assert got["tilt_deg"] == pytest.approx(doctor.elevation_tilt_deg, abs=1.0)
    assert 0.8 < got["height_m"] < 1.4, "the README's 'the sensor sat lower'"


def test_the_running_pipeline_gives_the_console_the_radars_own_mounting():
    """The daemon's path: a configured TI radar's sensor entry tells the detector the
    mounting its driver uses, and the console reads the estimate from the pipeline."""
    from gateway.config import parse_config
    from gateway.pipeline import Pipeline
    cfg = parse_config({
        "gateway_id": "gw", "site_id": "s", "rooms": [{"id": "living"}],
        "sensors": [{"id": "radar", "type": "ti_mmwave", "room": "living", "settings": {
            "port": "file:x.bin", "config": "iwr6843aop_wall",
            "sensor_height_m": 2.0, "elevation_tilt_deg": 10.0}}]}, env={})
    pipe = Pipeline(cfg, clock=lambda: T0)
    assert console_mounting.measured(pipe.detectors, "radar") is None, "not measured yet"
    pipe.feed(walk(start=T0))
    got = console_mounting.check(console_mounting.configured(cfg.sensors[0]),
                                 console_mounting.measured(pipe.detectors, "radar"))
    assert got["height_m"]["configured"] == 2.0
    assert got["height_m"]["measured"] == pytest.approx(1.1, abs=0.1)
    assert got["tilt_deg"]["measured"] == pytest.approx(15.0, abs=2.0)
