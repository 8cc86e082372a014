"""The weekly care report the gateway builds itself ([care_report]): off by default, kept in
the home, and with `share = true` only aggregates (never the page, never a day) leave."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from detectors.day_features import FEATURES
from gateway.care_report import WeeklyCareReport, aggregates
from gateway.catalogue import describe, render
from gateway.config import CareReportConfig, ConfigError, parse_config
from gateway.events import Event

TZ = ZoneInfo("Europe/Helsinki")
HOME = {"gateway_id": "gw-1", "site_id": "site-1"}


def trends_state(days: int, first: dt.date = dt.date(2026, 3, 2)) -> dict:
    """What the trends detector keeps: a row of features per learned day."""
    rows = []
    for i in range(days):
        f = {name: 1.0 for name in FEATURES}
        f.update(up_time=420.0 + (90.0 if i >= days - 7 else 0.0), night_bathroom=1.0, walking_speed=None)
        rows.append([(first + dt.timedelta(days=i)).toordinal(), *[f[n] for n in FEATURES]])
    return {"version": 1, "features": list(FEATURES), "days": rows}


def test_it_is_off_by_default_and_unknown_keys_are_errors():
    assert parse_config(HOME, env={}).care_report.enabled is False
    assert parse_config(HOME, env={}).care_report.share is False
    with pytest.raises(ConfigError, match="care_report.*shared"):
        parse_config({**HOME, "care_report": {"shared": True}}, env={})
    with pytest.raises(ConfigError, match="care_report.at"):
        parse_config({**HOME, "care_report": {"at": "25:00"}}, env={})


def test_it_is_built_on_the_weekday_and_time_set(tmp_path):
    monday_10 = dt.datetime(2026, 4, 20, 10, 0, tzinfo=TZ).timestamp()
    rep = WeeklyCareReport(CareReportConfig(enabled=True, weekday="mon", at="13:30",
                                            directory=tmp_path), "Europe/Helsinki", monday_10)
    assert dt.datetime.fromtimestamp(rep.next_at, TZ) == dt.datetime(2026, 4, 20, 13, 30, tzinfo=TZ)
    assert not rep.due(monday_10 + 3600)
    assert rep.due(rep.next_at + 1)
    assert dt.datetime.fromtimestamp(rep.next_at, TZ).date() == dt.date(2026, 4, 27), "then a week on"


def test_the_page_stays_home_and_only_aggregates_may_leave(tmp_path):
    now = dt.datetime(2026, 4, 20, 13, 30, tzinfo=TZ).timestamp()
    rep = WeeklyCareReport(CareReportConfig(enabled=True, directory=tmp_path, lang="sv"),
                           "Europe/Helsinki", now - 1)
    data = rep.data(trends_state(49), now)
    assert data is not None and data.week_end == dt.date(2026, 4, 19) and data.usual_days == 28, "the two weeks before are left out"
    path = rep.write(data, "site-1")
    html = path.read_text(encoding="utf-8")
    assert path.parent == tmp_path and "Veckorapport" in html and "site-1" in html
    agg = aggregates(data)
    assert agg["changed"] >= 1 and agg["week_up_time"] == 510 and agg["usual_up_time"] == 420
    assert all(isinstance(v, float) for v in agg.values()), "numbers only"
    assert not any(k.startswith(("day", "20")) for k in agg), "no single day leaves"
    info = describe("care_report")
    assert info.kind == "event" and info.contact_id == 0
    text = render("care_report", agg)
    assert "mått avviker" in text["sv"] and "mittaria" in text["fi"]
    ev = Event("id", 1, "care_report", "info", now, now, text, evidence=agg)
    assert len(json.dumps(ev.payload("gw-1", "site-1"))) < 4000


async def test_the_daemon_writes_the_page_and_shares_only_the_aggregates(tmp_path):
    from gateway.daemon import Daemon
    from gateway.pipeline import Pipeline
    from tests.detectors.test_trends import SENSORS, ordinary_day

    cfg = parse_config({**HOME, "timezone": "Europe/Helsinki",
                        "storage": {"path": str(tmp_path / "e.db")},
                        "rooms": [{"id": r} for r in ("bedroom", "bathroom", "kitchen", "living", "hall")],
                        "sensors": [{"id": s, "type": "demo", "room": m.room,
                                     **({"role": m.role} if m.role else {})} for s, m in SENSORS.items()],
                        "care_report": {"enabled": True, "share": True, "lang": "en",
                                        "directory": str(tmp_path / "reports")}}, env={})
    daemon = Daemon(cfg)
    daemon.pipeline = Pipeline(cfg)
    daemon.pipeline.feed([x for d in range(12) for x in ordinary_day(d)])
    sent: list[Event] = []

    async def emit(events):
        sent.extend(events)
    daemon.emit = emit
    await daemon._weekly_care_report()
    pages = list((tmp_path / "reports").glob("care-report-*.html"))
    assert len(pages) == 1 and "Weekly care report" in pages[0].read_text(encoding="utf-8")
    assert [e.type for e in sent] == ["care_report"]
    assert "<" not in json.dumps(sent[0].payload("gw-1", "site-1")), "no HTML leaves the home"
    assert sent[0].evidence["usual_days"] >= 1
