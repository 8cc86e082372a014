"""The wearable fall detector, specified by what it must do with a body's movement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from detectors.base import SensorMeta
from detectors.registry import load
from detectors.wearable_fall import WearableFallDetector, WearableFallSettings
from sensordata.readings import AccelBlock

T0 = 1_767_225_600.0
SISFALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sisfall-dev"
UPRIGHT = np.array([0.0, -1.0, 0.0])
LYING = np.array([0.97, 0.0, 0.24])


def _segment(seconds: float, rate: float, gravity: np.ndarray, rng, walk: float = 0.0,
             noise: float = 0.01) -> np.ndarray:
    n = int(round(seconds * rate))
    tt = np.arange(n) / rate
    x = np.tile(gravity, (n, 1)) + rng.normal(0, noise, (n, 3))
    if walk:  # 2 Hz steps, mostly vertical
        x += walk * np.outer(np.sin(2 * np.pi * 2.0 * tt), -gravity)
    return x


def synthetic_fall(rate: float = 100.0, get_up: bool = True, seed: int = 1,
                   walk_s: float = 6.0):
    """Walk `walk_s` (6 s), fall (0.5 s of near free fall, a 6 g impact), lie still 6 s, then
    (optionally) turn back upright and walk away. Returns t, xyz, impact time."""
    rng = np.random.default_rng(seed)
    parts = [
        _segment(walk_s, rate, UPRIGHT, rng, walk=0.25),
        _segment(0.5, rate, 0.25 * UPRIGHT, rng, noise=0.05),          # losing support
        _segment(0.06, rate, 6.0 * LYING + 2.0 * UPRIGHT, rng),         # impact
        _segment(0.4, rate, LYING, rng, noise=0.3),                     # rebound
        _segment(6.0, rate, LYING, rng),                                # lying still
    ]
    if get_up:
        n = int(1.5 * rate)
        w = np.linspace(0, 1, n)[:, None]
        parts.append(((1 - w) * LYING + w * UPRIGHT) + rng.normal(0, 0.05, (n, 3)))
        parts.append(_segment(8.0, rate, UPRIGHT, rng, walk=0.25))
    xyz = np.concatenate(parts)
    t = T0 + np.arange(len(xyz)) / rate
    impact = T0 + walk_s + 0.5 + 0.03
    return t, xyz, impact


def _detector(placement: str = "waist", **kw) -> WearableFallDetector:
    return WearableFallDetector(WearableFallSettings(**kw),
                                {"w": SensorMeta("w", "test", room="hall", placement=placement)})


def feed_blocks(det, t, xyz, sizes):
    out, i, k = [], 0, 0
    while i < len(t):
        n = int(sizes[k % len(sizes)])
        out += det.feed([AccelBlock("w", t[i:i + n], xyz[i:i + n])])
        i, k = i + n, k + 1
    return out


def test_fall_then_getting_up_is_suspected_then_cancelled():
    t, xyz, impact = synthetic_fall(get_up=True)
    dets = feed_blocks(_detector(), t, xyz, [25])
    assert [d.type for d in dets] == ["fall_suspected", "fall_cancelled"]
    sus, cancel = dets
    assert abs(sus.occurred_at - impact) < 0.1
    assert sus.room == "hall" and sus.sensor == "w" and 0.5 <= sus.confidence <= 1.0
    assert sus.evidence["peak_g"] > 4 and sus.evidence["posture_change_deg"] > 60
    assert sus.evidence["drop_mps"] > 2.0
    # cancelled only after the person is upright again (turn starts 6.4 s after impact)
    assert cancel.occurred_at > impact + 6.4


def test_fall_without_getting_up_stays_suspected():
    t, xyz, _ = synthetic_fall(get_up=False)
    dets = feed_blocks(_detector(), t, xyz, [len(t)])
    assert [d.type for d in dets] == ["fall_suspected"]


def test_hard_sit_down_without_posture_change_is_no_fall():
    rng = np.random.default_rng(3)
    xyz = np.concatenate([_segment(5, 100, UPRIGHT, rng, walk=0.2),
                          _segment(0.05, 100, 4.0 * UPRIGHT, rng),
                          _segment(5, 100, UPRIGHT, rng)])
    t = T0 + np.arange(len(xyz)) / 100
    assert feed_blocks(_detector(), t, xyz, [37]) == []


def test_streaming_invariance_one_block_or_many_small_ones():
    t, xyz, _ = synthetic_fall(rate=200.0, get_up=True, seed=7)
    whole = feed_blocks(_detector(), t, xyz, [len(t)])
    rng = np.random.default_rng(0)
    pieces = feed_blocks(_detector(), t, xyz, rng.integers(1, 60, 500))
    assert [d.type for d in whole] == [d.type for d in pieces] == ["fall_suspected", "fall_cancelled"]
    for a, b in zip(whole, pieces, strict=True):
        assert a.occurred_at == pytest.approx(b.occurred_at, abs=1e-6)
        assert a.evidence == pytest.approx(b.evidence, rel=1e-6, abs=1e-6)


def _resample(t, xyz, rate):
    nt = np.arange(t[0], t[-1], 1.0 / rate)
    return nt, np.stack([np.interp(nt, t, xyz[:, i]) for i in range(3)], axis=1)


@pytest.mark.parametrize("rate", [20.0, 50.0, 200.0])
def test_rate_invariance_synthetic(rate):
    t, xyz, impact = synthetic_fall(rate=200.0, get_up=False, seed=2)
    rt, rx = _resample(t, xyz, rate)
    dets = feed_blocks(_detector(), rt, rx, [int(rate)])
    assert [d.type for d in dets] == ["fall_suspected"]
    assert abs(dets[0].occurred_at - impact) < 0.1


def test_irregular_timestamps_with_repeats_are_handled():
    t, xyz, impact = synthetic_fall(rate=200.0, get_up=False, seed=4)
    rng = np.random.default_rng(5)
    keep = np.sort(rng.choice(len(t), len(t) // 10, replace=False))  # ~20 Hz, irregular
    tt = np.round(t[keep], 2)                                       # 10 ms clock: repeats
    dets = feed_blocks(_detector(), tt, xyz[keep], [7])
    assert [d.type for d in dets] == ["fall_suspected"]


def _sisfall_fall_files(n: int):
    from gateway.evaluation import sisfall
    if not SISFALL.is_dir():
        pytest.skip("shared SisFall data absent")
    files = [f for f in sisfall.files(SISFALL) if sisfall.key(f)[1] in ("F01", "F08", "F15")]
    return [sisfall.load(f) for f in files[::max(1, len(files) // n)][:n]]


@pytest.mark.parametrize("rate", [50.0, 200.0])
def test_rate_invariance_on_real_falls(rate):
    for rec in _sisfall_fall_files(3):
        rt, rx = _resample(rec.t, rec.xyz, rate)
        dets = feed_blocks(_detector(), rt, rx, [int(rate // 4)])
        sus = [d for d in dets if d.type == "fall_suspected"]
        assert sus, f"{rec.name} at {rate} Hz not detected"
        assert rec.fall_onset - 1.0 <= sus[0].occurred_at <= rec.fall_end + 3.0


def test_real_recording_streaming_invariance():
    rec = _sisfall_fall_files(1)[0]
    whole = feed_blocks(_detector(), rec.t, rec.xyz, [len(rec.t)])
    small = feed_blocks(_detector(), rec.t, rec.xyz, [1, 3, 17, 50, 2])
    assert whole and [(d.type, round(d.occurred_at, 6)) for d in whole] == \
        [(d.type, round(d.occurred_at, 6)) for d in small]


def test_wrist_placement_uses_its_own_settings():
    partial = WearableFallSettings(wrist={"impact_g": 2.0})
    assert partial.wrist.score_threshold == WearableFallSettings().wrist.score_threshold
    assert partial.wrist.score_threshold != WearableFallSettings().waist.score_threshold
    s = WearableFallSettings(wrist={"impact_g": 12.0})
    t, xyz, _ = synthetic_fall(get_up=False)
    wrist = WearableFallDetector(s, {"w": SensorMeta("w", "t", placement="wrist")})
    waist = WearableFallDetector(s, {"w": SensorMeta("w", "t", placement="waist")})
    assert feed_blocks(wrist, t, xyz, [100]) == []
    assert len(feed_blocks(waist, t, xyz, [100])) == 1


def test_sensors_are_independent_and_other_readings_ignored():
    t, xyz, _ = synthetic_fall(get_up=False)
    det = _detector()
    out = []
    for i in range(0, len(t), 50):
        out += det.feed([AccelBlock("w", t[i:i + 50], xyz[i:i + 50]),
                         AccelBlock("other", t[i:i + 50], np.tile(UPRIGHT, (len(t[i:i + 50]), 1))),
                         type("HR", (), {"kind": "heart_rate", "sensor": "w", "t": t[i]})()])
    assert [(d.type, d.sensor) for d in out] == [("fall_suspected", "w")]


def test_settings_contract_and_registry():
    cls = load("wearable_fall")
    assert cls is WearableFallDetector and cls.name == "wearable_fall" and cls.default_on
    with pytest.raises(ValidationError):
        WearableFallSettings(unknown=1)

    def untitled(model):
        for name, f in model.model_fields.items():
            if not f.title:
                yield f"{model.__name__}.{name}"
    from detectors.wearable_fall import PlacementSettings
    assert list(untitled(WearableFallSettings)) + list(untitled(PlacementSettings)) == []
    assert feed_blocks(_detector(enabled=False), *synthetic_fall(get_up=False)[:2], [100]) == []


def _rest_move_rest(end: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rest arm-down 4 s, swing the arm up and about for 3 s, come down with a 3 g knock,
    then rest 6 s in orientation `end`."""
    rng = np.random.default_rng(seed)
    arm_down, arm_up = np.array([-1.0, 0.0, 0.0]), np.array([0.9, 0.3, 0.3])
    xyz = np.concatenate([
        _segment(4.0, 50, arm_down, rng, noise=0.01),
        _segment(3.0, 50, arm_up, rng, walk=0.3, noise=0.1),
        _segment(0.5, 50, 0.3 * arm_up, rng, noise=0.05),
        _segment(0.06, 50, 3.0 * end / np.linalg.norm(end), rng),
        _segment(6.0, 50, end, rng, noise=0.01)])
    return T0 + np.arange(len(xyz)) / 50, xyz


