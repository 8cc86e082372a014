"""Routine trends (detectors/day_features.py, detectors/trends.py): a day in a nurse's
numbers, the home's own baseline, and `routine_change` for sustained changes only.

Fast by construction: days are built minute by minute here, or come from the simulator's
event sensors (Simulation.event_readings) without rendering a trace; the one end-to-end
replay is tests/gateway/report/test_care_report_browser.py.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detectors.base import SensorMeta
from detectors.day_features import FEATURES
from detectors.trends import TrendsDetector, TrendSettings
from gateway.catalogue import describe, render
from gateway.config import parse_config
from gateway.pipeline import Pipeline, sensor_meta
from gateway.trace.replay import config_for_streams
from sensordata.readings import Contact, Motion, RadarTargets, Target
from simulator.engine import Simulation
from simulator.scenario import Change, ScenarioError, load_scenario, scenario_from_dict

HOME = "Europe/Helsinki"
TZ = ZoneInfo(HOME)       # the fixtures' days cross the end of March: DST on day 27
SCENARIO = Path(__file__).resolve().parents[2] / "simulator/scenarios/home-trends.toml"
SENSORS = {f"pir-{r}": SensorMeta(f"pir-{r}", "zigbee2mqtt", room=r)
           for r in ("bedroom", "bathroom", "kitchen", "living", "hall")}
SENSORS["door"] = SensorMeta("door", "zigbee2mqtt", room="hall", role="outer_door")


def at(day: int, hh: int, mm: int = 0) -> float:
    """Local wall-clock time on day `day` (0 = Monday 2 March 2026); hh may pass 24."""
    d = dt.date(2026, 3, 2) + dt.timedelta(days=day + hh // 24)
    return dt.datetime.combine(d, dt.time(hh % 24, mm), TZ).timestamp()


def stay(room: str, t0: float, minutes: float) -> list[Motion]:
    """Someone moving in `room`: a PIR start every 2 min, each ending 60 s later."""
    out = []
    for k in range(max(1, int(minutes // 2))):
        t = t0 + k * 120
        out += [Motion(f"pir-{room}", t, True), Motion(f"pir-{room}", t + 60, False)]
    return out


def ordinary_day(day: int, *, up: tuple[int, int] = (7, 0), trips: int = 1,
                 out_hours: float = 0.0, kitchen: int = 3) -> list:
    """Up at `up`, kitchen `kitchen` times, living room, bed at 22:30; `trips` bathroom
    visits in the night after it; `out_hours` away from 14:00."""
    r: list = []
    t = at(day, *up)
    r += stay("bathroom", t, 10)
    t += 15 * 60
    for _k in range(kitchen):
        r += stay("kitchen", t, 20)
        r += stay("living", t + 25 * 60, 120)
        t += 4 * 3600
    if out_hours:
        out = at(day, 14)
        r = [x for x in r if not out - 60 <= x.t <= out + out_hours * 3600 + 60]
        r += [Contact("door", out, True), Contact("door", out + 5, False),
              Contact("door", out + out_hours * 3600, True),
              Contact("door", out + out_hours * 3600 + 5, False)]
        r += stay("hall", out + out_hours * 3600 + 10, 4)
    r += stay("living", max(t, at(day, 19)), (at(day, 22, 20) - max(t, at(day, 19))) / 60)
    r += stay("bathroom", at(day, 22, 20), 8)
    r += stay("bedroom", at(day, 22, 30), 4)
    for k in range(trips):
        r += stay("bathroom", at(day, 25 + k, 30), 6)   # 01:30, 02:30, ... the next night
    return sorted(r, key=lambda x: x.t)


def run(days: list, settings: TrendSettings | None = None, sensors=SENSORS):
    det = TrendsDetector(settings or TrendSettings(), sensors, HOME)
    out = det.feed(sorted((x for d in days for x in d), key=lambda x: x.t))
    out += det.tick(at(len(days) + 1, 14))
    return det, out


def features(det: TrendsDetector, day: int) -> dict[str, float]:
    key = dt.date(2026, 3, 2).toordinal() + day
    return dict(zip(FEATURES, det.history[key], strict=True))


def test_a_day_in_numbers_a_nurse_understands():
    det, _ = run([ordinary_day(d, trips=2 if d == 2 else 1, out_hours=3 if d == 2 else 0)
                  for d in range(5)])
    f = features(det, 2)
    assert f["up_time"] == 7 * 60, "the morning started at 07:00"
    assert 22 * 60 + 20 <= f["bed_time"] <= 22 * 60 + 30, "the evening ended at bedtime"
    assert f["night_bathroom"] == 2 and f["night_up"] == 2, "two trips in the night"
    assert 8.0 <= f["rest_hours"] <= 8.7
    assert f["away_hours"] == pytest.approx(3.0, abs=0.05), "three hours out"
    assert f["kitchen_visits"] == 2, "the third kitchen visit fell in the time out"
    assert features(det, 1)["kitchen_visits"] == 3 and f["meal_kitchen_minutes"] >= 10
    assert f["transitions"] >= 8 and 8 <= f["active_hours"] <= 16
    assert math.isnan(f["walking_speed"]), "no radar, no walking speed"
    assert features(det, 1)["away_hours"] == 0 and features(det, 1)["night_bathroom"] == 1
    assert dt.date(2026, 3, 2).toordinal() - 1 not in det.history, "a day not watched whole is not learned"


def test_skipped_meals_and_the_length_of_an_outing():
    """Kitchen visits at 07:15, 11:15 and 15:15: breakfast and lunch in the kitchen, the
    dinner window (16-20) without; no kitchen at all: three; a window mostly away is
    lunch out, not a skipped meal. An outing's length is known only on a day with one."""
    days = [ordinary_day(0), ordinary_day(1), ordinary_day(2, kitchen=0), ordinary_day(3, out_hours=3),
            ordinary_day(4)]
    lunch_out = at(4, 11, 30)
    days[4] = [x for x in days[4] if not lunch_out - 60 <= x.t <= lunch_out + 2.5 * 3600] + [
        Contact("door", lunch_out, True), Contact("door", lunch_out + 5, False),
        Contact("door", lunch_out + 2.5 * 3600, True), Contact("door", lunch_out + 2.5 * 3600 + 5, False),
        *stay("hall", lunch_out + 2.5 * 3600 + 10, 4)]
    days[4].sort(key=lambda x: x.t)
    det, _ = run(days + [ordinary_day(5)])
    assert features(det, 1)["meals_no_kitchen"] == 1, "dinner not in the kitchen"
    assert features(det, 2)["meals_no_kitchen"] == 3, "no meal in the kitchen"
    assert features(det, 3)["meals_no_kitchen"] == 1, "an hour of the dinner window away is not lunch out"
    assert features(det, 4)["meals_no_kitchen"] == 1, "lunch out (2 of its 3 hours away) is not a skipped meal"
    assert features(det, 3)["outing_hours"] == pytest.approx(3.0, abs=0.05)
    assert features(det, 4)["outing_hours"] == pytest.approx(2.5, abs=0.05)
    assert math.isnan(features(det, 1)["outing_hours"]), "no outing, no outing length"


