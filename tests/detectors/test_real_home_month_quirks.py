"""A month of a real CASAS home as real logs write it (tests/support/casas_quirks.py):
hh-style names with a sensor-type column, times without fractions, repeated and late
lines, light and battery levels, a logger that was down for a day and a half, the autumn
clock change, a log that begins and ends mid-day. Imported with a map and replayed as
`safehome trace import-events` + `safehome replay` do: at most one alarm, a daily summary
for every day (the days nobody watched say so), and the Finnish report with its charts.
A collapse in such a month is still an alarm."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.cli import main
from gateway.trace.eventimport import import_events
from gateway.trace.replay import replay
from tests.support import casas_quirks as q
from tests.support.casas_month import MAP_CSV, generate

TZ = ZoneInfo(q.TZ)


def _import(tmp_path: Path, lines: list[str], map_csv: str, name: str = "m"):
    log = tmp_path / f"{name}.txt"
    log.write_text("\n".join(lines) + "\n")
    (tmp_path / "map.csv").write_text(map_csv)
    out = tmp_path / f"{name}.mcap"
    rep = import_events([str(log)], out, map_path=str(tmp_path / "map.csv"), timezone=q.TZ)
    return rep, str(out)


def _alarms(res):
    return [(e.type, datetime.fromtimestamp(e.occurred_at, TZ)) for e in res.events if e.is_alarm]


def _summaries(res):
    return [e for e in res.events if e.type == "daily_summary"]


def test_a_month_with_every_quirk_of_real_logs_reads_as_the_clean_one(tmp_path):
    month = generate(30, seed=31)
    lines = q.late(q.duplicated(q.hh_names(q.with_type_column(q.without_fractions(month.lines)))))
    lines = q.space_separated(lines[:len(lines) // 2]) + q.date_tab_time(lines[len(lines) // 2:])
    rep, trace = _import(tmp_path, lines, q.HH_MAP_CSV)
    assert rep.duplicates > 100 and rep.stepped_back > 50
    res = replay(trace)
    assert len(_alarms(res)) <= 1, _alarms(res)
    assert len(_summaries(res)) == 30
    assert {lb.what for lb in res.labels} == {"Sleeping"}, "Control4-Motion is not an activity"
    rooms = {r.id for r in res.config.rooms}
    assert "work_area" in rooms, "a room the detectors do not know is kept, not dropped"


def test_a_logger_outage_is_no_alarm_and_its_days_are_summarised_as_not_watched(tmp_path):
    month = generate(30, seed=32)
    lines = q.logger_outage(q.with_levels(month.lines), "2024-03-12 10:00", "2024-03-14 14:00")
    rep, trace = _import(tmp_path, lines, MAP_CSV + q.LEVELS_MAP_CSV)
    assert len(rep.outages) == 1 and "1 logger outages" in rep.table()
    res = replay(trace)
    down = (datetime(2024, 3, 12, 10, tzinfo=TZ), datetime(2024, 3, 14, 14, tzinfo=TZ))
    assert not [a for a in _alarms(res) if down[0] <= a[1] <= down[1]], _alarms(res)
    assert len(_alarms(res)) <= 1, _alarms(res)
    on = {datetime.fromtimestamp(e.occurred_at, TZ).strftime("%m-%d"): e.evidence
          for e in _summaries(res)}
    assert len(on) == 30
    # a summary closes at 12:00 and covers the 24 h before
    for day in ("03-13", "03-14"):
        assert on[day]["coverage_hours"] == 0 and on[day]["active_hours"] == 0, \
            "a day the logger was down is a day nobody watched, not a quiet day"
    assert 20 < on["03-12"]["coverage_hours"] < 23 and 20 < on["03-15"]["coverage_hours"] < 23


def test_a_collapse_in_a_month_whose_levels_keep_writing_is_still_an_alarm(tmp_path):
    month = generate(30, seed=32, incident_day=24)
    _, trace = _import(tmp_path, q.with_levels(month.lines), MAP_CSV + q.LEVELS_MAP_CSV)
    res = replay(trace)
    assert month.incident is not None
    found = [e for e in res.events if e.is_alarm and e.occurred_at >= month.incident]
    assert found and found[0].occurred_at - month.incident <= 3 * 3600
    assert len(_summaries(res)) == 30, "the days after it are summarised too"


def test_an_autumn_month_begun_and_ended_mid_day_and_its_finnish_report(tmp_path):
    month = generate(31, seed=33, start=datetime(2024, 10, 14))
    lines = [ln for ln in month.lines if "2024-10-14 15:00" <= ln[:16] < "2024-11-13 10:00"]
    _, trace = _import(tmp_path, lines, MAP_CSV)
    res = replay(trace)
    assert len(_alarms(res)) <= 1, _alarms(res)
    days = sorted({datetime.fromtimestamp(e.occurred_at, TZ).date() for e in _summaries(res)})
    assert len(days) == 29 and days[0].isoformat() == "2024-10-15", \
        "each 12:00 the log passed closes a day; the first covers the afternoon before it"
    html = tmp_path / "report.html"
    assert main(["report", trace, "--lang", "fi", "-o", str(html)]) == 0
    page = html.read_text()
    assert page.count("<svg") >= 6 and 'lang="fi"' in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_an_hh_annotated_month_needs_no_map_its_location_columns_say_the_rooms(tmp_path):
    month = generate(30, seed=34)
    log = tmp_path / "hh.txt"
    log.write_text("\n".join(q.hh_annotated(month.lines)) + "\n")
    rep = import_events([str(log)], tmp_path / "hh.mcap", timezone=q.TZ)
    rooms = {name: (p.room, p.kind, p.role) for name, p in rep.plans.items()}
    assert rooms["M001"] == ("bedroom", "motion", None)
    assert rooms["D001"] == ("entrance", "door", "outer_door")
    assert rooms["M008"][2] == "entrance" and rooms["T001"][1] == "ignore"
    res = replay(str(tmp_path / "hh.mcap"))
    assert len(_alarms(res)) <= 1, _alarms(res)
    assert len(_summaries(res)) == 30
    assert {lb.what for lb in res.labels} == {"Sleep", "Other_Activity"}