def test_returning_to_a_posture_just_rested_in_is_no_fall():
    """Raising the arms and lowering them again (or clapping, or rolling back) ends
    where the wearer rested seconds before: no fall, even though it differs from the
    orientation just before the knock."""
    t, xyz = _rest_move_rest(np.array([-1.0, 0.0, 0.0]))
    assert feed_blocks(_detector("wrist"), t, xyz, [13]) == []
    t, xyz = _rest_move_rest(np.array([0.0, 0.2, -1.0]))       # a new orientation: a fall
    dets = feed_blocks(_detector("wrist"), t, xyz, [13])
    assert [d.type for d in dets] == ["fall_suspected"]
    assert dets[0].evidence["posture_change_deg"] > 60


def test_a_body_rolling_after_the_impact_is_judged_when_it_comes_to_rest():
    rng = np.random.default_rng(9)
    t, xyz, impact = synthetic_fall(get_up=False, seed=9)
    k = int(round((impact - T0 + 0.5) * 100))
    xyz = xyz.copy()
    xyz[k:k + 150] += rng.normal(0, 0.5, (150, 3))            # 1.5 s of rolling
    xyz[k + 150:k + 155] = 2.5 * LYING                         # comes to rest with a knock
    dets = feed_blocks(_detector(), t, xyz, [20])
    assert [d.type for d in dets] == ["fall_suspected"]
    # the fall is dated at the last hard impact before rest, not the first one
    assert dets[0].occurred_at > impact + 1.5


