"""A generated month of one resident's life as a raw CASAS event log, for testing the
importer and the home detectors end to end without shared data.

What real CASAS homes show and this reproduces: PIRs fire ON/OFF pairs every few seconds
while someone moves in their field and rarely while they sit or sleep; the entrance PIR
often fires again just after the front door closes behind someone leaving; an empty home
is not silent (a lone trigger every few hours); a temperature sensor writes numbers; some
lines carry activity labels (`Sleeping begin` / `Sleeping end`). The resident: bedroom,
bathroom, kitchen, living room, a work area, an entry PIR and the front door; a daily
routine with variation, outings, a weekend away, a late night, night toilet trips.

Times are generated in Unix seconds and written as the home's local wall clock, as CASAS
loggers do (so daylight-saving changes look as they do in real logs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = "America/Los_Angeles"
START = datetime(2024, 3, 4)          # a Monday; the clocks go forward on March 10

MAP_CSV = """sensor,room,kind
M001,bedroom,motion
M002,bedroom,motion
M003,bathroom,motion
M004,kitchen,motion
M005,kitchen,motion
M006,living room,motion
M007,work area,motion
M008,entrance,motion
D001,entrance,door
T001,kitchen,ignore
"""
BED, BEDROOM, BATH, KITCHEN, STOVE, LIVING, WORK, ENTRY, DOOR = (
    "M001", "M002", "M003", "M004", "M005", "M006", "M007", "M008", "D001")


@dataclass
class Month:
    """The log's lines and what was scripted into it (for the assertions)."""

    lines: list[str] = field(default_factory=list)
    away: list[tuple[float, float]] = field(default_factory=list)
    late_night: float = 0.0
    incident: float | None = None


class _Home:
    def __init__(self, rng: random.Random, tz: ZoneInfo, start: datetime = START) -> None:
        self.rng, self.tz, self.start = rng, tz, start
        self.events: list[tuple[float, str, str, str]] = []

    def at(self, day: int, hour: float) -> float:
        local = self.start + timedelta(days=day, hours=hour)
        return local.replace(tzinfo=self.tz).timestamp()

    def fire(self, sensor: str, t: float, note: str = "") -> None:
        self.events.append((t, sensor, "ON", note))
        self.events.append((t + self.rng.uniform(0.8, 4.0), sensor, "OFF", ""))

    def stay(self, sensors: tuple[str, ...], t0: float, t1: float, every: float) -> None:
        """Someone in a room from t0 to t1; its PIRs fire about every `every` seconds."""
        t = t0
        while t < t1:
            self.fire(self.rng.choice(sensors), t)
            t += self.rng.expovariate(1.0 / every) + 2.0

    def walk(self, path: tuple[str, ...], t: float) -> float:
        for s in path:
            self.fire(s, t)
            t += self.rng.uniform(3.0, 8.0)
        return t

    def leave(self, t: float) -> float:
        t = self.walk((ENTRY, ENTRY), t)
        self.events.append((t, DOOR, "OPEN", ""))
        self.events.append((t + 6, DOOR, "CLOSE", ""))
        if self.rng.random() < 0.5:   # the entry PIR sees the door swing shut
            self.fire(ENTRY, t + 6 + self.rng.uniform(2, 40))
        return t + 6

    def come_back(self, t: float) -> float:
        self.events.append((t, DOOR, "OPEN", ""))
        self.events.append((t + 5, DOOR, "CLOSE", ""))
        return self.walk((ENTRY, ENTRY, KITCHEN), t + 8)

    def ghosts(self, t0: float, t1: float) -> None:
        """An empty home: a lone trigger every few hours (sunlight, heating)."""
        t = t0 + self.rng.uniform(1800, 4 * 3600)
        while t < t1 - 600:
            self.fire(self.rng.choice((BATH, KITCHEN, LIVING, WORK, BEDROOM)), t)
            t += self.rng.uniform(1.5 * 3600, 6 * 3600)


