"""Routine trends: learns each home's usual days and raises `routine_change` (an event for
the care team, never an alarm) when a day feature has moved for a sustained while: more
night-time bathroom visits, mornings starting later, fewer kitchen visits, less time out.

Why these rules: slow decline (an infection, heart failure, low mood, frailty) shows in a
person's routine days or weeks before an emergency, but every single day is noisy. So
- the baseline is the person's own: the winsorised mean and spread (5th/95th
  percentiles) of each feature over the `baseline_days` before the most recent
  `recent_days` (a change under way does not teach the baseline
  that it is normal); nothing is raised before `learn_days` days are learned;
- every day adds its standardised distance from the baseline (clipped at +-`clip` = 2
  spreads, so one or two odd days cannot decide) to a one-sided CUSUM per feature and
  direction, less an allowance: ordinary days drain it, a sustained shift of about a
  spread fills it. The allowance is `k` plus `se_allow` standard errors of the usual
  (k + 1/sqrt(days learned)): a usual learned from few days is itself off by about
  spread/sqrt(days), and every day's distance carries that same error, so without it a
  home whose first weeks were by chance early or busy would drift into a "change" (this,
  not single odd days, was where most false changes came from);
- night-time bathroom visits (and getting up) and mealtimes without kitchen use are rare
  counts, about one a night or a skipped meal now and then, whose spread is as large as
  their mean: they go to a Poisson CUSUM (`count_step`): spread at
  least sqrt(rate), the allowance the Poisson reference value for a rate `count_shift`
  (30 %) higher or lower, threshold `count_h`;
- a change is raised when the CUSUM passes `h` (`count_h`) AND the mean of the last `recent_days`
  differs from the usual by at least the feature's smallest change a nurse would care
  about (`min_change`, in the feature's own unit) AND it is not explained by another
  feature (`EXPLAINED_BY`: fewer active hours in a week with more time out is not less
  activity); then that feature and direction rest for `hold_days`, so one change is told
  once, not every day.
Days the gateway did not watch whole, and days away from home, are not learned.

The evidence is in numbers: `feature` (index into detectors.day_features.FEATURES),
`direction` (+1 more / later, -1 less / earlier), `usual`, `recent`, `change`,
`change_pct`, `days_learned`; the texts name the feature in words.

State (`state()`): the last `keep_days` days' features (the report reads them too), the
CUSUMs and the rests: a few kilobytes, kept in SQLite by the gateway across restarts.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
from pydantic import Field, field_validator

from detectors.activity import OuterDoors
from detectors.base import Detection
from detectors.day_features import FEATURES, DayFeatures
from detectors.localtime import LocalTimeDetector, ZonedSettings

#: The smallest change of a 7-day mean worth a nurse's attention, in each feature's unit.
MIN_CHANGE: dict[str, float] = {
    "up_time": 30.0, "bed_time": 30.0, "rest_hours": 0.75, "night_up": 0.4,
    "night_bathroom": 0.4, "active_hours": 1.0, "away_hours": 0.3, "kitchen_visits": 1.0,
    "meal_kitchen_minutes": 10.0, "transitions": 4.0, "walking_speed": 0.05,
    "meals_no_kitchen": 0.3, "outing_hours": 0.25,
}

#: Rare counts: a Poisson count of about one a night (or a skipped meal now and then) has
#: a spread as large as its mean, so its evidence is weighed as counts are (trends.py's
#: docstring says how).
COUNTS = ("night_bathroom", "night_up", "meals_no_kitchen")

#: A change of the first feature is told only when it is still there with the second added
#: back: an hour away from home is an hour not active at home, so a week with more outings
#: (ordinary variation) is not "less active" (on the 30 tuning homes this removed 3 of 9
#: false changes: one busy week told twice, as more time out and as less activity).
EXPLAINED_BY: dict[str, str] = {"active_hours": "away_hours"}

#: Watched by default. Not `night_up` (with a bathroom sensor, nearly every night-time
#: getting up is a bathroom visit: one change would be told twice) nor `transitions`
#: (moves between rooms follow kitchen and bathroom visits) nor `outing_hours` (an outing
#: every other day gives too few values in two weeks to tell a 20 % shortening from
#: chance at one false change per 90 days: measured, docs/care-insight.md); all are in
#: the report.
WATCHED = tuple(f for f in FEATURES if f not in ("night_up", "transitions", "outing_hours"))


class TrendSettings(ZonedSettings):
    enabled: bool = Field(True, title="Run this detector (silent until learn_days are learned)")
    learn_days: int = Field(28, ge=10, le=120, title="Days to learn before a change may be raised")
    baseline_days: int = Field(56, ge=14, le=180, title="The usual is learned from this many days")
    recent_days: int = Field(7, ge=3, le=28, title="Days that make 'recently' (kept out of the baseline)")
    k: float = Field(0.5, ge=0.0, le=3.0, title="CUSUM allowance, in robust standard deviations")
    h: float = Field(6.0, gt=0.0, le=50.0, title="CUSUM threshold, in robust standard deviations")
    se_allow: float = Field(1.0, ge=0.0, le=3.0,
                            title="Allowance added per standard error of the usual (k + se_allow/sqrt(days))")
    clip: float = Field(2.0, gt=0.0, le=10.0,
                        title="One day's distance from the usual is clipped at this many spreads")
    counts: list[str] = Field(default_factory=lambda: list(COUNTS),
                              title="Features judged as counts (a Poisson CUSUM)")
    count_shift: float = Field(0.3, gt=0.0, le=0.9,
                               title="The relative change of a count's rate its CUSUM is designed for")
    count_h: float = Field(10.0, gt=0.0, le=50.0, title="CUSUM threshold of the counts")
    hold_days: int = Field(28, ge=1, le=365, title="After a change is raised, the same change rests this long")
    keep_days: int = Field(120, ge=28, le=400, title="Days of features kept (baseline and report)")
    min_change: dict[str, float] = Field(default_factory=dict,
                                         title="Smallest 7-day change worth telling, per feature (overrides)")
    watch: list[str] = Field(default_factory=lambda: list(WATCHED),
                             title="Features watched for changes")
    bathroom_rooms: list[str] = Field(default_factory=list, title="Bathroom rooms (besides names with bath/toilet/wc)")
    kitchen_rooms: list[str] = Field(default_factory=list, title="Kitchen rooms (besides names with kitchen)")
    bedroom_rooms: list[str] = Field(default_factory=list, title="Bedrooms (besides names with bed)")
    outer_doors: OuterDoors

    @field_validator("watch", "counts")
    @classmethod
    def _watch(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in FEATURES]
        if bad:
            raise ValueError(f"unknown feature(s) {bad}; known: {', '.join(FEATURES)}")
        return v

    @field_validator("min_change")
    @classmethod
    def _min_change(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [f for f in v if f not in FEATURES]
        if bad:
            raise ValueError(f"unknown feature(s) {bad}; known: {', '.join(FEATURES)}")
        return v


def robust_baseline(values: np.ndarray, floor: float) -> tuple[float, float]:
    """(usual, spread) of a feature's usual days: the mean and standard deviation after
    pulling the lowest and highest 5 % in to the 5th and 95th percentiles (winsorised),
    so a few odd days barely move them, yet a feature that is mostly 0 (time away: most
    days at home) keeps its real mean. The spread is never below `floor`: a feature that
    never varied must not make a tiny change loud."""
    lo, hi = np.percentile(values, [5, 95])
    w = np.clip(values, lo, hi)
    return float(w.mean()), max(float(w.std()), floor)


def count_step(x: float, usual: float, spread: float, shift: float) -> tuple[float, float, float]:
    """One day of a count (night-time bathroom visits) for a Poisson CUSUM, in the units of
    the other features' CUSUMs: (distance, allowance up, allowance down). The spread is at
    least Poisson's, sqrt(rate): a few quiet nights must not make one trip loud. The
    allowances are the Poisson CUSUM's reference values for a rate `shift` higher or lower
    (Lucas 1985: x - rate * shift / ln(1 + shift) is the log likelihood ratio of rate
    (1 + shift) against rate, per unit of ln(1 + shift)), so it is designed for the change
    it must find. Only the upper tail is clipped (at 3): many trips in one night are
    evidence, but one night of them must not decide."""
    rate = max(usual, 0.1)
    scale = max(spread, math.sqrt(rate))
    up = (rate * shift / math.log1p(shift) - rate) / scale
    down = (rate - rate * shift / -math.log1p(-shift)) / scale
    return min((x - usual) / scale, 3.0), up, down


class TrendsDetector(LocalTimeDetector[TrendSettings]):
    name = "trends"
    Settings = TrendSettings

    def setup(self) -> None:
        s = self.settings
        self.features = DayFeatures(self.sensors, self.clock, s.outer_doors, s.bathroom_rooms,
                                    s.kitchen_rooms, s.bedroom_rooms, self.homes)
        self.min_change = {**MIN_CHANGE, **s.min_change}
        self.counts = set(s.counts)
        self.history: dict[int, list[float]] = {}        # local day -> features (NaN: unknown)
        self.cusum: dict[str, list[float]] = {f: [0.0, 0.0] for f in FEATURES}  # [up, down]
        self.rest: dict[str, int] = {}                   # "feature:+1" -> first day it may speak again
        self._now = -math.inf
        self._next_day: int | None = None
        self._next_close = math.inf

    # --- streaming ----------------------------------------------------------------------
    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        add = self.features.add
        # a radar frame that saw nobody only ever matters as the first reading (first_t)
        every = self.features.first_t is None
        for r, t, what in self.features.home.seen(readings, self._advance, out, empty_radar=every,
                                                  due=self.next_due):
            add(r, t, what)
        return out

    def next_due(self) -> float:
        """The close of the day being counted (before the first reading: now)."""
        return -math.inf if self._next_day is None else self._next_close

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        self._now = t
        if self._next_day is None:
            self._next_day = self.clock.day(t)
            self._next_close = self.features.close_time(self._next_day)
        while t >= self._next_close:
            day = self._next_day
            f = self.features.close(day, self._next_close)
            if f is not None:
                self._learn(day, f, self._next_close, out)
            self._next_day = day + 1
            self._next_close = self.features.close_time(day + 1)

    # --- learning and judging ---------------------------------------------------------
    def values(self, feature: str, first: int, last: int) -> np.ndarray:
        """A feature's known values on days first..last (inclusive)."""
        i = FEATURES.index(feature)
        v = [row[i] for d, row in self.history.items() if first <= d <= last]
        arr: np.ndarray = np.asarray(v, float)
        known: np.ndarray = arr[~np.isnan(arr)]
        return known

    def baseline(self, feature: str, day: int) -> tuple[float, float, int] | None:
        """(usual, spread, days) for judging `day`, or None while still learning."""
        s = self.settings
        last = day - s.recent_days
        base = self.values(feature, last - s.baseline_days + 1, last)
        if len(self.history) < s.learn_days or len(base) < s.learn_days - s.recent_days:
            return None
        med, sd = robust_baseline(base, self.min_change[feature] / 2.0)
        return med, sd, len(base)

    def _unexplained(self, name: str, other: str, day: int, direction: int) -> bool:
        """Whether `name` + `other` (active + away hours) moved by `name`'s min_change in
        `direction` too: the recent days' mean against the usual of the same days as the
        baseline uses."""
        s = self.settings
        i, j = FEATURES.index(name), FEATURES.index(other)

        def both(first: int, last: int) -> np.ndarray:
            v = np.asarray([r[i] + r[j] for d, r in self.history.items() if first <= d <= last], float)
            out: np.ndarray = v[~np.isnan(v)]
            return out

        last = day - s.recent_days
        base, recent = both(last - s.baseline_days + 1, last), both(day - s.recent_days + 1, day)
        if len(base) < 3 or not len(recent):
            return True
        usual = robust_baseline(base, self.min_change[name] / 2.0)[0]
        return direction * (float(recent.mean()) - usual) >= self.min_change[name]

    def _learn(self, day: int, f: Mapping[str, float], at: float, out: list[Detection]) -> None:
        s = self.settings
        self.history[day] = [round(float(f[k]), 3) for k in FEATURES]
        for old in [d for d in self.history if d <= day - s.keep_days]:
            del self.history[old]
        for name in s.watch:
            x = f[name]
            b = self.baseline(name, day)
            if b is None or x != x:
                continue
            med, sd, n = b
            c = self.cusum[name]
            se = s.se_allow / math.sqrt(n)
            if name in self.counts:
                z, k_up, k_down = count_step(x, med, sd, s.count_shift)
                h = s.count_h
            else:
                z, k_up, k_down = min(max((x - med) / sd, -s.clip), s.clip), s.k, s.k
                h = s.h
            c[0] = max(0.0, c[0] + z - k_up - se)
            c[1] = max(0.0, c[1] - z - k_down - se)
            for j, direction in ((0, 1), (1, -1)):
                key = f"{name}:{direction:+d}"
                if c[j] <= h or self.rest.get(key, -1) > day:
                    continue
                recent = self.values(name, day - s.recent_days + 1, day)
                mean = float(recent.mean()) if len(recent) else med
                if direction * (mean - med) < self.min_change[name]:
                    continue
                if name in EXPLAINED_BY and not self._unexplained(name, EXPLAINED_BY[name], day, direction):
                    continue
                c[j] = 0.0
                self.rest[key] = day + s.hold_days
                out.append(Detection("routine_change", at, evidence={
                    "feature": float(FEATURES.index(name)), "direction": float(direction),
                    "usual": round(med, 2), "recent": round(mean, 2),
                    "change": round(mean - med, 2),
                    "change_pct": round(100.0 * (mean - med) / abs(med), 1) if med else 0.0,
                    "days_learned": float(n)}))

    # --- persistence ------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"version": 1, "features": list(FEATURES),
                "days": [[d, *[None if v != v else v for v in row]]
                         for d, row in sorted(self.history.items())],
                "cusum": {k: [round(a, 4), round(b, 4)] for k, (a, b) in self.cusum.items()},
                "rest": dict(self.rest), "next_day": self._next_day,
                "day_features": self.features.state()}

    def restore(self, state: Mapping[str, Any]) -> None:
        names = state.get("features")
        if state.get("version") != 1 or not isinstance(names, list) or not set(names) <= set(FEATURES):
            return
        # features added since the state was kept are unknown (NaN) on the days it holds:
        # an upgrade keeps what was learned rather than learning four weeks again
        col = {n: i for i, n in enumerate(names)}
        self.history = {}
        for row in state.get("days", []):
            vals = [math.nan if v is None else float(v) for v in row[1:]]
            self.history[int(row[0])] = [vals[col[f]] if f in col and col[f] < len(vals) else math.nan
                                         for f in FEATURES]
        for k, v in state.get("cusum", {}).items():
            if k in self.cusum:
                self.cusum[k] = [float(v[0]), float(v[1])]
        self.rest = {str(k): int(v) for k, v in state.get("rest", {}).items()}
        self.features.restore(state.get("day_features", {}))