def test_resampler_box_averages_keeps_spikes_and_is_block_invariant():
    from detectors.wearable_resample import GridResampler
    rate = 200.0
    tt = T0 + np.arange(0, 4, 1 / rate)
    ramp = np.stack([tt - T0, np.zeros_like(tt), -np.ones_like(tt)], axis=1)
    ramp[400, 1] = 8.0                                          # a 5 ms spike
    ((k, mean, peak),) = GridResampler(50.0).feed(tt, ramp)
    grid_t = (k + np.arange(len(mean))) / 50.0                  # relative to the first sample
    # the average of a ramp over (t - 20 ms, t] is its value 10 ms earlier
    assert mean[:, 0] == pytest.approx(grid_t - 0.01, abs=1e-9)
    assert mean[:, 2] == pytest.approx(-1.0)
    assert peak.max() == pytest.approx(np.linalg.norm(ramp[400]))  # the spike survives
    r2 = GridResampler(50.0)
    parts = [run for i in range(0, len(tt), 7) for run in r2.feed(tt[i:i + 7], ramp[i:i + 7])]
    assert np.concatenate([p[1] for p in parts]) == pytest.approx(mean, abs=1e-12)
    assert np.concatenate([p[2] for p in parts]) == pytest.approx(peak, abs=1e-12)


