"""One home tracker shared by the home's detectors gives exactly what a tracker of their own
gave each of them (detectors/home_views.py over detectors/activity.py): per reading, and in the detectors' findings.

The stream is a seeded mix of every reading kind the tracker looks at: radars at 2 Hz in
two rooms (walking, still, nobody, someone lying still), PIRs, inner and outer doors with days away, a bed
presence sensor, a wearable's blocks (still and moving) and heart rate, fed in uneven
batches as the live gateway and replay do."""

from __future__ import annotations

import copy
import math
import pickle
import random
from typing import Any

import numpy as np
import pytest

from detectors.activity import STALE_PRESENCE_S, HomeTracker
from detectors.base import Detection, DetectorSettings, SensorMeta, TimedDetector
from detectors.home_views import HomeTrackers, HomeView
from detectors.registry import build, load
from sensordata.readings import AccelBlock, Battery, Contact, HeartRate, Motion, Presence, RadarTargets, Target, end_time
from tests.support.home_stream import TZ, at

SENSORS = {
    "pir_hall": SensorMeta("pir_hall", "zigbee2mqtt", room="hall"),
    "pir_kitchen": SensorMeta("pir_kitchen", "zigbee2mqtt", room="kitchen"),
    "pir_bath": SensorMeta("pir_bath", "zigbee2mqtt", room="bathroom"),
    "door": SensorMeta("door", "zigbee2mqtt", room="hall", role="outer_door"),
    "bath_door": SensorMeta("bath_door", "zigbee2mqtt", room="bathroom"),
    "bed": SensorMeta("bed", "ld2410", room="bedroom", role="bed"),
    "radar_living": SensorMeta("radar_living", "ti_mmwave", room="living_room"),
    "radar_bath": SensorMeta("radar_bath", "ti_mmwave", room="bathroom"),
    "band": SensorMeta("band", "polar_pmd", room=None, placement="waist"),
}
HOME_DETECTORS = ("inactivity", "not_up", "dwell", "night_door", "daily_summary", "trends",
                  "sensor_stuck")


def home_stream(hours: float, seed: int) -> list[Any]:
    """Readings in sensor-time order: busy spells, quiet spells and spells away."""
    rng = random.Random(seed)
    t, end = at(0, "06:00"), at(0, "06:00") + hours * 3600.0
    out: list[Any] = []
    mode = "busy"
    room = "radar_living"
    while t < end:
        if rng.random() < (0.002 if mode == "busy" else 0.03):
            mode = rng.choice(["busy", "quiet", "away", "stuck_bed", "fallen"])
            if mode == "away" or rng.random() < 0.3:
                out += [Contact("door", t, True), Contact("door", t + 8, False)]
                t += 10
            if mode == "fallen":   # walked into the bathroom, then lies still there
                out.append(RadarTargets("radar_bath", t, 0, (Target(1, 0.5, 1.0, 1.5, 0.5, 0.0, 0.0, 1.5),)))
                t += 1.0
        if mode == "busy":
            if rng.random() < 0.01:
                room = rng.choice(["radar_living", "radar_bath"])
            other = "radar_bath" if room == "radar_living" else "radar_living"
            v = rng.choice([0.0, 0.05, 0.3, 0.8])
            out.append(RadarTargets(room, t, 0, (Target(1, 1.0, 2.0, 1.6, v, v / 2, 0.0, 1.6),)))
            out.append(RadarTargets(other, t + 0.1, 0, ()))
            if rng.random() < 0.02:
                out.append(Motion(rng.choice(["pir_hall", "pir_kitchen", "pir_bath"]), t + 0.2,
                                  rng.random() < 0.7))
            if rng.random() < 0.005:
                out.append(Contact("bath_door", t + 0.3, rng.random() < 0.5))
        elif mode == "quiet":
            out.append(RadarTargets(room, t, 0, (Target(1, 1.0, 2.0, 0.4, 0.0, 0.0, 0.0, 0.4),)
                                    if rng.random() < 0.5 else ()))
        elif mode == "fallen":
            out.append(RadarTargets("radar_bath", t, 0, (Target(1, 0.5, 1.0, 0.3, 0.0, 0.0, 0.0, 0.3),)))
        elif mode == "away":
            if rng.random() < 0.01:    # a lone PIR trigger in the empty flat
                out.append(Motion(rng.choice(["pir_hall", "pir_kitchen"]), t, True))
            out.append(Battery("pir_hall", t, 90.0))
        else:
            if rng.random() < 0.05:
                out.append(Presence("bed", t, rng.random() < 0.8, rng.random() < 0.1))
        if rng.random() < 0.1:
            ts = t + np.arange(25) / 50.0
            g = 0.2 if rng.random() < 0.3 else 0.001
            xyz = np.tile([0.0, 0.0, 1.0], (25, 1)) + rng.gauss(0, g) * np.sin(np.arange(25))[:, None]
            out.append(AccelBlock("band", ts, xyz))
            out.append(HeartRate("band", t + 0.4, 70, contact=True))
        if rng.random() < 0.01:
            out.append(AccelBlock("band", np.zeros(0), np.zeros((0, 3))))   # an empty block
        t += 0.5 if mode == "busy" else rng.uniform(5.0, 120.0)
    return out


