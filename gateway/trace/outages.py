"""When an event log's logger was down, told apart from a quiet home.

Why: real CASAS months have stretches with no line at all, hours to days long. A quiet
home (the resident away, or asleep) and a logger that was down look the same in the
motion sensors; replayed as a quiet home, a logger outage becomes an inactivity alarm for
a person who was fine, and a day "with no activity" in the summaries. What tells them
apart is a sensor that writes whatever the resident does: a temperature, light or battery
level (numeric states). While the logger runs it writes every few minutes to an hour; when
it falls silent together with every other sensor, nobody was watching.

The rule: a stretch with no line of any sensor longer than max(OUTAGE_MIN_S,
OUTAGE_FACTOR x the 99th percentile of the gaps between the level sensors' lines) is a
logger outage, when the log has level sensors at all (LEVEL_LINES_MIN lines). A home
where a level sensor keeps writing is watched, however still it is: a collapse at home
is still an alarm. A log without level sensors has no outages (every gap is a quiet
home, as before): nothing else can tell a logger that was down from a person who could
not move, and the alarm must not be the one left out.

Replay (gateway/trace/replay.py) treats an outage as the gateway being off: the
detectors' learned state is carried over as across a restart, the clock does not tick
through it, and the daily summary tells the days nobody watched (coverage 0 h).
"""

from __future__ import annotations

from dataclasses import dataclass, field

OUTAGE_MIN_S = 3 * 3600.0
OUTAGE_FACTOR = 3.0
LEVEL_LINES_MIN = 100


@dataclass
class OutageFinder:
    """Fed every line's time in time order, and whether its state is a number."""

    gaps: list[tuple[float, float]] = field(default_factory=list)   # candidate silences
    level_gaps: list[float] = field(default_factory=list)
    _last: float | None = None
    _last_level: float | None = None

    def add(self, t: float, level: bool) -> None:
        if self._last is not None and t - self._last > OUTAGE_MIN_S:
            self.gaps.append((self._last, t))
        self._last = t if self._last is None else max(self._last, t)
        if level:
            if self._last_level is not None and t > self._last_level:
                self.level_gaps.append(t - self._last_level)
            self._last_level = t

    def longest_usual_s(self) -> float | None:
        """The level sensors' usual longest silence (99th percentile), None without them."""
        if len(self.level_gaps) + 1 < LEVEL_LINES_MIN:
            return None
        ordered = sorted(self.level_gaps)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    def outages(self) -> list[tuple[float, float]]:
        usual = self.longest_usual_s()
        if usual is None:
            return []
        limit = max(OUTAGE_MIN_S, OUTAGE_FACTOR * usual)
        return [(a, b) for a, b in self.gaps if b - a > limit]