def test_resampler_restarts_after_a_gap():
    from detectors.wearable_resample import GridResampler
    r = GridResampler(50.0, max_gap_s=1.0)
    t1 = T0 + np.arange(0, 2, 0.02)
    ((k1, m1, _),) = r.feed(t1, np.tile(UPRIGHT, (len(t1), 1)))
    t2 = T0 + 10 + np.arange(0, 2, 0.02)
    ((k2, m2, _),) = r.feed(t2, np.tile(LYING, (len(t2), 1)))
    assert k2 > k1 + len(m1) + 300                           # a jump in the grid index
    assert m2 == pytest.approx(np.tile(LYING, (len(m2), 1)))  # nothing interpolated across


def _runs_of(rate, max_gap_s, t, xyz, size):
    from detectors.wearable_resample import GridResampler
    r = GridResampler(rate, max_gap_s=max_gap_s)
    runs = [run for i in range(0, len(t), size) for run in r.feed(t[i:i + size], xyz[i:i + size])]
    merged: list[tuple[int, np.ndarray, np.ndarray]] = []   # join runs that continue
    for k, m, p in runs:
        if merged and merged[-1][0] + len(merged[-1][1]) == k:
            k0, m0, p0 = merged.pop()
            merged.append((k0, np.concatenate((m0, m)), np.concatenate((p0, p))))
        else:
            merged.append((k, m, p))
    return merged


@pytest.mark.parametrize("size", [7, 50, 333, 10_000])
def test_a_pause_inside_a_block_restarts_the_grid_as_one_between_blocks(size):
    """A whole recording fed at once, or a BLE batch spanning a dropout: the pause splits the
    grid where it falls, the same runs however the stream is cut, nothing made up across."""
    t = T0 + np.concatenate((np.arange(0, 3, 0.01), 8.0 + np.arange(0, 3, 0.01),
                             8.0 + 3.0 + 1.5 + np.arange(0, 2, 0.01)))   # 5 s, then 1.5 s
    xyz = np.concatenate((np.tile(UPRIGHT, (300, 1)), np.tile(LYING, (300, 1)),
                          np.tile(UPRIGHT, (200, 1))))
    one_by_one = _runs_of(50.0, 1.0, t, xyz, 1)
    assert len(one_by_one) == 3
    cut = _runs_of(50.0, 1.0, t, xyz, size)
    assert [k for k, _, _ in cut] == [k for k, _, _ in one_by_one]
    for (_, m, p), (_, m1, p1) in zip(cut, one_by_one, strict=True):
        assert m == pytest.approx(m1, abs=1e-12)
        assert p == pytest.approx(p1, abs=1e-12)
    assert cut[1][1] == pytest.approx(np.tile(LYING, (len(cut[1][1]), 1)))
    assert cut[2][1] == pytest.approx(np.tile(UPRIGHT, (len(cut[2][1]), 1)))


def test_a_burst_or_a_step_back_is_no_pause():
    from detectors.wearable_resample import GridResampler
    t = T0 + np.arange(0, 4, 0.02)
    t[100:105] = t[100]                                       # a burst: one time, five samples
    t[150] = t[140]                                           # a step back
    assert len(GridResampler(50.0).feed(t, np.tile(UPRIGHT, (len(t), 1)))) == 1


