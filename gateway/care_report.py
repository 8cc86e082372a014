"""The weekly care report the gateway builds itself ([care_report] in the home's config).

Why in the home: the report is made of the resident's days; the HTML stays in the home
(`directory`, for the nurse's tablet on the home network or a printout). Only with
`share = true` does anything leave, and then only aggregates: a `care_report` event with
the week's mean and the usual of each feature and how many changed, never the HTML or a
single day's numbers (principle 6: raw data never leaves the home).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from gateway.config import CareReportConfig
from gateway.report.data import ReportData, build, days_from_state

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeeklyCareReport:
    def __init__(self, cfg: CareReportConfig, timezone: str, start: float) -> None:
        self.cfg = cfg
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.next_at = self.next_after(start)

    def next_after(self, t: float) -> float:
        day = datetime.fromtimestamp(t, self.tz).date()
        at = dtime.fromisoformat(self.cfg.at)
        for i in range(8):
            d = day + timedelta(days=i)
            when = datetime.combine(d, at, self.tz).timestamp()
            if d.weekday() == WEEKDAYS.index(self.cfg.weekday) and when > t:
                return when
        raise AssertionError("unreachable: a weekday comes within 8 days")

    def due(self, now: float) -> bool:
        if now < self.next_at:
            return False
        self.next_at = self.next_after(now)
        return True

    def data(self, trends_state: Mapping[str, Any], now: float) -> ReportData | None:
        """The week that ended yesterday against the usual, or None before a whole day."""
        days = days_from_state(dict(trends_state))
        last = datetime.fromtimestamp(now, self.tz).date() - timedelta(days=1)
        days = {d: f for d, f in days.items() if d <= last}
        if not days:
            return None
        return build(days, [], last=last, timezone=self.timezone)

    def write(self, data: ReportData, home: str) -> Path:
        """Write the HTML (blocking file I/O: the daemon runs this in a thread)."""
        from gateway.report.html import render_html
        data.home = home
        self.cfg.directory.mkdir(parents=True, exist_ok=True)
        path = self.cfg.directory / f"care-report-{data.week_end.isoformat()}.html"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(render_html(data, self.cfg.lang), encoding="utf-8")
        tmp.replace(path)
        return path


def aggregates(data: ReportData) -> dict[str, float]:
    """What may leave the home with `share = true`: per feature the week's mean and the
    usual, and how many measures changed. Numbers only; no day is identifiable."""
    out: dict[str, float] = {"week_days": 7.0, "usual_days": float(data.usual_days),
                             "changed": float(sum(1 for r in data.rows if r.changed))}
    for r in data.rows:
        if not math.isnan(r.week):
            out[f"week_{r.feature}"] = round(r.week, 2)
        if not math.isnan(r.usual):
            out[f"usual_{r.feature}"] = round(r.usual, 2)
    return out