def test_meals_skipped_for_two_weeks_are_a_change_and_one_day_is_not():
    """Up at 08:00, kitchen at 08:15, 12:15 and 16:15: every meal in the kitchen. One day
    without the kitchen at all (ill for a day) raises nothing; from day 40 dinner is
    skipped (no 16:15 visit): more mealtimes without the kitchen, found within 14 days."""
    days = [ordinary_day(d, up=(8, 0), kitchen=0 if d == 33 else 3) for d in range(60)]
    _, out = run(days)
    assert out == [], out
    days = [ordinary_day(d, up=(8, 0), kitchen=2 if d >= 40 else 3) for d in range(60)]
    _, out = run(days)
    skipped = [d for d in out if FEATURES[int(d.evidence["feature"])] == "meals_no_kitchen"]
    assert skipped and skipped[0].evidence["direction"] == 1, out
    assert skipped[0].evidence["usual"] == 0 and skipped[0].evidence["recent"] >= 0.5
    assert (skipped[0].occurred_at - at(40, 0)) / 86400 <= 14
    assert "ateria-ajat ilman keittiön käyttöä: enemmän" in render("routine_change", skipped[0].evidence)["fi"]
    assert "måltider utan köksbesök: mer" in render("routine_change", skipped[0].evidence)["sv"]