@pytest.mark.parametrize("sizes", [[10_000], [25], [7, 13]])
def test_a_knock_before_the_band_goes_out_of_range_is_judged_on_nothing_made_up(sizes):
    """A hard knock, then 6 s with no samples, then a wrist lying still in a new
    orientation: what happened in the pause is unknown, so however the samples were
    batched the detector starts over at the pause (no interpolated "lying still")."""
    rng = np.random.default_rng(3)
    before = np.concatenate((_segment(4.0, 100, UPRIGHT, rng, walk=0.25),
                             _segment(0.06, 100, 6.0 * LYING + 2.0 * UPRIGHT, rng),
                             _segment(0.3, 100, LYING, rng, noise=0.3)))
    after = _segment(12.0, 100, LYING, rng)
    t = T0 + np.concatenate((np.arange(len(before)) / 100,
                             len(before) / 100 + 6.0 + np.arange(len(after)) / 100))
    dets = feed_blocks(_detector("wrist"), t, np.concatenate((before, after)), sizes)
    assert dets == []


def test_after_a_long_lie_the_detector_looks_for_new_falls_without_repeating():
    """No get-up for `rearm_s`: watching for falls resumes; lying there is not a new fall,
    a second fall after standing up is (once the lying posture is `rest_memory_s` old:
    within that, ending in a posture just rested in is taken for a return, by design)."""
    t, xyz, _ = synthetic_fall(get_up=False, seed=11)
    rng = np.random.default_rng(12)
    lie = _segment(30.0, 100, LYING, rng)
    lie[1500:1505] = 3.0 * np.array([0.0, 0.7, 0.7])           # a knock while lying
    t2, xyz2, _ = synthetic_fall(get_up=False, seed=13, walk_s=12.0)  # up, walks, falls
    all_xyz = np.concatenate([xyz, lie, xyz2])
    all_t = T0 + np.arange(len(all_xyz)) / 100
    dets = feed_blocks(_detector(rearm_s=20.0), all_t, all_xyz, [100])
    assert [d.type for d in dets] == ["fall_suspected", "fall_suspected"]
    assert dets[1].occurred_at - dets[0].occurred_at > 35


def test_bursty_timestamps_keep_the_impact_and_are_counted():
    """A watch that stamps 6 samples at a time and sometimes steps back still shows the
    fall, and the detector says how many samples it could not place on the time axis."""
    from gateway.evaluation import runner
    from gateway.evaluation.recording import Recording, bursty
    rate = 200.0
    t = 1_767_225_600.0 + np.arange(0, 20, 1 / rate)
    xyz = np.tile([0.0, -1.0, 0.0], (len(t), 1))
    k = int(8 * rate)
    xyz[k - 60:k] *= 0.3                                  # free fall
    xyz[k:k + 4] = [5.0, 1.0, 0.0]                         # a 20 ms impact
    xyz[k + 4:] = [1.0, 0.0, 0.0]                          # lying on the side
    rec = Recording("f", "test", "S1", "F", True, "wrist", t, xyz,
                    fall_onset=t[k - 60], fall_end=t[k + 10])
    b = bursty(rec, 6, back_fraction=0.05, seed=3)
    assert (np.diff(b.t) == 0).sum() > 2000 and (np.diff(b.t) < 0).sum() > 5
    cfg = runner.home_config("wrist")
    clean = runner.score(rec, runner.run_pipeline(cfg, rec).events)
    run = runner.run_pipeline(cfg, b)
    out = runner.score(b, run.events)
    assert clean.detected and out.detected
    assert out.evidence["peak_g"] == pytest.approx(clean.evidence["peak_g"], abs=0.05)
    assert run.timing["samples_repeated_time"] > 2000 and run.timing["samples_stepped_back"] > 5
    assert out.evidence["samples_repeated_time"] > 0


# -- the decision's timeline: impact -> suspicion -> evidence -> alarm or cancel ----------
SIDE = np.array([0.0, 0.0, -1.0])   # a wrist turned 90 degrees from its pre-fall orientation


def _after_fall(parts: list[np.ndarray], rate: float = 100.0, seed: int = 21):
    """A fall without a get-up, followed by `parts` (arrays of samples)."""
    t, xyz, impact = synthetic_fall(rate=rate, get_up=False, seed=seed)
    xyz = np.concatenate([xyz, *parts])
    return T0 + np.arange(len(xyz)) / rate, xyz, impact