def generate(days: int = 30, seed: int = 1, *, away_days: tuple[int, int] = (19, 20),
             late_night_day: int = 11, incident_day: int | None = None,
             tz: str = TZ, start: datetime = START) -> Month:
    """`days` days from `start` (a Monday; START's month has the spring clock change,
    datetime(2024, 10, 14) the autumn one); away from `away_days[0]` 09:30 to `away_days[1]` 18:00;
    up until about 02:30 in the night after `late_night_day`; with `incident_day`, a
    collapse in the bathroom at 10:00 that day (nothing moves afterwards)."""
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    h = _Home(rng, zone, start)
    month = Month()
    wake_next = 7.0 + rng.gauss(0, 0.4)
    for d in range(days):
        weekend = (start + timedelta(days=d)).weekday() >= 5
        wake = wake_next
        ev_day = d                     # the day whose evening follows
        if away_days[0] < d <= away_days[1]:
            continue
        up = h.at(d, wake)
        h.fire(BED, up, "Sleeping end")
        t = h.walk((BED, BEDROOM, BATH), up + 30)
        shower = rng.uniform(8, 35) * 60
        h.stay((BATH,), t, t + shower, 25)
        t = h.walk((BEDROOM, KITCHEN), t + shower)
        breakfast = rng.uniform(20, 40) * 60
        h.stay((KITCHEN, STOVE), t, t + breakfast, 20)
        t += breakfast
        if d == incident_day:
            t0 = h.at(d, 10.0)
            h.stay((LIVING,), t, t0, 200)
            t = h.walk((BATH,), t0)
            month.incident = t
            h.stay((BATH,), t, t + 60, 20)   # then nothing: a collapse
            h.ghosts(t + 3600, h.at(d + 1, 12.0))
            break
        if d == away_days[0]:
            t = h.leave(max(t, h.at(d, 9.5)))
            back = h.at(away_days[1], 18.0 + rng.uniform(-0.5, 0.5))
            month.away.append((t, back))
            h.ghosts(t, back)
            t = h.come_back(back)
            h.stay((KITCHEN, STOVE), t, t + 1800, 30)
            t += 1800
            ev_day = away_days[1]
        else:
            # the day: work area or an outing in the morning, lunch, an afternoon outing
            if not weekend and rng.random() < 0.7:
                t1 = h.at(d, 12.0 + rng.uniform(-0.3, 0.3))
                h.stay((WORK,), h.walk((LIVING, WORK), t), t1, 120)
            else:
                t = h.leave(h.walk((LIVING,), t))
                back = t + rng.uniform(1.0, 2.5) * 3600
                h.ghosts(t, back)
                t1 = h.come_back(back)
            t = h.walk((KITCHEN,), max(t1, h.at(d, 12.0)))
            h.stay((KITCHEN, STOVE), t, t + 35 * 60, 25)
            t += 35 * 60
            if rng.random() < 0.5:
                t = h.leave(h.walk((LIVING,), t + rng.uniform(0, 3600)))
                back = t + rng.uniform(1.0, 3.0) * 3600
                h.ghosts(t, back)
                t = h.come_back(back)
            t1 = h.at(d, 17.5 + rng.uniform(-0.3, 0.3))
            if t1 > t:
                h.stay((LIVING,), h.walk((LIVING,), t), t1, 300)
                t = t1
            h.stay((KITCHEN, STOVE), t, t + 45 * 60, 25)
            t += 45 * 60
        bedtime = 22.8 + rng.gauss(0, 0.4) + (0.7 if weekend else 0.0)   # Sat and Sun nights
        if d == late_night_day:
            bedtime = 26.5                          # up until 02:30
        end = h.at(ev_day, bedtime)
        h.stay((LIVING,), h.walk((LIVING,), t), end, 240)
        t = h.walk((BATH,), end)
        h.stay((BATH,), t, t + 600, 30)
        t = h.walk((BEDROOM, BED), t + 600)
        h.events.append((t, BED, "ON", "Sleeping begin"))
        h.events.append((t + 2, BED, "OFF", ""))
        sleep_in = (start + timedelta(days=ev_day + 1)).weekday() >= 5
        wake_next = 7.0 + rng.gauss(0, 0.4) + (0.9 if sleep_in else 0.0)
        if d == late_night_day:
            wake_next = 10.5
            month.late_night = end
        morning = h.at(ev_day + 1, wake_next)
        # asleep: the bed PIR sees turning now and then; one or two toilet trips
        s = t + rng.uniform(1200, 4000)
        while s < morning - 900:
            h.fire(BED, s)
            s += rng.uniform(1800, 6000)
        for _ in range(rng.choice((0, 1, 1, 2))):
            trip = rng.uniform(t + 1800, morning - 1800)
            if trip <= t:
                continue
            x = h.walk((BED, BEDROOM, BATH), trip)
            stay = rng.uniform(120, 360)
            h.stay((BATH,), x, x + stay, 20)
            h.walk((BEDROOM, BED), x + stay)
    for t in range(int(h.at(0, 0)), int(h.at(days, 0)), 3600):
        h.events.append((t + 17.0, "T001", f"{20 + rng.uniform(-1.5, 1.5):.1f}", ""))
    h.events.sort(key=lambda e: e[0])
    for t, sensor, state, note in h.events:
        stamp = datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M:%S.%f")
        month.lines.append(f"{stamp}\t{sensor}\t{state}\t{note}")
    return month
