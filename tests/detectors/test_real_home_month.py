"""A month of ordinary life raises no alarm: a CASAS event log imported with a map and
replayed through the real pipeline (config built from the trace) gives at most one alarm
in 30 days and a daily summary for each day, and a real collapse in it is still found.
The log is generated (tests/support/casas_month.py); the real CASAS week in ../shared is replayed
too when it is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.trace.eventimport import import_events
from gateway.trace.replay import replay
from tests.support.casas_month import MAP_CSV, TZ, generate

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "casas-cil-dev"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data/casas-cil-dev")


def imported(tmp_path: Path, month, name: str = "month") -> str:
    log = tmp_path / f"{name}.txt"
    log.write_text("\n".join(month.lines) + "\n")
    (tmp_path / "map.csv").write_text(MAP_CSV)
    out = tmp_path / f"{name}.mcap"
    import_events([str(log)], out, map_path=str(tmp_path / "map.csv"), timezone=TZ)
    return str(out)


def alarms(res):
    return [e for e in res.events if e.is_alarm]


@pytest.mark.parametrize("seed", [21, 22])
def test_a_generated_month_of_ordinary_life_raises_at_most_one_alarm(tmp_path, seed):
    month = generate(30, seed=seed)
    res = replay(imported(tmp_path, month))
    assert len(alarms(res)) <= 1, [(e.type, e.occurred_at) for e in alarms(res)]
    summaries = [e for e in res.events if e.type == "daily_summary"]
    assert len(summaries) == 30, "one daily summary for each day"
    (away0, away1), = month.away
    during = [e for e in summaries if away0 + 86400 <= e.occurred_at <= away1]
    assert during and all(e.evidence["active_hours"] <= 1.0 for e in during), \
        "the weekend away is a quiet day in the summary, not an alarm"
    late = [e for e in alarms(res) if 0 < e.occurred_at - month.late_night < 14 * 3600]
    assert late == [], "a late night is not a missed morning"
    assert res.labels and {lb.what for lb in res.labels} == {"Sleeping"}


def test_a_collapse_in_the_bathroom_of_such_a_month_is_still_an_alarm(tmp_path):
    month = generate(30, seed=21, incident_day=24)
    res = replay(imported(tmp_path, month, "incident"))
    assert month.incident is not None
    found = [e for e in alarms(res) if e.occurred_at >= month.incident]
    assert found, "the collapse must raise an alarm"
    assert found[0].type in ("dwell_exceeded", "inactivity")
    assert found[0].occurred_at - month.incident <= 3 * 3600


@pytest.mark.skipif(not (SHARED / "tm000.multiday_absence.txt.gz").exists(),
                    reason="the CASAS development data is not on this machine")
def test_the_real_casas_week_with_two_days_away_raises_no_alarm(tmp_path):
    out = tmp_path / "tm000.mcap"
    rep = import_events([str(SHARED / "tm000.multiday_absence.txt.gz")], out,
                        timezone="America/Los_Angeles")
    assert rep.plans["MainEntryway"].room == "entrance"
    assert rep.plans["MainEntryway"].kind == "motion", "it fires like a PIR, seconds ON"
    assert sum(rep.written.values()) == rep.lines == 21968
    res = replay(str(out))
    assert alarms(res) == []
    assert len([e for e in res.events if e.type == "daily_summary"]) == 7


def test_a_pir_stuck_on_in_such_a_month_is_a_technical_event_not_an_alarm(tmp_path):
    month = generate(30, seed=21)
    day = "2024-03-14"                    # a Thursday: the living-room PIR sticks at 13:00
    kept = [ln for ln in month.lines
            if not (ln.startswith(day) and "13:00" <= ln[11:16] < "18:30" and "\tM006\t" in ln)]
    kept.append(f"{day} 13:00:00.000000\tM006\tON\t")
    kept.sort()
    month.lines = kept
    res = replay(imported(tmp_path, month, "stuck"))
    stuck = [e for e in res.events if e.type == "sensor_stuck"]
    assert [(e.sensor, e.room, e.is_alarm) for e in stuck] == [("M006", "living_room", False)]
    assert "M006" in stuck[0].text["fi"] and "stuck" in stuck[0].text["en"]
    assert len(alarms(res)) <= 1


def test_days_away_without_a_single_event_still_get_their_daily_summaries(tmp_path):
    """The logger ran throughout: three silent days are quiet days, as the daemon's clock
    would have summarised them, and the door said the resident left (no alarm)."""
    log = tmp_path / "quiet.txt"
    lines = []
    for day, hours in ((1, range(7, 22)), (5, range(18, 23))):
        for h in hours:
            for m in (0, 3, 6, 20, 40):
                lines.append(f"2024-03-0{day} {h:02d}:{m:02d}:00.000000\tM004\tON")
                lines.append(f"2024-03-0{day} {h:02d}:{m:02d}:02.000000\tM004\tOFF")
    lines += ["2024-03-01 21:30:00.000000\tD001\tOPEN", "2024-03-01 21:30:05.000000\tD001\tCLOSE",
              "2024-03-05 17:59:00.000000\tD001\tOPEN", "2024-03-05 17:59:05.000000\tD001\tCLOSE"]
    lines = sorted(ln for ln in lines if not ln.startswith("2024-03-01 21:4"))
    lines = [ln for ln in lines if not ("2024-03-01 21:3" < ln[:16] < "2024-03-05 17")
             or "D001" in ln]
    log.write_text("\n".join(lines) + "\n")
    (tmp_path / "map.csv").write_text(MAP_CSV)
    import_events([str(log)], tmp_path / "q.mcap", map_path=str(tmp_path / "map.csv"),
                  timezone=TZ)
    res = replay(str(tmp_path / "q.mcap"))
    summaries = [e for e in res.events if e.type == "daily_summary"]
    assert len(summaries) == 5, "noon of 1, 2, 3, 4 and 5 March"
    assert [e.evidence["active_hours"] for e in summaries[2:4]] == [0.0, 0.0]
    assert alarms(res) == []
