"""Scenario files (TOML): a home, its sensors, the resident's habits and scripted incidents.

A scenario fixes everything but the random seed, and names its own start date and time,
so the simulator never reads the wall clock and the same scenario + seed gives the same
trace byte for byte. See simulator/scenarios/*.toml for commented examples.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from pytimeparse import parse as timeparse

SENSOR_KINDS = ("wearable", "radar", "motion", "door", "button")
FALL_KINDS = ("forward", "backward", "lateral", "from_chair", "fainting")
AFTER_FALL = ("lie_still", "struggle", "get_up")
INCIDENTS = ("fall", "inactivity", "door_night_exit", "sos", "knock")
#: Scripted slow changes of the resident's routine ([[changes]]): what a trend detector
#: must notice. `size` 0.2 is a 20 % change of the habit it names (simulator/routine.py).
CHANGE_KINDS = ("night_bathroom", "wake_later", "fewer_kitchen", "less_out", "less_active",
                "slower_walking")


class ScenarioError(ValueError):
    """A scenario file is wrong; the message names the key and what is allowed."""


def parse_duration(text: str | int | float, where: str) -> float:
    """'90s', '40m', '3h', '1h30m', '2d', '1.5h' or a number of seconds ('90') -> seconds.

    pytimeparse does the parsing: every part needs its unit, so '5h3' and '10mm' are
    errors rather than 5 h and 10 min. A plain number is seconds."""
    if isinstance(text, (int, float)):
        seconds: float | None = float(text)
    else:
        stripped = text.strip()
        try:
            seconds = float(stripped)
        except ValueError:
            parsed = timeparse(stripped) if stripped else None
            seconds = None if parsed is None else float(parsed)
    if seconds is None or seconds != seconds or seconds < 0:
        raise ScenarioError(f"{where}: {text!r} is not a duration like '90s', '40m', '1h30m' "
                            "or a number of seconds")
    return seconds


def _clock(text: str, where: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", str(text).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScenarioError(f"{where}: {text!r} is not a local time HH:MM")
    return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


@dataclass(frozen=True)
class Room:
    id: str
    size: tuple[float, float] = (4.0, 4.0)
    blind: tuple[tuple[float, float, float, float], ...] = ()  # radar-blind rectangles


@dataclass(frozen=True)
class SensorSpec:
    id: str
    kind: str                      # one of SENSOR_KINDS
    driver: str
    room: str | None = None
    placement: str | None = None
    model: str = ""
    role: str | None = None
    rate_hz: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Imperfection:
    """What goes wrong with one sensor (all off by default)."""

    noise: float = 0.0             # extra noise: g (wearable) or m (radar)
    dropout: float = 0.0           # probability a packet is lost
    duplicate: float = 0.0         # probability a packet arrives twice
    reorder: float = 0.0           # probability a packet arrives after later ones
    clock_skew_ppm: float = 0.0    # sensor clock runs fast (+) or slow (-)
    clock_offset_s: float = 0.0    # sensor clock is off by this much at the start
    resync_s: float = 6 * 3600.0   # the driver re-aligns the clock this often (0: never)
    range_g: float | None = None   # accelerometer saturates here
    battery_start: float = 100.0   # percent at the start
    battery_per_day: float = 0.0   # percent lost per day; at 0 the sensor falls silent
    silent: tuple[tuple[float, float], ...] = ()  # (start, end) Unix seconds without output


@dataclass(frozen=True)
class Incident:
    t: float                       # Unix seconds
    what: str                      # one of INCIDENTS
    room: str | None
    fall_kind: str = "forward"
    after: str = "lie_still"
    lasts: float = 1800.0          # seconds on the floor / inactive / away
    wearable: bool = True          # is the wearable worn during it
    to: str | None = None          # knock: the room walked to afterwards
    hold: float = 12.0             # knock: seconds the knocked hand is held to the chest


@dataclass(frozen=True)
class Change:
    """A sustained change of routine from local day `from_day` on, reaching `size` after
    `ramp_days` (0: at once)."""

    kind: str                      # one of CHANGE_KINDS
    from_day: int
    size: float = 0.2
    ramp_days: int = 0

    def size_on(self, day: int) -> float:
        if day < self.from_day:
            return 0.0
        if self.ramp_days <= 0:
            return self.size
        return self.size * min(1.0, (day - self.from_day + 1) / self.ramp_days)


@dataclass(frozen=True)
class Habits:
    wake: time = time(7, 0)
    bed: time = time(22, 30)
    spread_min: float = 20.0       # standard deviation of daily times, minutes
    meals: tuple[time, ...] = (time(8, 0), time(12, 0), time(17, 30))
    nap: time | None = time(13, 30)
    nap_min: float = 45.0
    night_toilet: float = 1.2      # mean trips per night
    bathroom_every_h: float = 3.0
    outings_per_week: float = 3.0
    rooms: Mapping[str, str] = field(default_factory=dict)  # role -> room id


@dataclass(frozen=True)
class Scenario:
    name: str
    start: float                   # Unix seconds of the first reading
    duration: float                # seconds
    tz: ZoneInfo
    rooms: tuple[Room, ...]
    sensors: tuple[SensorSpec, ...]
    habits: Habits
    incidents: tuple[Incident, ...]
    imperfections: Mapping[str, Imperfection]
    gateway: Mapping[str, Any]     # config overrides for replay (timezone, detectors, alarm)
    path: str = ""
    changes: tuple[Change, ...] = ()

    def change(self, kind: str, day: int) -> float:
        """How far the scripted change `kind` has gone on `day` (0.0: not at all)."""
        return sum(c.size_on(day) for c in self.changes if c.kind == kind)

    @property
    def end(self) -> float:
        return self.start + self.duration

    def room(self, rid: str) -> Room:
        for r in self.rooms:
            if r.id == rid:
                return r
        raise KeyError(rid)

    def local_midnight(self, day: int) -> datetime:
        d0: date = datetime.fromtimestamp(self.start, self.tz).date()
        return datetime.combine(d0 + timedelta(days=day - 1), time(0), self.tz)

    def at(self, day: int, clock: time) -> float:
        d = self.local_midnight(day).date()
        return datetime.combine(d, clock, self.tz).timestamp()

    def with_days(self, days: float) -> "Scenario":
        from dataclasses import replace
        return replace(self, duration=days * 86400.0)


def _when(scn_start: float, tz: ZoneInfo, raw: Mapping[str, Any], where: str) -> float:
    """An incident's time: at = "+30s" (from the start) or day = N with at = "HH:MM"."""
    at = str(raw.get("at", ""))
    if at.startswith("+"):
        return scn_start + parse_duration(at[1:], f"{where}.at")
    m = re.fullmatch(r"day\s+(\d+)\s+(\S+)", at)
    day, clock = (int(m.group(1)), m.group(2)) if m else (int(raw.get("day", 1)), at)
    d0 = datetime.fromtimestamp(scn_start, tz).date()
    return datetime.combine(d0 + timedelta(days=day - 1), _clock(clock, f"{where}.at"),
                            tz).timestamp()


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    return scenario_from_dict(data, str(path))