def test_steps_resumed_cancel_a_suspected_fall_even_with_the_wrist_turned():
    """Walking again is evidence of being up, whatever the arm's orientation (the get-up
    rule needs the pre-fall orientation back and does not see it here)."""
    rng = np.random.default_rng(22)
    t, xyz, impact = _after_fall([_segment(8.0, 100, SIDE, rng, walk=0.25)])
    dets = feed_blocks(_detector("wrist"), t, xyz, [25, 40])
    assert [d.type for d in dets] == ["fall_suspected", "fall_cancelled"]
    assert dets[1].evidence["walking_s"] == 3.0 and dets[1].evidence["step_rhythm"] >= 0.5
    assert 2.0 <= dets[1].occurred_at - (impact + 6.4) <= 5.0   # seconds of steps, then decided
    off = feed_blocks(_detector("wrist", wrist={"walk_s": 0.0}), t, xyz, [25, 40])
    assert [d.type for d in off] == ["fall_suspected"]
    waist = feed_blocks(_detector("waist"), t, xyz, [25, 40])   # the waist's get-up rule only
    assert [d.type for d in waist] == ["fall_suspected"]


def test_a_struggle_on_the_floor_a_quiet_wrist_or_no_samples_never_cancel():
    """Only positive evidence cancels: movement without a step rhythm (trying to get up,
    reaching), lying still, and samples that stop all leave the alarm to go out."""
    rng = np.random.default_rng(23)
    n = 2500
    struggle = LYING + np.cumsum(rng.normal(0, 0.04, (n, 3)), axis=0) % 0.6 - 0.3
    for parts in ([struggle], [_segment(25.0, 100, LYING, rng)], []):
        t, xyz, _ = _after_fall(parts)
        dets = feed_blocks(_detector("wrist"), t, xyz, [25])
        assert [d.type for d in dets] == ["fall_suspected"]


def test_a_recording_that_ends_inside_the_cancel_window_ends_in_the_alarm():
    """Missing data is no evidence: the evaluation ends the window like a replay does and
    the `fall` alarm goes out at the window's end, 30 s after the impact."""
    from gateway.evaluation import runner
    from gateway.evaluation.recording import Recording
    t, xyz, impact = synthetic_fall(get_up=False, seed=24)
    rec = Recording("short", "test", "S1", "F", True, "wrist", t, xyz)
    out = runner.score(rec, runner.run_pipeline(runner.home_config("wrist"), rec).events)
    assert out.detected and out.alarms[0]["cancel_window_s"] == 30.0
    assert out.alarms[0]["occurred_at"] == pytest.approx(impact, abs=0.1)


def test_an_arm_already_swinging_hard_before_the_peak_is_not_a_fall_when_gated():
    """Waving or sweeping (about 0.7 g RMS in the seconds before) made the peak itself;
    a body that loses its balance was not moving like that. The gate is a wrist setting."""
    rng = np.random.default_rng(25)
    t, xyz, impact = synthetic_fall(get_up=False, seed=26)
    k = int((impact - T0 - 0.53) * 100)                        # start of the descent
    wave = np.outer(np.sin(2 * np.pi * 2.5 * np.arange(300) / 100), [1.0, 0.0, 0.0])
    xyz = xyz.copy()
    xyz[k - 300:k] += wave + rng.normal(0, 0.02, (300, 3))
    free = feed_blocks(_detector("wrist", wrist={"max_pre_activity_g": 100.0}), t, xyz, [25])
    assert [d.type for d in free] == ["fall_suspected"]
    assert free[0].evidence["pre_activity_g"] > 0.6
    gated = feed_blocks(_detector("wrist", wrist={"max_pre_activity_g": 0.5}), t, xyz, [25])
    assert gated == []


