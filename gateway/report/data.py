"""What the weekly care report shows, taken from traces through the ordinary replay: the
day features the trends detector learned (detectors/day_features.py), this week against
the person's usual weeks, and the routine changes the detector raised.

Why through replay: anything that replays (a simulated home, a recording, an imported
CASAS log) gets a report, and the numbers are the ones the gateway in the home computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable

import numpy as np

from detectors.day_features import FEATURES
from detectors.trends import MIN_CHANGE, robust_baseline
from gateway.events import Event

WEEK = 7
GAP_DAYS = 14          # days before the week left out of the usual ...
MIN_USUAL_DAYS = 21    # ... when at least this many remain


@dataclass
class Row:
    feature: str
    week: float          # this week's mean (NaN: not known)
    usual: float         # the usual weeks' winsorised mean
    spread: float        # their day-to-day spread
    changed: int         # +1 / -1 when this week is off the usual by a nurse-worthy amount


@dataclass
class ReportData:
    days: dict[date, dict[str, float]]
    week_start: date
    week_end: date
    rows: list[Row]
    changes: list[Event] = field(default_factory=list)
    timezone: str = "Europe/Helsinki"
    home: str = ""
    usual_end: date | None = None   # the usual is the days before this (default: the week)

    @property
    def usual_days(self) -> int:
        end = self.usual_end or self.week_start
        return sum(1 for d in self.days if d < end)

    def series(self, feature: str) -> list[tuple[date, float]]:
        i = FEATURES.index(feature)
        return [(d, row[FEATURES[i]]) for d, row in sorted(self.days.items())]


def days_from_state(state: dict[str, Any]) -> dict[date, dict[str, float]]:
    names = state.get("features", list(FEATURES))
    out = {}
    for row in state.get("days", []):
        out[date.fromordinal(int(row[0]))] = {
            n: (math.nan if v is None else float(v)) for n, v in zip(names, row[1:], strict=False)}
    return out


def build(days: dict[date, dict[str, float]], changes: Iterable[Event], *,
          first: date | None = None, last: date | None = None, timezone: str = "Europe/Helsinki",
          home: str = "") -> ReportData:
    """This week = the 7 days ending `last` (default: the last day known); usual = every
    day from `first` up to the week."""
    if not days:
        raise ValueError("no whole day in the trace(s): a report needs at least one day "
                         "the gateway watched from midnight to the next noon")
    last = last or max(days)
    first = first or min(days)
    week_start = last - timedelta(days=WEEK - 1)
    kept = {d: f for d, f in days.items() if first <= d <= last}
    # The usual leaves out the two weeks just before this one when enough days remain, as
    # the trends detector does: a change that began lately must not count as usual.
    usual_end = week_start - timedelta(days=GAP_DAYS)
    if sum(1 for d in kept if d < usual_end) < MIN_USUAL_DAYS:
        usual_end = week_start
    rows = []
    for name in FEATURES:
        week = _vals(kept, name, lambda d: d >= week_start)
        usual = _vals(kept, name, lambda d: d < usual_end)
        if not len(week) and not len(usual):
            continue
        wmean = float(week.mean()) if len(week) else math.nan
        if len(usual) >= 3:
            u, sd = robust_baseline(usual, MIN_CHANGE[name] / 2.0)
        else:
            u, sd = math.nan, math.nan
        changed = 0
        if len(usual) >= 7 and len(week) >= 3 and abs(wmean - u) >= max(MIN_CHANGE[name], sd):
            changed = 1 if wmean > u else -1
        rows.append(Row(name, wmean, u, sd, changed))
    import datetime as dt
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(timezone)
    lo = dt.datetime.combine(first, dt.time(0), tz).timestamp()
    hi = dt.datetime.combine(last + timedelta(days=2), dt.time(0), tz).timestamp()
    picked = [e for e in changes if e.type == "routine_change" and lo <= e.occurred_at < hi]
    return ReportData(kept, week_start, last, rows, picked, timezone, home, usual_end)


def _vals(days: dict[date, dict[str, float]], name: str, keep: Any) -> np.ndarray:
    v = np.array([f.get(name, math.nan) for d, f in days.items() if keep(d)], float)
    return v[~np.isnan(v)]


def from_traces(paths: list[str], *, first: date | None = None,
                last: date | None = None) -> ReportData:
    """Replay each trace (oldest first) and report on the days they hold together."""
    from gateway.trace.replay import replay

    days: dict[date, dict[str, float]] = {}
    changes: list[Event] = []
    tz, home = "Europe/Helsinki", ""
    for path in paths:
        res = replay(path)
        state = res.states.get("trends")
        if state:
            days.update(days_from_state(state))
        changes += [e for e in res.events if e.type == "routine_change"]
        if res.config is not None:
            tz = res.config.timezone or tz
            site = res.config.site_id
            # a trace replayed without a home config is named by its file
            home = home or (site if site != "replay" else res.trace.rsplit(".", 1)[0])
    return build(days, changes, first=first, last=last, timezone=tz, home=home)
