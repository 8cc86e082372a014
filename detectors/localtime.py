"""Local clock arithmetic for detectors whose rules are written in the home's wall-clock time.

Why a module of its own: "not up by 07:40", "inactivity window 07:00-10:00" and "night
22:00-06:00" are local times, but readings carry Unix seconds. Converting through zoneinfo
keeps daylight-saving days right (a 23 h and a 25 h day each year) without any wall clock:
the instant always comes from a reading. zoneinfo reads the system tz database once per
zone; that is configuration, not I/O in the detector's stream.

Windows are "HH:MM-HH:MM" strings; one whose end is not after its start runs over midnight
("22:00-06:00"). "00:00-24:00" (or an empty list where a function says so) means all day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Generic, Iterable, Iterator, Mapping, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, field_validator

from detectors.base import DetectorSettings, SensorMeta, TimedDetector
from detectors.home_views import HomeTrackers

DEFAULT_TZ = "Europe/Helsinki"


def parse_hhmm(text: str) -> int:
    """Minutes after midnight; "24:00" is allowed as an end of day."""
    hh, _, mm = text.strip().partition(":")
    h, m = int(hh), int(mm or 0)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"not a time of day: {text!r}")
    return h * 60 + m


def parse_window(text: str) -> tuple[int, int]:
    """'07:00-10:00' -> (420, 600). Raises ValueError with the text on a bad window."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"window must look like 07:00-10:00, got {text!r}")
    a, b = parse_hhmm(start), parse_hhmm(end)
    if a == b and not (a == 0 and end.strip().startswith("24")):
        raise ValueError(f"empty window {text!r}")
    return a, b


def validate_windows(windows: Iterable[str]) -> list[str]:
    """Pydantic helper: parse each window so a typo fails at config load, not at 3 a.m."""
    out = list(windows)
    for w in out:
        parse_window(w)
    return out


def validate_tz(name: str | None) -> str | None:
    """Pydantic helper: an unknown zone name fails at config load, naming itself."""
    if name is not None:
        try:
            zone(name)
        except Exception:  # noqa: BLE001 - zoneinfo raises several types for a bad name
            raise ValueError(f"unknown IANA time zone {name!r} (e.g. Europe/Helsinki)") from None
    return name


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class LocalClock:
    """Unix seconds <-> local date and minute of day in one IANA zone."""

    def __init__(self, tz: str = DEFAULT_TZ) -> None:
        self.tz = zone(tz)
        self.name = tz

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.tz)

    def day(self, t: float) -> int:
        """Local calendar day as a proleptic ordinal (a small int that persists well)."""
        return self.local(t).date().toordinal()

    def minute_of_day(self, t: float) -> float:
        d = self.local(t)
        return d.hour * 60 + d.minute + (d.second + d.microsecond / 1e6) / 60

    def at(self, day: int, minute: float) -> float:
        """Unix time of `minute` after local midnight on `day` (minute may exceed 1440).

        In a DST gap the clock time does not exist; fold=0 then maps it forward, which is
        what a person setting a timer would expect."""
        base = datetime.combine(date.fromordinal(day), time(0), self.tz)
        whole = int(minute)
        local = base + timedelta(minutes=whole)
        # Re-attach the zone after the arithmetic so the offset of that moment is used.
        local = datetime(local.year, local.month, local.day, local.hour, local.minute,
                         tzinfo=self.tz)
        return local.timestamp() + (minute - whole) * 60

    def intervals(self, windows: list[tuple[int, int]], start_day: int) -> Iterator[tuple[float, float]]:
        """Window intervals in Unix seconds, day by day from `start_day`, in time order.

        Windows are assumed not to overlap each other."""
        day = start_day
        while True:
            spans = []
            for a, b in windows:
                end = b if b > a else b + 1440
                spans.append((self.at(day, a), self.at(day, end) if end <= 1440
                              else self.at(day + 1, end - 1440)))
            spans.sort()
            yield from spans
            day += 1

    def in_windows(self, t: float, windows: list[tuple[int, int]]) -> bool:
        if not windows:
            return True
        m = self.minute_of_day(t)
        return any((a <= m < b) if b > a else (m >= a or m < b) for a, b in windows)

    def window_seconds_to_deadline(self, since: float, seconds: float,
                                   windows: list[tuple[int, int]]) -> float:
        """Earliest instant T at which `seconds` of in-window time have passed since `since`.

        With no windows this is simply since + seconds. A timer that counts only inside
        windows lets one rule say both "3 h without movement during the day" (window
        07:00-22:00) and the classic check window "some movement between 07 and 10"
        (window 07:00-10:00 with a 3 h timer): a night's sleep does not use the timer up."""
        if not windows:
            return since + seconds
        left = seconds
        for a, b in self.intervals(windows, self.day(since) - 1):
            if b <= since:
                continue
            a = max(a, since)
            if b - a >= left:
                return a + left
            left -= b - a
        raise AssertionError("unreachable: intervals is infinite")


class ZonedSettings(DetectorSettings):
    """Base of the settings of every detector that keeps local time (windows, days): the
    home's timezone comes from the config's top-level `timezone` unless a table overrides it."""

    timezone: str | None = Field(None, title="IANA time zone of the home (default: the gateway's, else Europe/Helsinki)")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return validate_tz(v)

    def clock(self, home_timezone: str | None = None) -> LocalClock:
        return LocalClock(self.timezone or home_timezone or DEFAULT_TZ)


def _window(text: str) -> str:
    parse_window(text)
    return text


def _hhmm(text: str) -> str:
    parse_hhmm(text)
    return text


# Settings field types: a typo in a window or a time of day fails at config load, naming
# the value, in every detector that uses one (instead of a validator per detector).
Window = Annotated[str, AfterValidator(_window)]
Windows = Annotated[list[str], AfterValidator(validate_windows)]
TimeOfDay = Annotated[str, AfterValidator(_hhmm)]

ZonedT = TypeVar("ZonedT", bound=ZonedSettings)


class LocalTimeDetector(TimedDetector[ZonedT], Generic[ZonedT]):
    """A detector whose rules are written in the home's wall-clock time: it gets `clock`,
    a LocalClock in the table's timezone, else the home's, else Europe/Helsinki."""

    def __init__(self, settings: ZonedT, sensors: Mapping[str, SensorMeta],
                 timezone: str | None = None, *, homes: HomeTrackers | None = None) -> None:
        self.clock = settings.clock(timezone)  # before setup() runs
        super().__init__(settings, sensors, timezone, homes=homes)
