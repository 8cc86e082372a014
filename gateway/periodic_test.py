"""The gateway's periodic test report (Contact ID 1 602) on the schedule the home sets.

WHY the gateway sends it itself: alarm receivers supervise a subscriber by expecting its
periodic test report; a report that comes from the gateway proves the whole path (gateway,
broker, bridge, receiver), not just the centre's side. Sensors still silent at that time
are reported again as status reports (`sensor_still_silent`, Contact ID 6 381): the
condition reported before is still present, as Contact ID's qualifier 6 says.

Schedule: every `alarm.periodic_test_interval` seconds; with `alarm.periodic_test_at`
("HH:MM", the home's local time) the reports fall on that time of day and whole
intervals from it (e.g. 03:00 and every 24 h; recomputed per day, so DST does not shift
it); without it, counted from the gateway's start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Protocol
from zoneinfo import ZoneInfo

from gateway.events import Event
from gateway.health import HealthMonitor


class Technical(Protocol):
    def __call__(self, type_name: str, **kw: object) -> Event: ...


class PeriodicTest:
    def __init__(self, interval: float, at: str | None, timezone: str, start: float) -> None:
        self.interval = interval
        self.tz = ZoneInfo(timezone)
        self.at = dtime.fromisoformat(at) if at else None
        self.start = start
        self.next_at = self.next_after(start)

    def next_after(self, t: float) -> float:
        if self.at is None:
            k = int((t - self.start) // self.interval) + 1
            return self.start + k * self.interval
        day = datetime.fromtimestamp(t, self.tz).date()
        if self.interval % 86400 == 0:        # whole days: the same local time on each date
            every = int(self.interval // 86400)
            first = datetime.fromtimestamp(self.start, self.tz).date()
            while True:
                at = datetime.combine(day, self.at, self.tz).timestamp()
                if (day - first).days % every == 0 and at > t:
                    return at
                day += timedelta(days=1)
        anchor = datetime.combine(day, self.at, self.tz).timestamp()
        k = int((t - anchor) // self.interval) + 1
        return anchor + k * self.interval

    def due(self, now: float) -> bool:
        """True once per scheduled time (a time missed while the gateway was off is not
        made up: the next one follows the schedule)."""
        if now < self.next_at:
            return False
        self.next_at = self.next_after(now)
        return True


def reports(technical: Technical, health: HealthMonitor,
            room_of: Callable[[str], str | None], mono: Callable[[], float] = time.monotonic
            ) -> list[Event]:
    """The periodic test and a status report for each sensor still silent (not silenced)."""
    now = mono()
    still = [h for h in health.sensors.values() if h.silent and not health.is_silenced(h.id)]
    out = [technical("periodic_test", evidence={"sensors_silent": len(still)})]
    for h in still:
        since = h.last_mono if h.last_mono is not None else h.started
        out.append(technical("sensor_still_silent", sensor=h.id, room=room_of(h.id),
                             evidence={"seconds": round(now - since)}))
    return out