def test_clapping_before_the_peak_is_the_arm_s_own_rhythm_not_a_fall():
    """Three claps of about the impact's size in the 2 s before it are the wearer's own
    rhythmic movement; the same fall without them stays a fall at the wrist's defaults."""
    t, xyz, impact = synthetic_fall(get_up=False, seed=27)
    plain = feed_blocks(_detector("wrist"), t, xyz, [25])
    assert [d.type for d in plain] == ["fall_suspected"]
    assert plain[0].evidence["similar_peaks"] == 1.0
    xyz = xyz.copy()
    for s in (1.9, 1.4, 0.9):                                  # claps 0.5 s apart, 5.5 g
        k = int(round((impact - T0 - s) * 100))
        xyz[k:k + 3] += [0.0, -4.5, 0.0]
    loose = {"max_pre_activity_g": 100.0}
    free = feed_blocks(_detector("wrist", wrist={**loose, "max_similar_peaks": 100}),
                       t, xyz, [25])
    assert [d.type for d in free] == ["fall_suspected"]
    assert free[0].evidence["similar_peaks"] >= 3
    assert feed_blocks(_detector("wrist", wrist=loose), t, xyz, [25]) == []
    # the waist keeps its behaviour: no limit unless configured
    assert WearableFallSettings().waist.max_similar_peaks == 100
    with pytest.raises(ValidationError, match="max_similar_peaks"):
        WearableFallSettings(wrist={"max_similar_peaks": 0})


def test_a_get_up_can_be_asked_to_need_the_pre_fall_orientation_recorded():
    """Only positive evidence cancels: when the samples begin less than 2.5 s before the
    impact (the watch just connected or came back after a pause), the orientation the
    wearer was in before is not recorded, so with `getup_needs_pre_fall` being "back" in
    the first samples' orientation is no get-up. With the seconds before recorded the same
    get-up cancels. Off by default (measured: it trades lab falls for smartwatch falls)."""
    rng = np.random.default_rng(27)
    n = 150
    w = np.linspace(0, 1, n)[:, None]
    back_up = [((1 - w) * LYING + w * UPRIGHT) + rng.normal(0, 0.05, (n, 3)),
               _segment(8.0, 100, UPRIGHT, rng)]                # standing still: no steps
    both = ["fall_suspected", "fall_cancelled"]
    for walk_s, cancels in ((0.8, False), (6.0, True)):
        t, xyz, _ = synthetic_fall(get_up=False, seed=28, walk_s=walk_s)
        xyz = np.concatenate([xyz, *back_up])
        t = T0 + np.arange(len(xyz)) / 100
        on = _detector("wrist", wrist={"getup_needs_pre_fall": True})
        assert [d.type for d in feed_blocks(on, t, xyz, [25])] == both[:2 if cancels else 1]
        for default in (_detector("wrist"), _detector("waist")):
            assert [d.type for d in feed_blocks(default, t, xyz, [25])] == both


def _tug(rng, rate: float = 100.0, g: float = 4.0, rest: np.ndarray = SIDE) -> np.ndarray:
    """0.6 s of an arm at work: one sharp peak of `g` (a sleeve pulled, a broom knocked),
    the wrist otherwise in `rest`."""
    x = _segment(0.6, rate, rest, rng, noise=0.05)
    x[10:13] = g * np.array([0.6, 0.0, -0.8])
    return x


@pytest.mark.parametrize("sizes", [[25], [7, 13], [100_000]])
def test_the_arm_at_work_again_cancels_a_suspected_fall(sizes):
    """After the decision the arm hits two more peaks of about the impact's size (half its
    excess over 1 g): the wearer is pulling a sleeve, sweeping, waving, not lying after a
    fall. The cancel is dated at the second peak, however the samples were batched."""
    rng = np.random.default_rng(31)
    t, xyz, impact = _after_fall([_segment(2.0, 100, SIDE, rng), _tug(rng), _tug(rng),
                                  _segment(20.0, 100, SIDE, rng)])
    dets = feed_blocks(_detector("wrist", wrist={"active_peaks": 2}), t, xyz, sizes)
    assert [d.type for d in dets] == ["fall_suspected", "fall_cancelled"]
    assert dets[1].evidence["active_peaks"] == 2
    second_tug = T0 + (len(xyz) - 2000 - 60 + 10) / 100
    assert dets[1].occurred_at == pytest.approx(second_tug, abs=0.05)
    off = feed_blocks(_detector("wrist", wrist={"active_peaks": 0}), t, xyz, sizes)
    assert [d.type for d in off] == ["fall_suspected"]