def scenario_from_dict(data: Mapping[str, Any], path: str = "<scenario>") -> Scenario:
    head = data.get("scenario", {})
    tzname = head.get("timezone", "Europe/Helsinki")
    tz = ZoneInfo(tzname)
    try:
        start_dt = datetime.fromisoformat(str(head["start"]))
    except (KeyError, ValueError) as exc:
        raise ScenarioError(f"{path}: scenario.start must be an ISO date-time ({exc})") from None
    if start_dt.tzinfo is None:
        start_dt = start_dt.replace(tzinfo=tz)
    start = start_dt.timestamp()
    if "duration" in head:
        duration = parse_duration(head["duration"], "scenario.duration")
    else:
        duration = float(head.get("days", 1)) * 86400.0

    rooms = tuple(Room(r["id"], tuple(r.get("size", (4.0, 4.0))),
                       tuple(tuple(b) for b in r.get("blind", ())))
                  for r in data.get("rooms", []))
    room_ids = {r.id for r in rooms}
    sensors = []
    for i, s in enumerate(data.get("sensors", [])):
        where = f"sensors[{i}]"
        if s.get("kind") not in SENSOR_KINDS:
            raise ScenarioError(f"{path}: {where}.kind = {s.get('kind')!r}; allowed: "
                                f"{', '.join(SENSOR_KINDS)}")
        if s.get("room") is not None and s["room"] not in room_ids:
            raise ScenarioError(f"{path}: {where}.room = {s['room']!r} is not a room")
        known = {"id", "kind", "driver", "room", "placement", "model", "role", "rate_hz"}
        sensors.append(SensorSpec(
            id=s["id"], kind=s["kind"], driver=s.get("driver", "simulated"), room=s.get("room"),
            placement=s.get("placement"), model=s.get("model", ""), role=s.get("role"),
            rate_hz=s.get("rate_hz"), options={k: v for k, v in s.items() if k not in known}))

    h = data.get("resident", {})
    default = Habits()
    habits = Habits(
        wake=_clock(h.get("wake", "07:00"), "resident.wake"),
        bed=_clock(h.get("bed", "22:30"), "resident.bed"),
        spread_min=float(h.get("spread_min", default.spread_min)),
        meals=tuple(_clock(m, "resident.meals") for m in h.get("meals", ["08:00", "12:00", "17:30"])),
        nap=_clock(h["nap"], "resident.nap") if h.get("nap") else None,
        nap_min=float(h.get("nap_min", default.nap_min)),
        night_toilet=float(h.get("night_toilet", default.night_toilet)),
        bathroom_every_h=float(h.get("bathroom_every_h", default.bathroom_every_h)),
        outings_per_week=float(h.get("outings_per_week", default.outings_per_week)),
        rooms=dict(h.get("rooms", {})),
    )
    for role, rid in habits.rooms.items():
        if rid not in room_ids:
            raise ScenarioError(f"{path}: resident.rooms.{role} = {rid!r} is not a room")

    incidents = []
    for i, raw in enumerate(data.get("incidents", [])):
        where = f"incidents[{i}]"
        what = raw.get("what")
        if what not in INCIDENTS:
            raise ScenarioError(f"{path}: {where}.what = {what!r}; allowed: {', '.join(INCIDENTS)}")
        kind = raw.get("kind", "forward")
        after = raw.get("after", "lie_still")
        if what == "fall" and (kind not in FALL_KINDS or after not in AFTER_FALL):
            raise ScenarioError(f"{path}: {where}: kind must be one of {FALL_KINDS} and after "
                                f"one of {AFTER_FALL}")
        room = raw.get("room")
        if room is not None and room not in room_ids:
            raise ScenarioError(f"{path}: {where}.room = {room!r} is not a room")
        to = raw.get("to")
        if to is not None and to not in room_ids:
            raise ScenarioError(f"{path}: {where}.to = {to!r} is not a room")
        incidents.append(Incident(
            t=_when(start, tz, raw, where), what=what, room=room, fall_kind=kind, after=after,
            lasts=parse_duration(raw.get("lasts", "30m"), f"{where}.lasts"),
            wearable=bool(raw.get("wearable", True)), to=to,
            hold=parse_duration(raw.get("hold", 12), f"{where}.hold")))

    imperf = {}
    for i, raw in enumerate(data.get("imperfections", [])):
        where = f"imperfections[{i}]"
        silent = tuple((_when(start, tz, w, f"{where}.silent"),
                        _when(start, tz, w, f"{where}.silent")
                        + parse_duration(w.get("lasts", "1h"), f"{where}.silent.lasts"))
                       for w in raw.get("silent", []))
        fields = {k: float(v) for k, v in raw.items()
                  if k in Imperfection.__dataclass_fields__ and k != "silent"}
        imperf[raw["sensor"]] = Imperfection(**fields, silent=silent)
    return Scenario(name=str(head.get("name", Path(path).stem)), start=start,
                    duration=duration, tz=tz, rooms=rooms, sensors=tuple(sensors),
                    habits=habits, incidents=tuple(sorted(incidents, key=lambda x: x.t)),
                    imperfections=imperf, gateway=dict(data.get("gateway", {})), path=path,
                    changes=_changes(data.get("changes", []), path))


def _changes(raw: Any, path: str) -> tuple[Change, ...]:
    out = []
    for i, c in enumerate(raw):
        where = f"{path}: changes[{i}]"
        if c.get("kind") not in CHANGE_KINDS:
            raise ScenarioError(f"{where}.kind = {c.get('kind')!r}; allowed: {', '.join(CHANGE_KINDS)}")
        unknown = set(c) - {"kind", "from_day", "size", "ramp_days"}
        if unknown:
            raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                                "allowed: kind, from_day, size, ramp_days")
        size, day, ramp = c.get("size", 0.2), c.get("from_day"), c.get("ramp_days", 0)
        if not isinstance(day, int) or day < 1:
            raise ScenarioError(f"{where}.from_day = {day!r}; give the local day (1 = the first) "
                                "on which the change starts")
        if not isinstance(size, (int, float)) or not 0 < size < 1:
            raise ScenarioError(f"{where}.size = {size!r}; give a fraction between 0 and 1 "
                                "(0.2 = 20 %)")
        if not isinstance(ramp, int) or ramp < 0:
            raise ScenarioError(f"{where}.ramp_days = {ramp!r}; give whole days, 0 or more")
        out.append(Change(c["kind"], day, float(size), ramp))
    return tuple(out)
