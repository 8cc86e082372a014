"""Radar fall: a fast descent that stays near the floor, from tracks or point clouds;
lying zones, blind zones, lost tracks, getting up again."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.base import SensorMeta
from detectors.radar_fall import RadarFallDetector, Zone
from sensordata.readings import RadarPoints, RadarTargets, Target
from tests.support.home_stream import near, of_type, restart, run

T0 = 1_772_430_000.0
HZ = 10.0
SENSORS = {"radar_lr": SensorMeta("radar_lr", "ti_mmwave", room="living_room"),
           "radar_pc": SensorMeta("radar_pc", "ti_mmwave", room="bedroom")}


def make(**kw) -> RadarFallDetector:
    return RadarFallDetector(RadarFallDetector.Settings(**kw), SENSORS)


def profile(*legs: tuple[float, float]) -> list[float]:
    """Heights at 10 Hz: each leg (seconds, end height) moves linearly from the last height."""
    h, out = legs[0][1], []
    for seconds, end in legs:
        n = max(1, int(round(seconds * HZ)))
        out += list(np.linspace(h, end, n + 1)[1:]) if seconds else []
        h = end
    return out


def frames(heights: list[float], x: float = 2.0, y: float = 3.0, tid: int = 7,
           sensor: str = "radar_lr", use_z: bool = False, start: float = T0) -> list[RadarTargets]:
    out, prev = [], heights[0]
    for i, h in enumerate(heights):
        vz = (h - prev) * HZ
        prev = h
        g = Target(tid, x, y, h if use_z else 0.9, vz=vz, height=None if use_z else h)
        out.append(RadarTargets(sensor, start + i / HZ, i, (g,)))
    return out


FALL = profile((3.0, 1.7), (3.0, 1.7), (0.7, 0.3), (20.0, 0.3))       # 1.4 m in 0.7 s, stays
IMPACT = T0 + 60 / HZ + 7 / HZ


def test_fast_descent_that_stays_down_is_a_suspected_fall_with_evidence():
    found = of_type(run(make(), frames(FALL)), "fall_suspected")
    assert len(found) == 1
    d = found[0]
    assert d.sensor == "radar_lr" and d.room == "living_room"
    assert d.occurred_at == near(IMPACT, 0.35)
    assert d.evidence["height_drop_m"] == pytest.approx(1.4, abs=0.25)
    assert d.evidence["descent_speed_mps"] >= 1.0
    assert d.evidence["time_near_floor_s"] >= 5.0
    assert 0.5 < d.confidence < 1.0 and d.ref


def test_sitting_down_and_lying_down_slowly_are_not_falls():
    sit = profile((3.0, 1.7), (1.2, 1.2), (20.0, 1.2))                # chair
    lie = profile((3.0, 1.7), (2.0, 1.0), (4.0, 0.35), (20.0, 0.35))  # slowly onto the floor
    assert of_type(run(make(), frames(sit)), "fall_suspected") == []
    assert of_type(run(make(), frames(lie)), "fall_suspected") == []


def test_down_only_briefly_is_not_a_fall():
    trip = profile((3.0, 1.7), (0.7, 0.3), (2.0, 0.3), (1.0, 1.7), (10.0, 1.7))
    assert of_type(run(make(), frames(trip)), "fall_suspected") == []


def test_a_descent_ending_in_a_lying_zone_is_normal():
    bed = Zone(name="bed", x=(1.5, 2.5), y=(2.0, 4.0))
    assert of_type(run(make(lying_zones=[bed]), frames(FALL)), "fall_suspected") == []
    other_radar = Zone(name="bed", sensor="radar_pc", x=(1.5, 2.5), y=(2.0, 4.0))
    assert len(of_type(run(make(lying_zones=[other_radar]), frames(FALL)), "fall_suspected")) == 1


def test_blind_zones_are_ignored():
    island = Zone(name="kitchen island", x=(0.0, 5.0), y=(2.5, 3.5), z=(0.0, 1.0))
    assert of_type(run(make(blind_zones=[island]), frames(FALL)), "fall_suspected") == []


def test_getting_up_cancels_with_the_same_ref():
    up = FALL + profile((0.0, 0.3), (2.0, 1.7), (5.0, 1.7))
    found = run(make(), frames(up))
    falls, cancels = of_type(found, "fall_suspected"), of_type(found, "fall_cancelled")
    assert len(falls) == 1 and len(cancels) == 1
    assert cancels[0].ref == falls[0].ref
    assert cancels[0].occurred_at > falls[0].occurred_at + 5
    assert cancels[0].evidence["height_m"] >= 0.9


def test_centroid_only_trackers_work_with_z():
    fall = profile((3.0, 1.0), (0.5, 0.25), (20.0, 0.25))
    assert len(of_type(run(make(), frames(fall, use_z=True)), "fall_suspected")) == 1


def test_a_track_lost_on_the_floor_is_confirmed_by_later_frames_or_by_tick():
    descent = profile((3.0, 1.7), (0.7, 0.3), (0.5, 0.3))
    empty = [RadarTargets("radar_lr", T0 + (len(descent) + i) / HZ, len(descent) + i, ())
             for i in range(100)]
    assert len(of_type(run(make(), frames(descent) + empty), "fall_suspected")) == 1
    det = make()
    run(det, frames(descent))
    assert det.tick(T0 + len(descent) / HZ + 1) == []
    assert len(of_type(det.tick(T0 + len(descent) / HZ + 6), "fall_suspected")) == 1


def test_a_helper_standing_by_a_fallen_person_does_not_cancel():
    fallen = frames(FALL + [0.3] * 50)
    helper_t0 = fallen[100].t
    helper = frames([1.7] * 100, x=2.5, tid=8, start=helper_t0)
    merged = {}
    for f in fallen + helper:
        key = round(f.t, 3)
        merged[key] = RadarTargets("radar_lr", f.t, f.frame, merged[key].targets + f.targets) \
            if key in merged else f
    found = run(make(), [merged[k] for k in sorted(merged)])
    assert len(of_type(found, "fall_suspected")) == 1
    assert of_type(found, "fall_cancelled") == []


def point_frames(heights: list[float], rng: np.random.Generator, n: int = 25) -> list[RadarPoints]:
    """A person as a point cloud: points over the body's height with noise and a few ghosts.
    A still person yields few points (static clutter removal), as on a real TI radar."""
    out, prev = [], heights[0]
    for i, h in enumerate(heights):
        moving = abs(h - prev) > 0.01 or i < 30
        prev = h
        k = n if moving else 2
        z = rng.uniform(0.05, h, k)
        pts = np.column_stack([2.0 + rng.normal(0, 0.15, k), 3.0 + rng.normal(0, 0.15, k), z,
                               rng.normal(0, 0.3, k), rng.uniform(8, 20, k)])
        ghost = np.array([[2.0, 3.0, 2.4, 0.0, 3.0]])   # weak multipath ghost up high
        out.append(RadarPoints("radar_pc", T0 + i / HZ, i,
                               np.vstack([pts, ghost]).astype(np.float32)))
    return out


def test_point_cloud_only_radar_detects_a_fall_and_ignores_sitting():
    rng = np.random.default_rng(5)
    found = of_type(run(make(), point_frames(FALL, rng)), "fall_suspected")
    assert len(found) == 1 and found[0].sensor == "radar_pc"
    assert found[0].occurred_at == near(IMPACT, 0.6)
    sit = profile((3.0, 1.7), (1.2, 1.2), (20.0, 1.2))
    assert of_type(run(make(), point_frames(sit, rng)), "fall_suspected") == []


def test_same_detections_in_one_batch_or_frame_by_frame():
    stream = frames(FALL + profile((0.0, 0.3), (2.0, 1.7), (5.0, 1.7)))
    assert run(make(), stream) == run(make(), stream, batch=1) == run(make(), stream, batch=7)


def test_the_cancel_watch_survives_a_restart():
    det = make()
    run(det, frames(FALL))
    fresh = restart(make, det)
    later = frames(profile((1.0, 0.3), (2.0, 1.7), (5.0, 1.7)), start=T0 + len(FALL) / HZ)
    cancels = of_type(run(fresh, later), "fall_cancelled")
    assert len(cancels) == 1 and cancels[0].ref == det.falls[0].ref


def test_settings_are_checked():
    with pytest.raises(ValueError):
        make(up_m=0.5, floor_m=0.6)
    with pytest.raises(ValueError):
        make(lying_zones=[{"x": (0, 1)}])


def test_a_newborn_track_settling_its_height_is_not_a_fall():
    # The gateway starts beside someone lying down: the tracker's first heights fall fast.
    settling = profile((0.0, 1.6), (0.6, 0.35), (20.0, 0.35))
    assert of_type(run(make(), frames(settling)), "fall_suspected") == []


def test_a_tracker_that_reports_nobody_does_not_blind_the_point_path():
    # TI people tracking sends an empty target list every frame; the mmfall fall captures
    # carry no tracks at all. The points must still be judged (issue 22: they never were).
    rng = np.random.default_rng(11)
    pts = point_frames(FALL, rng)
    empty = [RadarTargets("radar_pc", p.t, p.frame, ()) for p in pts]
    mixed = [r for pair in zip(pts, empty, strict=True) for r in pair]
    assert len(of_type(run(make(), mixed), "fall_suspected")) == 1


def test_the_radars_own_leakage_is_not_a_person():
    # points 0.1-0.3 m from the radar, at its own height, every frame: not someone standing
    rng = np.random.default_rng(12)
    leak = [RadarPoints("radar_pc", T0 + i / HZ, i, np.array(
        [[0.0, rng.uniform(0.1, 0.3), rng.uniform(-0.05, 0.05), 1.0, 10.0]] * 8,
        dtype=np.float32)) for i in range(100)]
    det = make()
    det.debug = []
    run(det, leak)
    assert det.debug == []


def test_a_descent_then_walking_away_is_not_lying_there():
    # a fast crouch to tie a shoe, then off across the room low (a child's game, a crawl)
    heights = FALL[:67] + [0.3] * 80
    out = frames(heights)
    walked = [RadarTargets(f.sensor, f.t, f.frame, (Target(
        7, 2.0 + max(0, i - 67) * 0.08, 3.0, 0.9, height=f.targets[0].height),))
        for i, f in enumerate(out)]
    assert of_type(run(make(), walked), "fall_suspected") == []
    assert len(of_type(run(make(), out), "fall_suspected")) == 1


def test_an_unknown_mounting_judges_the_drop_relative_to_where_the_person_stood():
    # the same centroid fall seen by a radar hanging 2.2 m up, heights in its own frame
    fall = [h - 2.2 for h in profile((3.0, 1.0), (0.5, 0.25), (20.0, 0.25))]
    assert len(of_type(run(make(), frames(fall, use_z=True)), "fall_suspected")) == 1
    sit = [h - 2.2 for h in profile((3.0, 1.0), (1.0, 0.65), (20.0, 0.65))]
    assert of_type(run(make(), frames(sit, use_z=True)), "fall_suspected") == []


def centroid_clip(rows: list[tuple[float, float, float]], hz: float = 20.0,
                  tid: int = 3) -> list[RadarTargets]:
    """A radar-frame centroid track (no mounting known): rows of (x, y, z) at `hz`."""
    return [RadarTargets("radar_lr", T0 + i / hz, i, (Target(tid, x, y, z),))
            for i, (x, y, z) in enumerate(rows)]


def test_a_few_frames_of_a_ghost_at_the_descents_start_are_not_a_walk():
    """SafeSenior fall_5 at 20 Hz: the tracker grabbed a ghost 2.6 m away (and 0.4 m
    higher) for three frames right before the person dropped to the floor, 0.5 s into the
    clip. Where the descent started is the median position over the half second before it,
    so those frames are not taken for a walk across the room (which is not a fall)."""
    rng = np.random.default_rng(5)
    stand = [(0.8, 1.45, 0.44 + rng.normal(0, 0.03)) for _ in range(7)]
    sag = [(0.8, 1.5, 0.24)] * 4
    lying = [(0.75, 1.68, -0.08 + rng.normal(0, 0.01)) for _ in range(60)]
    for start in ([(1.78, 4.1, 0.84)] * 3 + [(1.03, 2.34, 0.17)],      # the ghost
                  [(0.8, 1.5, 0.44)] * 3 + [(0.78, 1.6, 0.17)]):       # without it
        rows = stand + sag + start + lying
        det = make()
        run(det, centroid_clip(rows))
        assert len(of_type(det.tick(T0 + len(rows) / 20.0 + 6), "fall_suspected")) == 1


@pytest.mark.parametrize("walk_on_s,fall", [(0.0, True), (1.0, False)])
def test_walking_on_after_a_descent_is_not_a_fall_even_if_the_track_then_ends(walk_on_s, fall):
    """In a radar's own frame with an unknown tilt z falls with range: a person walking
    towards the radar at 1.2 m/s sinks 0.85 m/s (the mmfall walking capture's real TI
    tracks lose 0.7 m of z per metre walked). Someone who walks on after such a 'descent'
    has not fallen, even when the clip (or the track) ends before walk_away_m is reached."""
    hz, v, slope = 20.0, 1.2, 0.7
    rows, y = [], 5.0
    for _ in range(int(1.5 * hz)):                 # standing, then walking towards the radar
        rows.append((0.0, y, slope * (y - 5.0)))
    for _ in range(int((0.8 + walk_on_s) * hz)):
        y -= v / hz
        rows.append((0.0, y, slope * (y - 5.0)))
    det = make()
    run(det, centroid_clip(rows))
    got = of_type(det.tick(T0 + len(rows) / hz + 6), "fall_suspected")
    assert len(got) == (1 if fall else 0)


def test_a_track_born_mid_lowering_is_not_a_fall_but_one_born_at_rest_before_a_fall_is():
    # the simulated day's first second: the gateway starts while the person lowers
    # themselves into bed (top 1.63 -> 0.32 m in 1 s, no lying zone drawn)
    into_bed = profile((0.0, 1.63), (1.0, 0.32), (20.0, 0.32))
    assert of_type(run(make(), frames(into_bed)), "fall_suspected") == []
    # three frames (0.3 s) of the person standing still, then a fall: judged, although the
    # descent starts inside the track's first half second
    fall = profile((0.0, 1.63), (0.3, 1.63), (0.5, 0.32), (20.0, 0.32))
    assert len(of_type(run(make(), frames(fall)), "fall_suspected")) == 1