def test_a_struggle_whose_peaks_stay_under_half_the_impact_does_not_cancel():
    """Pushing up, reaching, knocking the floor softly: peaks of 2.5 g after a 6 g impact
    are not the arm at work (half its excess is 3.5 g), so the alarm stands."""
    rng = np.random.default_rng(32)
    soft = [part for gap in (0.7, 2.1, 0.4, 1.3, 3.0, 0.9)      # no step rhythm either
            for part in (_tug(rng, g=2.5), _segment(gap, 100, SIDE, rng))]
    t, xyz, _ = _after_fall([_segment(2.0, 100, SIDE, rng), *soft,
                             _segment(20.0, 100, SIDE, rng)])
    dets = feed_blocks(_detector("wrist", wrist={"active_peaks": 2}), t, xyz, [25])
    assert [d.type for d in dets] == ["fall_suspected"]


def test_a_fall_among_the_arms_peaks_is_judged_as_a_fall_of_its_own():
    """A knock raised a suspicion; the wearer gets on with it (one hard peak), then really
    falls (the second peak) and lies still in a new orientation. The two peaks cancel the
    first suspicion, and the search resumes at the first of them, so the fall is suspected
    in its own right and stands."""
    rng = np.random.default_rng(33)
    fall = np.concatenate([_segment(0.3, 100, 0.3 * SIDE, rng, noise=0.05),
                           _segment(0.06, 100, 6.0 * UPRIGHT, rng),
                           _segment(25.0, 100, UPRIGHT * -1.0, rng)])
    t, xyz, impact = _after_fall([_segment(3.0, 100, SIDE, rng), _tug(rng), fall])
    dets = feed_blocks(_detector("wrist", wrist={"active_peaks": 2}), t, xyz, [25])
    assert [d.type for d in dets] == ["fall_suspected", "fall_cancelled", "fall_suspected"]
    second_impact = T0 + (len(xyz) - 2500 - 6) / 100
    assert dets[2].occurred_at == pytest.approx(second_impact, abs=0.1)


@pytest.mark.parametrize("sizes", [[25], [7, 13], [100_000]])
def test_peaks_far_apart_in_the_window_are_judged_the_same_however_batched(sizes):
    """The second peak comes 12 s after the first, longer than the detector keeps samples:
    the search resumes at most RESUME_BACK_S before it, inside what any batching kept."""
    rng = np.random.default_rng(34)
    t, xyz, _ = _after_fall([_segment(2.0, 100, SIDE, rng), _tug(rng),
                             _segment(12.0, 100, SIDE, rng), _tug(rng),
                             _segment(20.0, 100, SIDE, rng)])
    dets = feed_blocks(_detector("wrist", wrist={"active_peaks": 2}), t, xyz, sizes)
    assert [d.type for d in dets] == ["fall_suspected", "fall_cancelled"]
    assert dets[1].occurred_at - dets[0].occurred_at > 12.0


SMARTFALLMM = SISFALL.parent / "smartfallmm-wrist-dev"


@pytest.mark.skipif(not SMARTFALLMM.is_dir(), reason="shared SmartFallMM data absent")
def test_a_consumer_watchs_bursty_trials_get_the_same_verdicts_however_batched():
    """Real smartwatch trials (bursts, steps back, pauses of seconds, jackets pulled on,
    waving, falls and getting up): the wrist's every rule, in one block or in ragged small
    ones, gives the same detections at the same times, and never fails."""
    from gateway.evaluation import smartfallmm
    names = ("S11A03T03", "S21A03T05", "S01A07T03", "S43A10T05", "S37A11T03", "S31A12T02",
             "S23A08T02", "S16A03T04")
    paths = [p for p in smartfallmm.files(SMARTFALLMM) if p.name.split(".")[0] in names]
    assert len(paths) >= len(names)
    cancels = 0
    for p in paths:
        rec = smartfallmm.load(p)
        whole = feed_blocks(_detector("wrist"), rec.t, rec.xyz, [len(rec.t)])
        small = feed_blocks(_detector("wrist"), rec.t, rec.xyz, [1, 9, 33, 4, 70])
        assert [(d.type, round(d.occurred_at, 6)) for d in whole] == \
            [(d.type, round(d.occurred_at, 6)) for d in small], p.name
        cancels += sum(d.type == "fall_cancelled" for d in whole)
    assert cancels >= 2            # not trivial: the evidence rules ran