def test_a_toilet_trip_does_not_end_the_night_but_a_late_morning_moves_it():
    det, _ = run([ordinary_day(d, up=(9, 30) if d == 3 else (7, 0)) for d in range(5)])
    assert features(det, 2)["up_time"] == 7 * 60
    assert features(det, 3)["up_time"] == 9 * 60 + 30
    assert features(det, 2)["rest_hours"] < features(det, 2 + 0)["rest_hours"] + 1


def test_walking_speed_where_a_radar_tracks():
    sensors = {**SENSORS, "radar": SensorMeta("radar", "ti_mmwave", room="living")}
    days = [ordinary_day(d) for d in range(3)]
    walk = [RadarTargets("radar", at(1, 10) + i / 10, i, (Target(1, 1.0, 2.0, 1.0, 0.48, 0.36),))
            for i in range(200)] + [RadarTargets("radar", at(1, 10) + 20.05, 200, ())]
    det, _ = run(days + [walk], sensors=sensors)
    assert features(det, 1)["walking_speed"] == pytest.approx(0.6, abs=0.02)


def test_silent_while_learning_then_a_sustained_change_is_told_once():
    learn = TrendSettings().learn_days
    days = [ordinary_day(d, trips=1) for d in range(learn)]
    det, out = run(days)
    assert out == [], "nothing before the baseline is learned"
    days += [ordinary_day(d, trips=3) for d in range(learn, learn + 19)]   # two more trips a night
    det, out = run(days)
    assert [FEATURES[int(d.evidence["feature"])] for d in out].count("night_bathroom") == 1, out
    first = next(d for d in out if FEATURES[int(d.evidence["feature"])] == "night_bathroom")
    ev = first.evidence
    assert ev["direction"] == 1 and ev["usual"] == 1 and ev["recent"] >= 1.5
    days_after = (first.occurred_at - at(learn, 0)) / 86400
    assert days_after <= 14, f"found {days_after:.1f} days after it began"
    assert describe("routine_change").kind == "event", "never an alarm"
    assert all(d.type == "routine_change" for d in out)


def test_one_odd_night_is_not_a_change():
    days = [ordinary_day(d, trips=1) for d in range(40)]
    days[30] = ordinary_day(30, trips=5)
    days[31] = ordinary_day(31, up=(10, 0))
    _, out = run(days)
    assert out == []


