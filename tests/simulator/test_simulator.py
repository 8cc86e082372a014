"""The simulator: same scenario and seed give the same bytes; each generator's signals
look like what real sensors produce; configured imperfections really happen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensordata.readings import AccelBlock, Battery, Contact, Motion, RadarTargets, reading_time
from sensordata.trace.model import Label
from simulator.engine import Simulation, simulate_to
from simulator.routine import build_timeline
from simulator.scenario import ScenarioError, load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[2] / "simulator" / "scenarios"


def home(duration: str = "20m", incidents=(), imperfections=(), start: str = "10:00",
         **resident) -> dict:
    return {
        "scenario": {"name": "t", "start": f"2026-03-02T{start}:00+02:00", "duration": duration},
        "rooms": [{"id": r, "size": [4.0, 4.0]} for r in
                  ("bedroom", "bathroom", "kitchen", "living", "hall")],
        "sensors": [
            {"id": "waist", "kind": "wearable", "driver": "polar_pmd", "placement": "waist",
             "rate_hz": 50},
            {"id": "wrist", "kind": "wearable", "driver": "polar_pmd", "placement": "wrist",
             "rate_hz": 50},
            {"id": "radar", "kind": "radar", "driver": "ti_mmwave", "room": "living",
             "rate_hz": 10},
            {"id": "pir", "kind": "motion", "driver": "zigbee2mqtt", "room": "kitchen"},
            {"id": "door", "kind": "door", "driver": "zigbee2mqtt", "room": "hall",
             "role": "outer_door"},
        ],
        "resident": {"rooms": {"bed": "bedroom", "bath": "bathroom", "kitchen": "kitchen",
                               "living": "living", "hall": "hall"}, **resident},
        "incidents": list(incidents),
        "imperfections": list(imperfections),
    }


def readings(scn_dict: dict, seed: int = 0) -> list:
    sim = Simulation(scenario_from_dict(scn_dict), seed)
    return [item for _, item in sim.items() if not isinstance(item, Label)]


def accel(rs: list, sensor: str) -> tuple[np.ndarray, np.ndarray]:
    blocks = [r for r in rs if isinstance(r, AccelBlock) and r.sensor == sensor]
    return np.concatenate([b.t for b in blocks]), np.concatenate([b.xyz for b in blocks])


def test_same_scenario_and_seed_give_identical_bytes(tmp_path: Path) -> None:
    scn = load_scenario(SCENARIOS / "demo.toml")
    a, b, c = tmp_path / "a.mcap", tmp_path / "b.mcap", tmp_path / "c.mcap"
    simulate_to(str(a), scn, seed=7)
    simulate_to(str(b), scn, seed=7)
    simulate_to(str(c), scn, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_shipped_scenarios_load() -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        scn = load_scenario(path)
        assert scn.sensors and scn.rooms and scn.duration > 0, path.name
    month = load_scenario(SCENARIOS / "home-month.toml")
    assert month.duration == 30 * 86400
    assert {i.what for i in month.incidents} >= {"fall", "inactivity", "door_night_exit"}
    assert any(i.after == "get_up" for i in month.incidents)


def test_bad_scenario_names_the_key() -> None:
    bad = home(incidents=[{"at": "+1m", "what": "fall", "kind": "sideways"}])
    with pytest.raises(ScenarioError, match=r"incidents\[0\]"):
        scenario_from_dict(bad)
    bad = home()
    bad["sensors"][2]["room"] = "attic"
    with pytest.raises(ScenarioError, match=r"sensors\[2\].room"):
        scenario_from_dict(bad)


def test_wearable_at_rest_reads_one_g_and_walking_has_a_gait_rhythm() -> None:
    scn = scenario_from_dict(home(duration="3h"))
    sim = Simulation(scn, 3)
    rs = [i for _, i in sim.items() if not isinstance(i, Label)]
    t, xyz = accel(rs, "waist")
    mag = np.linalg.norm(xyz, axis=1)
    assert 0.97 < np.median(mag) < 1.03
    walks = [s for s in sim.segs if s.act == "walk" and s.dur > 6 and s.worn]
    assert walks
    seg = max(walks, key=lambda s: s.dur)
    sel = (t >= seg.t0 + 1) & (t < seg.t1)
    m = mag[sel] - mag[sel].mean()
    spectrum = np.abs(np.fft.rfft(m))
    freqs = np.fft.rfftfreq(len(m), 1 / 50)
    peak = freqs[np.argmax(spectrum[1:]) + 1]
    assert abs(peak - seg.params["step_hz"]) < 0.3


@pytest.mark.parametrize("kind", ["forward", "backward", "lateral", "from_chair", "fainting"])
def test_falls_show_impact_then_a_lying_posture(kind: str) -> None:
    inc = {"at": "+2m", "what": "fall", "kind": kind, "room": "living", "after": "lie_still",
           "lasts": "2m"}
    scn_d = home(duration="5m", incidents=[inc])
    rs = readings(scn_d, seed=1)
    fall_t = scenario_from_dict(scn_d).incidents[0].t
    t, xyz = accel(rs, "waist")
    mag = np.linalg.norm(xyz, axis=1)
    near = (t >= fall_t) & (t < fall_t + 3)
    assert mag[near].max() > 1.8                       # an impact
    before = xyz[(t > fall_t - 6) & (t < fall_t - 1)].mean(axis=0)
    after = xyz[(t > fall_t + 20) & (t < fall_t + 60)].mean(axis=0)
    cosang = before @ after / np.linalg.norm(before) / np.linalg.norm(after)
    assert np.degrees(np.arccos(np.clip(cosang, -1, 1))) > 45   # no longer upright
    assert np.linalg.norm(xyz[(t > fall_t + 20) & (t < fall_t + 60)], axis=1).std() < 0.03
    frames = [r for r in rs if isinstance(r, RadarTargets) and r.targets]
    h = np.array([(r.t, r.targets[0].height) for r in frames])
    pre = h[(h[:, 0] > fall_t - 3) & (h[:, 0] < fall_t)][:, 1]
    post = h[(h[:, 0] > fall_t + 1.0) & (h[:, 0] < fall_t + 60)][:, 1]
    assert pre.mean() > 1.1 and post.mean() < 0.5      # radar sees the drop to the floor
    drop_at = h[(h[:, 0] >= fall_t) & (h[:, 1] < 0.6)][0, 0]
    assert drop_at - fall_t < 1.5                       # and it is fast


def test_getting_up_after_a_fall_returns_upright() -> None:
    inc = {"at": "+2m", "what": "fall", "kind": "lateral", "room": "living", "after": "get_up"}
    scn_d = home(duration="4m", incidents=[inc])
    fall_t = scenario_from_dict(scn_d).incidents[0].t
    t, xyz = accel(readings(scn_d), "waist")
    later = xyz[(t > fall_t + 20) & (t < fall_t + 30)].mean(axis=0)
    assert later[1] < -0.85                             # -y is up again (SisFall frame)


def test_motion_and_door_follow_the_routine() -> None:
    scn_d = home(duration="1d", start="00:00", outings_per_week=7)
    scn_d["sensors"] = [s for s in scn_d["sensors"] if s["kind"] in ("motion", "door")]
    sim = Simulation(scenario_from_dict(scn_d), 2)
    rs = [i for _, i in sim.items() if not isinstance(i, Label)]
    pir = [r for r in rs if isinstance(r, Motion)]
    assert pir and all(r.sensor == "pir" for r in pir)
    kitchen = [s for s in sim.segs if s.room == "kitchen" and s.act == "walk"]
    on = [r.t for r in pir if r.active]
    assert all(any(s.t0 - 1 <= t <= s.t1 + 600 for s in sim.segs if s.room == "kitchen")
               for t in on)
    assert len(on) >= len({int(s.t0 // 3600) for s in kitchen}) // 2
    outings = [s for s in sim.segs if s.act == "out"]
    doors = [r for r in rs if isinstance(r, Contact)]
    assert outings
    for s in outings:
        assert any(r.open and abs(r.t - s.t0) < 5 for r in doors)
        assert any(r.open and abs(r.t - s.t1) < 5 for r in doors)
    night = [s for s in sim.segs if s.act == "sleep"]
    assert night and sum(s.dur for s in night) > 5 * 3600


def test_routine_varies_from_day_to_day() -> None:
    scn = load_scenario(SCENARIOS / "home-month.toml").with_days(10)
    segs, labels = build_timeline(scn, 0)
    wakes = [s.t0 % 86400 for s in segs if s.act == "get_up_bed" and 4 <= (
        (s.t0 + 7200) % 86400) / 3600 <= 11]
    assert len(wakes) >= 8
    assert np.std(wakes) > 300                         # minutes of spread, not a fixed clock
    assert any(lb.what == "fall" and lb.expect == ("fall_suspected", "fall") for lb in labels)


def test_imperfections_happen_when_configured() -> None:
    base = home(duration="30m")
    faulty = home(duration="30m", imperfections=[
        {"sensor": "waist", "dropout": 0.1, "duplicate": 0.05, "reorder": 0.05,
         "clock_offset_s": 2.0, "clock_skew_ppm": 500, "range_g": 1.2,
         "battery_start": 10, "battery_per_day": 960,
         "silent": [{"at": "+5m", "lasts": "2m"}]},
        {"sensor": "radar", "noise": 0.3},
    ])
    clean, bad = readings(base, 5), readings(faulty, 5)
    start = scenario_from_dict(base).start
    cw = [r for r in clean if isinstance(r, AccelBlock) and r.sensor == "waist"]
    bw = [r for r in bad if isinstance(r, AccelBlock) and r.sensor == "waist"]
    # the battery (10 % at 960 %/day) dies after 15 min: nothing after that
    assert max(r.t[0] for r in bw) < start + 15 * 60 + 5
    assert all(np.abs(r.xyz).max() <= 1.2 for r in bw)                      # saturation
    assert max(np.abs(r.xyz).max() for r in cw) > 1.2
    ends = [round(r.end, 3) for r in bw]
    assert len(ends) != len(set(ends))                                       # duplicates
    assert any(b < a for a, b in zip(ends, ends[1:], strict=False))                        # out of order
    silent = [r for r in bw if start + 300 + 3 <= r.t[0] < start + 420 - 3]
    assert not silent                                                        # silent window
    first_clean = min(r.t[0] for r in cw)
    assert min(r.t[0] for r in bw) == pytest.approx(first_clean + 2.0, abs=0.01)  # offset
    n_clean = sum(1 for r in cw if r.t[0] < start + 290)
    n_bad = len({round(r.t[0], 3) for r in bw if r.t[0] < start + 290})
    assert n_bad < 0.95 * n_clean                                            # dropouts
    batt = [r for r in bad if isinstance(r, Battery) and r.sensor == "waist"]
    assert batt and batt[0].percent <= 10
    rc = np.array([r.targets[0].x for r in clean if isinstance(r, RadarTargets) and r.targets])
    rb = np.array([r.targets[0].x for r in bad if isinstance(r, RadarTargets) and r.targets])
    assert np.std(np.diff(rb)) > 3 * np.std(np.diff(rc))                     # radar noise


def test_arrival_order_is_what_the_trace_keeps() -> None:
    rs = readings(home(duration="10m"), 1)
    radar = [reading_time(r) for r in rs if isinstance(r, RadarTargets)]
    assert radar == sorted(radar) and len(radar) == 6000


def _same_reading(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, AccelBlock):
        return a.sensor == b.sensor and np.array_equal(a.t, b.t) and np.array_equal(a.xyz, b.xyz)
    return a == b


@pytest.mark.parametrize("only", [("waist",), ("radar",), ("pir",), ("door",), ("wrist", "door")])
def test_rendering_some_sensors_gives_their_readings_unchanged(only: tuple[str, ...]) -> None:
    # the live driver renders only the sensors it plays (memory: the demo home's four
    # simulated sensors each held every sensor's slice); what they read must not change,
    # imperfections (each sensor's own random stream) included
    d = home(duration="12m", start="08:00",
             incidents=[{"at": "+2m", "what": "fall", "room": "living"},
                        {"at": "+6m", "what": "door_night_exit"}],
             imperfections=[{"sensor": "waist", "dropout": 0.1, "reorder": 0.05},
                            {"sensor": "radar", "noise": 0.2}])
    full = [(t, r) for t, r in Simulation(scenario_from_dict(d), 3).items()
            if not isinstance(r, Label) and r.sensor in only]
    part = [(t, r) for t, r in Simulation(scenario_from_dict(d), 3).items(sensors=set(only))
            if not isinstance(r, Label)]
    built = [(t, r) for t, r in Simulation(scenario_from_dict(d), 3, sensors=set(only)).items()
             if not isinstance(r, Label)]   # only their event lists built (the live driver)
    assert len(part) == len(full) == len(built) > 0
    assert all(ta == tb and _same_reading(a, b) for (ta, a), (tb, b) in zip(full, part, strict=True))
    assert all(ta == tb and _same_reading(a, b) for (ta, a), (tb, b) in zip(full, built, strict=True))
    assert {r.sensor for _, r in part} == set(only)


def _listed_slice(sim: Simulation, index: int) -> list:
    """A slice as the engine rendered it before readings were made as taken (issue 25):
    every sensor's packets in a list (Simulation._wearable/_radar), sorted by sensor time,
    through imperfect.apply, then one stable sort by arrival with the labels."""
    from simulator import imperfect
    from simulator.engine import SLICE_S, _sid
    scn = sim.scn
    a = scn.start + index * SLICE_S
    b = min(scn.end, a + SLICE_S)
    items: list = []
    for spec in scn.sensors:
        imp = scn.imperfections.get(spec.id)
        rng = np.random.default_rng([sim.seed, _sid(spec.id), index])
        noise = imp.noise if imp else 0.0
        packets: list = []
        if spec.kind == "wearable":
            packets = sim._wearable(spec, a, b, rng, noise, imp.range_g if imp else None)
            level = imperfect.battery_left(imp, a, scn.start) if imp else 100.0
            packets.append((a, Battery(spec.id, a, round(max(0.0, level), 1))))
        elif spec.kind == "radar":
            packets = sim._radar(spec, a, b, rng, noise)
        packets += [p for p in sim._events.get(spec.id, []) if a <= p[0] < b]
        packets.sort(key=lambda p: p[0])
        items += imperfect.apply(packets, imp, scn.start, rng)
    items += [(lb.t, lb) for lb in sim.labels if a <= lb.t < b]
    items.sort(key=lambda p: p[0])
    return items


@pytest.mark.parametrize("case", ["home", "demo"])
def test_readings_made_as_taken_are_those_a_listed_slice_gives(case: str) -> None:
    # the perfect wearable's blocks and the radar's frames are made as the driver takes
    # them (memory, issue 25): the stream, its order (ties included) and every value must
    # be those of the listed rendering, for perfect and imperfect sensors side by side
    if case == "demo":
        scn = load_scenario(SCENARIOS / "demo.toml")
    else:
        scn = scenario_from_dict(home(
            duration="25m", start="08:00",
            incidents=[{"at": "+2m", "what": "fall", "room": "living"},
                       {"at": "+6m", "what": "door_night_exit"}, {"at": "+14m", "what": "sos"}],
            imperfections=[{"sensor": "waist", "dropout": 0.1, "reorder": 0.05}]))
    sim = Simulation(scn, 5)
    made = list(sim.items())
    listed = [item for i in range(sim.slices) for item in _listed_slice(sim, i)]
    kinds = {type(r).__name__ for _, r in made}
    assert {"AccelBlock", "RadarTargets", "HeartRate", "Battery", "Label"} <= kinds
    assert len(made) == len(listed) > 3000
    assert all(ta == tb and _same_reading(a, b) for (ta, a), (tb, b) in zip(made, listed, strict=True))


async def test_simulated_driver_plays_a_scenario_on_the_wall_clock() -> None:
    import time

    from drivers import registry
    from drivers.base import SensorInfo

    cls = registry.load("simulated")
    driver = cls(SensorInfo("sim", None, "simulated"),
                 cls.Settings(scenario="demo", speed=20.0, sensors=["wearable"]))
    got = []
    wall0: float | None = None       # from the first reading: the feed process's start-up
    async for r in driver.readings():  # (seconds on a loaded 2-core CI runner) is not play
        wall0 = time.time() if wall0 is None else wall0
        got.append(r)
        if time.time() - wall0 > 1.5:
            break
    assert got and {r.sensor for r in got} == {"wearable"}
    first = reading_time(got[0])
    assert wall0 is not None and abs(first - wall0) < 1.0   # stamped "now", not 2026-03-02
    span = reading_time(got[-1]) - first
    assert 15 < span < 40                                 # ~1.5 s of wall time at 20x


def test_simulated_driver_settings_need_one_source() -> None:
    from pydantic import ValidationError

    from simulator.live import SimulatedSettings
    with pytest.raises(ValidationError, match="exactly one"):
        SimulatedSettings()
    with pytest.raises(ValidationError, match="exactly one"):
        SimulatedSettings(scenario="demo", trace="x.mcap")


def _segment(act: str, dur: float = 6.0, **params):
    from simulator.timeline import LYING, SEATED, UPRIGHT, Segment
    g_end = {"upright": UPRIGHT, "seated": SEATED, "lying": LYING["supine"]}
    seg = Segment(1000.0, 1000.0 + dur, act, "living", params=dict(params))
    start = UPRIGHT if act not in ("stand_up", "get_up_bed", "get_up_floor") else (
        SEATED if act == "stand_up" else LYING["supine"])
    seg.g0 = seg.w0 = tuple(start)
    seg.g1 = seg.w1 = tuple(g_end[seg.posture])
    return seg


def test_each_activity_has_its_own_signature() -> None:
    from simulator.wearable import segment_accel
    rng = np.random.default_rng(0)

    def mag(act: str, **params) -> np.ndarray:
        seg = _segment(act, **params)
        t = seg.t0 + np.arange(int(seg.dur * 50)) / 50
        return np.linalg.norm(segment_accel(seg, t, False, rng, 0.0), axis=1)

    for act in ("stand", "sit", "lie", "sleep", "floor_still"):
        m = mag(act)
        assert abs(np.median(m) - 1.0) < 0.05, act                  # gravity only
    assert mag("stairs", step_hz=1.6).std() > mag("walk", step_hz=1.6).std()
    assert mag("walk", step_hz=1.6).std() > 5 * mag("lie").std()
    hard, soft = mag("sit_down", dur=1.6, hard=True), mag("sit_down", dur=1.6, hard=False)
    assert hard.max() > 1.8 > soft.max() > 1.1                       # hard sits look fall-ish
    assert mag("floor_struggle").std() > 3 * mag("floor_still").std()
    assert mag("fall", dur=1.4, kind="forward").max() > 2.5
    assert mag("fall", dur=2.0, kind="fainting").max() < mag("fall", dur=1.4, kind="backward").max()


def test_point_clouds_surround_the_tracked_person() -> None:
    d = home(duration="10m")
    d["sensors"] = [{"id": "radar", "kind": "radar", "driver": "ti_mmwave", "room": "living",
                     "rate_hz": 10, "points": True}]
    rs = readings(d, 4)
    targets = {r.frame: r for r in rs if isinstance(r, RadarTargets)}
    clouds = [r for r in rs if type(r).__name__ == "RadarPoints"]
    assert len(clouds) == len(targets) == 6000
    seen = [c for c in clouds if targets[c.frame].targets]
    assert seen and all(len(c.points) == 0 for c in clouds if not targets[c.frame].targets)
    for c in seen[::200]:
        g = targets[c.frame].targets[0]
        if len(c.points):
            centre = c.points[:, :2].mean(axis=0)
            assert np.hypot(centre[0] - g.x, centre[1] - g.y) < 0.5
            assert (c.points[:, 2] >= 0).all() and (c.points[:, 2] <= 1.8).all()


async def test_a_sensor_configured_under_a_scenario_id_plays_only_itself() -> None:
    import time

    from drivers import registry
    from drivers.base import SensorInfo

    cls = registry.load("simulated")
    driver = cls(SensorInfo("radar-living", "living", "simulated"),
                 cls.Settings(scenario="demo", speed=50.0))
    got = []
    wall0: float | None = None       # from the first reading, as above: start-up is not play
    async for r in driver.readings():
        wall0 = time.time() if wall0 is None else wall0
        got.append(r)
        if time.time() - wall0 > 1.0:
            break
    assert len(got) > 100 and {r.sensor for r in got} == {"radar-living"}