def batches(stream: list[Any], seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(stream):
        n = rng.choice([1, 3, 40, 400])
        out.append(stream[i:i + n])
        i += n
    return out


@pytest.mark.parametrize("accel_std_g", [0.03, float("inf")], ids=["wearable_counts", "wearable_ignored"])
def test_every_view_of_a_shared_tracker_sees_what_its_own_tracker_saw(accel_std_g):
    stream = home_stream(30, seed=3)
    own = HomeTracker(SENSORS, accel_std_g=accel_std_g)
    pool = HomeTrackers(SENSORS)
    views = [pool.view(accel_std_g=accel_std_g) for _ in range(3)]
    quiet = pool.view(accel_std_g=accel_std_g)
    assert len(pool) == 1
    kinds: set[str | None] = set()
    flips = 0
    for batch in batches(stream, seed=4):
        pool.track(batch)
        expected = []
        for r in batch:
            if isinstance(r, AccelBlock) and not len(r.t):
                assert own.update(r) is None
                continue
            before = (own.away, own.present_now, own.last_activity)   # what a deadline sees
            what = own.update(r)
            # the rule as it was written before it was shared: any fresh presence
            present = any(own._now - s < STALE_PRESENCE_S for s in own._present.values())
            assert own.present_now == present
            expected.append((r, what, own.away, present, own.last_activity, before))
        for view in views:
            at_advance: list[tuple[Any, ...]] = []

            def advance(t: float, out: Any, view: Any = view, at_advance: Any = at_advance) -> None:
                at_advance.append((view.away, view.present_now, view.last_activity))

            got = [(r, what, view.away, view.present_now, view.last_activity, at_advance[-1])
                   for r, _, what in view.seen(batch, advance, None)]
            assert got == expected
        # a detector that leaves out radar frames that saw nobody: the rest as before, and
        # its time still moved to every reading
        times: list[float] = []
        got = [(r, what, quiet.away, quiet.present_now, quiet.last_activity)
               for r, _, what in quiet.seen(batch, lambda t, out: times.append(t), None,  # noqa: B023 - used at once
                                            empty_radar=False)]
        assert got == [e[:5] for e in expected if e[1] is not None or not isinstance(e[0], RadarTargets)]
        assert len(times) == len(expected)
        pool.release()
        kinds |= {e[1] for e in expected}
        flips += sum(1 for a, b in zip(expected, expected[1:], strict=False) if a[2] != b[2])
    assert kinds == {None, "inside", "present", "door"}
    assert flips >= 2, "the stream must go away and come back"
    assert own.state() == views[0].state()


def _settings(name: str) -> Any:
    extra: dict[str, Any] = {
        "inactivity": {"hours": 1.0, "timezone": TZ},
        "not_up": {"timezone": TZ, "min_days": 3},
        "dwell": {"limits_minutes": {"bathroom": 20.0, "living_room": 40.0}},
        "night_door": {"timezone": TZ, "night": "00:00-23:59", "not_back_minutes": 5.0},
        "daily_summary": {"timezone": TZ},
        "trends": {"timezone": TZ},
        "sensor_stuck": {"motion_minutes": 10.0, "presence_hours": 1.0, "elsewhere_minutes": 1.0},
    }[name]
    return load(name).Settings(**extra)


def _run(detectors: dict[str, Any], pool: HomeTrackers | None, stream: list[Any]) -> dict[str, list[Detection]]:
    found: dict[str, list[Detection]] = {n: [] for n in detectors}
    for batch in batches(stream, seed=5):
        if pool is not None:
            pool.track(batch)
        for name, det in detectors.items():
            found[name] += det.feed(batch)
        if pool is not None:
            pool.release()
        times = [t for r in batch if (t := end_time(r)) is not None]
        for name, det in detectors.items():   # the daemon's clock, between batches
            found[name] += det.tick(max(times, default=0.0) + 30.0)
    return found


def test_the_home_detectors_find_the_same_with_one_shared_tracker_as_with_their_own():
    stream = home_stream(4 * 24, seed=7)
    pool = HomeTrackers(SENSORS)
    shared = {n: build(n, _settings(n), SENSORS, TZ, pool) for n in HOME_DETECTORS}
    alone = {n: load(n)(_settings(n), SENSORS, TZ) for n in HOME_DETECTORS}
    assert len(pool) == 2   # wearables count as activity, or not (not_up, trends)
    assert all(d.homes is not pool for d in alone.values())
    _assert_same(shared, _run(shared, pool, stream), alone, _run(alone, None, stream))


def test_a_shared_tracker_not_fed_by_its_pool_refuses_rather_than_count_twice():
    pool = HomeTrackers(SENSORS)
    a, b = pool.view(), pool.view()
    batch = [Motion("pir_hall", at(0, "08:00"), True)]
    with pytest.raises(RuntimeError, match="HomeTrackers.track"):
        list(a.seen(batch, lambda t, out: None, None))
    pool.track(batch)
    assert [w for _, _, w in a.seen(batch, lambda t, out: None, None)] == ["inside"]
    assert [w for _, _, w in b.seen(batch, lambda t, out: None, None)] == ["inside"]


STEPPING = ("inactivity", "dwell", "night_door", "not_up", "trends", "daily_summary",
            "sensor_stuck")   # they declare next_due


def test_stepping_over_empty_radar_frames_until_next_due_changes_nothing():
    """`HomeView.seen` with `due` (TimedDetector.next_due) leaves out the `_advance` calls
    of radar frames that saw nobody before the detector's next due time: the very findings
    and state of calling `_advance` for every frame (next_due -inf, the default)."""
    stream = home_stream(4 * 24, seed=7)
    pool_a, pool_b = HomeTrackers(SENSORS), HomeTrackers(SENSORS)
    stepping = {n: build(n, _settings(n), SENSORS, TZ, pool_a) for n in HOME_DETECTORS}
    every = {n: build(n, _settings(n), SENSORS, TZ, pool_b) for n in HOME_DETECTORS}
    calls = {"stepping": 0, "every": 0}

    def counted(det: Any, key: str) -> None:
        advance = det._advance

        def counting(t: float, out: list[Detection]) -> None:
            calls[key] += 1
            advance(t, out)
        det._advance = counting

    for name in STEPPING:
        assert stepping[name].next_due() is not None
        every[name].next_due = lambda: -math.inf   # promises nothing: every call
        counted(stepping[name], "stepping")
        counted(every[name], "every")
    got, expected = _run(stepping, pool_a, stream), _run(every, pool_b, stream)
    assert got == expected
    kinds = {d.type for name in STEPPING for d in expected[name]}
    assert {"inactivity", "dwell_exceeded", "door_night_not_back"} <= kinds, kinds
    for name in HOME_DETECTORS:
        assert stepping[name].state() == every[name].state(), name
    assert calls["stepping"] < 0.7 * calls["every"], calls   # the frames were stepped over


class _Every5Min(TimedDetector[DetectorSettings]):
    """Due every five minutes of sensor time: notes the home as `_advance` sees it then,
    and every reading it is handed; `step` chooses whether the view steps over frames."""

    name = "every_5_min"

    def setup(self) -> None:
        self.home = self.homes.view()
        self.step = True
        self.now = -math.inf
        self.due_at = -math.inf
        self.log: list[tuple[Any, ...]] = []
        self.calls = 0

    def feed(self, readings: Any) -> list[Detection]:
        out: list[Detection] = []
        for _, t, what in self.home.seen(readings, self._advance, out, empty_radar=False,
                                         due=self.next_due if self.step else None):
            self.log.append(("reading", t, what))
        return out

    def next_due(self) -> float:
        return self.due_at

    def _advance(self, t: float, out: list[Detection]) -> None:
        self.calls += 1
        if t <= self.now:
            return
        self.now = t
        if t < self.due_at:
            return
        self.log.append(("due", t, self.home.away, self.home.present_now, self.home.last_activity))
        self.due_at = t + 300.0


def test_the_view_steps_over_empty_frames_only_where_nothing_is_due():
    """Seen from a detector: the same readings, the same home at each due time (the
    frames just before it included), the same clock after every batch."""
    stream = home_stream(2 * 24, seed=11)
    stepping = _Every5Min(DetectorSettings(), SENSORS)
    every = _Every5Min(DetectorSettings(), SENSORS)
    every.step = False
    for batch in batches(stream, seed=12):
        stepping.feed(batch)
        every.feed(batch)
        assert stepping.now == every.now
        assert (stepping.home.away, stepping.home.present_now) == (every.home.away,
                                                                  every.home.present_now)
    assert stepping.log == every.log
    dues = [e for e in every.log if e[0] == "due"]
    assert len(dues) > 200 and len({e[3] for e in dues}) == 2
    assert stepping.calls < 0.7 * every.calls, (stepping.calls, every.calls)



class _EveryFrameView(HomeView):
    """A view as it was before stepping: every radar frame that saw nobody handed on, and
    `advance` called for each, whatever the detector asked for."""

    __slots__ = ()

    def seen(self, readings: Any, advance: Any, out: Any, *, empty_radar: Any = True,
             due: Any = None) -> Any:
        return super().seen(readings, advance, out)


def test_the_home_detectors_find_the_same_as_when_every_empty_frame_was_handed_on():
    """Leaving radar frames that saw nobody out of the detectors' loops (`empty_radar`)
    and stepping over them until `next_due` changes nothing: the same findings and the
    same state as handing every frame to every detector and calling `_advance` for each."""
    for seed in (7, 8):
        stream = home_stream(4 * 24, seed=seed)
        pool_a, pool_b = HomeTrackers(SENSORS), HomeTrackers(SENSORS)
        new = {n: build(n, _settings(n), SENSORS, TZ, pool_a) for n in HOME_DETECTORS}
        old = {n: build(n, _settings(n), SENSORS, TZ, pool_b) for n in HOME_DETECTORS}
        for det in old.values():
            owner = det.features if hasattr(det, "features") else det   # trends' view is its features'
            owner.home = _EveryFrameView(owner.home.tracker)
        _assert_same(new, _run(new, pool_a, stream), old, _run(old, pool_b, stream))


def _assert_same(dets: dict[str, Any], got: Any, refs: dict[str, Any], expected: Any) -> None:
    """The same findings, every kind of home finding among them, and the same end state."""
    assert got == expected
    kinds = {d.type for found in expected.values() for d in found}
    assert {"inactivity", "dwell_exceeded", "door_night_not_back", "daily_summary",
            "sensor_stuck"} <= kinds, kinds
    for name in HOME_DETECTORS:
        assert dets[name].state() == refs[name].state(), name


def _without_clock(det: Any) -> bytes:
    return pickle.dumps({k: v for k, v in vars(det).items() if k not in ("_now", "homes")})


@pytest.mark.parametrize("name", STEPPING)
def test_before_next_due_advance_only_moves_the_clock(name):
    """The promise each declaring detector makes (detectors/base.py), checked where it
    counts: at many points of a seeded home, `_advance` at times before `next_due()` (just
    before it, and every ten minutes up to it) appends nothing and changes nothing but
    the clock; a detector that declared too late a time would change something there."""
    stream = home_stream(4 * 24, seed=9)
    pool = HomeTrackers(SENSORS)
    det = build(name, _settings(name), SENSORS, TZ, pool)
    probed = 0
    for k, batch in enumerate(batches(stream, seed=10)):
        pool.track(batch)
        det.feed(batch)
        pool.release()
        due = det.next_due()
        if k % 7 or not -math.inf < due:
            continue
        now = max(t for r in batch if (t := end_time(r)) is not None)
        times = ([due - 0.001] if due < math.inf else []) + [
            t for j in range(1, 150) if (t := now + 600.0 * j) < due]
        for t in times:
            if t <= now:
                continue
            probe = copy.deepcopy(det)
            before = _without_clock(probe)
            out: list[Detection] = []
            probe._advance(t, out)
            assert out == [] and _without_clock(probe) == before, (name, t - due)
            probed += 1
    assert probed > 50, probed