def noisy_days(n: int, seed: int, *, later_from: int | None = None, later_min: int = 0) -> list:
    """`n` ordinary days that vary as a person's do: up at 07:00 +- 20 min, Poisson(1.3)
    bathroom trips a night, 2 or 3 kitchen visits, 1-3 h out on about 3 days a week;
    from day `later_from` on, mornings start `later_min` minutes later."""
    rng = np.random.default_rng([seed, 5])
    days = []
    for d in range(n):
        up = 7 * 60 + float(rng.normal(0, 20)) + (later_min if later_from is not None and d >= later_from else 0)
        out = float(rng.uniform(1, 3)) if rng.random() < 3 / 7 else 0.0
        days.append(ordinary_day(d, up=(int(up // 60), int(up % 60)), trips=min(int(rng.poisson(1.3)), 4),
                                 out_hours=round(out, 2), kitchen=int(rng.integers(2, 4))))
    return days


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_noisy_stable_routine_raises_no_change_in_90_days(seed):
    _, out = run(noisy_days(90, seed))
    assert out == [], [(FEATURES[int(d.evidence["feature"])], d.evidence) for d in out]


def test_a_sustained_shift_of_one_and_a_half_spreads_is_found_within_14_days():
    change = 45
    _, out = run(noisy_days(90, 4, later_from=change, later_min=30))   # 20 min spread, 30 min later
    assert [d for d in out if d.occurred_at < at(change, 0)] == [], "nothing before it"
    later = [d for d in out if FEATURES[int(d.evidence["feature"])] == "up_time" and d.evidence["direction"] == 1]
    assert later, out
    assert (later[0].occurred_at - at(change, 0)) / 86400 <= 14


def test_night_trips_are_counts_a_stray_trip_after_quiet_nights_is_not_a_change():
    """A resident who never got up at night: a trip now and then is not a change (the
    count's spread is at least Poisson's), a trip most nights for two weeks is."""
    stray = {33, 36, 41, 47, 52}
    days = [ordinary_day(d, trips=1 if d in stray else 0) for d in range(60)]
    _, out = run(days)
    assert out == [], out
    days = [ordinary_day(d, trips=1 if d >= 40 and d % 7 not in (2, 5) else 0) for d in range(60)]
    _, out = run(days)
    more = [d for d in out if FEATURES[int(d.evidence["feature"])] == "night_bathroom"]
    assert more and more[0].evidence["direction"] == 1
    assert (more[0].occurred_at - at(40, 0)) / 86400 <= 14


def test_fewer_active_hours_in_weeks_with_more_time_out_are_not_less_activity(monkeypatch):
    """From day 40, four hours out every afternoon: time away rose (told), and the hours
    active at home fell by as much, which is the same change, not a decline of activity.
    Without the gate (EXPLAINED_BY emptied) the same days would tell "less active"."""
    days = [ordinary_day(d, out_hours=4 if d >= 40 else 0) for d in range(60)]
    _, out = run(days)
    told = {(FEATURES[int(d.evidence["feature"])], int(d.evidence["direction"])) for d in out}
    assert ("away_hours", 1) in told and ("active_hours", -1) not in told, told
    monkeypatch.setattr("detectors.trends.EXPLAINED_BY", {})
    _, out = run(days)
    assert ("active_hours", -1) in {(FEATURES[int(d.evidence["feature"])], int(d.evidence["direction"]))
                                    for d in out}


def test_the_texts_name_the_change_in_three_languages():
    ev = {"feature": FEATURES.index("up_time"), "direction": 1, "usual": 420, "recent": 515}
    text = render("routine_change", ev)
    assert text["fi"].startswith("Muutos päivärytmissä – aamun alkaminen: myöhemmin")
    assert "07.00" in text["fi"] and "08.35" in text["fi"]
    assert "morgonens början: senare" in text["sv"]
    assert "start of the morning: later than usual (last week 08:35, usually 07:00)" in text["en"]
    ev = {"feature": FEATURES.index("kitchen_visits"), "direction": -1, "usual": 9.6, "recent": 7.1}
    assert "keittiökäynnit: vähemmän" in render("routine_change", ev)["fi"]
    assert "7,1 /vrk" in render("routine_change", ev)["fi"]


def test_the_learned_days_survive_a_restart():
    cfg = parse_config({"gateway_id": "gw-1", "site_id": "site-1", "timezone": HOME,
                        "rooms": [{"id": r} for r in ("bedroom", "bathroom", "kitchen", "living", "hall")],
                        "sensors": [{"id": s, "type": "demo", "room": m.room,
                                     **({"role": m.role} if m.role else {})}
                                    for s, m in SENSORS.items()]}, env={})
    first = Pipeline(cfg)
    first.feed([x for d in range(10) for x in ordinary_day(d)])
    state = first.detector_states()["trends"]
    assert len(state["days"]) >= 8
    second = Pipeline(cfg)
    second.restore_states({"trends": state})
    again = second.detector_states()["trends"]
    assert again["days"] == state["days"] and again["cusum"] == state["cusum"]


def test_days_learned_before_an_upgrade_added_features_are_kept():
    """A state kept by a version with fewer features restores by name: the features added
    since are unknown on those days, the rest is not learned again."""
    det, _ = run([ordinary_day(d) for d in range(10)])
    state = det.state()
    old = [f for f in FEATURES if f not in ("meals_no_kitchen", "outing_hours")]
    cols = [FEATURES.index(f) for f in old]
    state = {**state, "features": old,
             "days": [[row[0], *[row[1 + i] for i in cols]] for row in state["days"]]}
    again = TrendsDetector(TrendSettings(), SENSORS, HOME)
    again.restore(state)
    assert sorted(again.history) == sorted(det.history)
    day = max(det.history)
    for i, f in enumerate(FEATURES):
        got, want = again.history[day][i], det.history[day][i]
        assert math.isnan(got) if f not in old else got == want or (math.isnan(got) and math.isnan(want)), f
    unknown = TrendsDetector(TrendSettings(), SENSORS, HOME)
    unknown.restore({**state, "features": [*old, "no_such_feature"]})
    assert unknown.history == {}, "a state from a newer version is not guessed at"


# --- the simulated homes of benchmarks/trends.py, shortened --------------------------------

def simulated(kind: str | None, seed: int, days: int = 60, from_day: int = 35):
    scn = load_scenario(SCENARIO).with_days(days)
    if kind:
        scn = replace(scn, changes=(Change(kind, from_day, 0.2),))
    sim = Simulation(scn, seed)
    cfg = config_for_streams(sim.streams(), {"timezone": HOME})
    det = TrendsDetector(TrendSettings(), sensor_meta(cfg), HOME)
    out = det.feed(sim.event_readings()) + det.tick(scn.end)
    return det, out, scn.at(from_day, dt.time(0))


def test_a_simulated_resident_has_the_days_the_scenario_scripts():
    det, _, _ = simulated(None, seed=7, days=30)
    v = {f: np.nanmedian([row[i] for row in det.history.values()]) for i, f in enumerate(FEATURES)
         if f != "walking_speed"}
    assert abs(v["up_time"] - 7 * 60) <= 30, "wakes at 07:00 (20 min spread)"
    assert 22 * 60 <= v["bed_time"] <= 23 * 60
    assert 0 <= v["night_bathroom"] <= 2, "1.3 trips a night"
    assert v["kitchen_visits"] >= 5 and v["active_hours"] >= 12


def test_mornings_starting_later_are_found_within_two_weeks_and_nothing_before():
    _, out, change = simulated("wake_later", seed=11)
    before = [d for d in out if d.occurred_at < change]
    assert before == []
    later = [d for d in out if FEATURES[int(d.evidence["feature"])] == "up_time"
             and d.evidence["direction"] == 1]
    assert later and (later[0].occurred_at - change) / 86400 <= 14


def test_a_scenario_names_a_bad_change_and_the_fix():
    base = {"scenario": {"start": "2026-03-02T00:00:00+02:00", "days": 1}}
    with pytest.raises(ScenarioError, match=r"changes\[0\]\.kind = 'naps'; allowed: night_bathroom"):
        scenario_from_dict({**base, "changes": [{"kind": "naps", "from_day": 3}]})
    with pytest.raises(ScenarioError, match=r"changes\[0\]\.size = 20; give a fraction"):
        scenario_from_dict({**base, "changes": [{"kind": "less_out", "from_day": 3, "size": 20}]})
    scn = scenario_from_dict({**base, "changes": [{"kind": "less_out", "from_day": 3, "ramp_days": 4}]})
    assert [scn.change("less_out", d) for d in (2, 3, 6)] == [0.0, pytest.approx(0.05), pytest.approx(0.2)]


def test_days_away_count_as_time_out_and_are_not_learned():
    days = [ordinary_day(d) for d in range(8)]
    leave, back = at(5, 20), at(7, 10)
    stream = [x for x in (y for d in days for y in d) if not leave - 60 <= x.t <= back + 60]
    stream += [Contact("door", leave, True), Contact("door", leave + 5, False),
               Contact("door", back, True), Contact("door", back + 5, False)]
    det, out = run([sorted(stream, key=lambda x: x.t)])
    assert features(det, 5)["away_hours"] == pytest.approx(4.0, abs=0.1), "out from 20:00"
    assert math.isnan(features(det, 5)["night_bathroom"]), "a night away has no night numbers"
    assert dt.date(2026, 3, 2).toordinal() + 6 not in det.history, "a day away is not learned"
    assert out == []
