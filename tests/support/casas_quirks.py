"""What real CASAS month logs do to a clean log, as functions of a generated month's lines
(tests/support/casas_month.py), so the importer and the home detectors meet every quirk
of the public WSU CASAS data sets without any of their data in the repository.

Each function takes the lines (`date time<TAB>sensor<TAB>state<TAB>label`) and returns
them as one kind of real log writes them:
- `without_fractions`: times to the second (older homes: `2009-06-10 03:20:59`);
- `space_separated`: `date time sensor state label` with spaces (aruba, milan);
- `date_tab_time`: a tab between date and time too;
- `with_type_column`: the sensor type after the state (`ON<TAB>Control4-Motion`), the
  label after it (the hh homes);
- `with_location_names`: the sensor's location names between its id and its state;
- `hh_annotated`: `id<TAB>location<TAB>place<TAB>state<TAB>type<TAB>activity` on every line
  (`Ignore` where a sensor has no location, an activity on each line);
- `hh_names`: location-based names (`BedroomAArea`, `OfficeAArea`, `FrontDoor`) instead
  of ids, with `HH_MAP_CSV`;
- `with_levels`: light levels (`LS001 12`), light switches, battery levels (`BATP001 87`);
- `duplicated`: a hub that sends a message twice;
- `late`: lines a few seconds to minutes behind their neighbours (merged hubs);
- `logger_outage`: every line of a stretch missing (the logger was down);
- `night_triggers`: the bathroom PIR firing once by itself between 01:00 and 05:00 on a
  share of nights (the heating; the sleeper seen through the door).
"""

from __future__ import annotations

import random

from tests.support.casas_month import TZ

__all__ = ["TZ", "HH_MAP_CSV", "LEVELS_MAP_CSV", "without_fractions", "space_separated",
           "date_tab_time", "with_type_column", "with_location_names", "hh_annotated", "hh_names",
           "with_levels", "duplicated", "late", "logger_outage", "night_triggers"]

#: casas_month's ids as an hh home names them (its ids: casas_month.MAP_CSV).
HH_NAMES = {"M001": "BedroomABed", "M002": "BedroomAArea", "M003": "BathroomAArea",
            "M004": "KitchenAArea", "M005": "KitchenAStove", "M006": "LivingRoomAArea",
            "M007": "WorkArea", "M008": "EntrywayA", "D001": "FrontDoor",
            "T001": "KitchenATemperature"}
HH_MAP_CSV = """sensor,room,kind
BedroomABed,bedroom,motion
BedroomAArea,bedroom,motion
BathroomAArea,bathroom,motion
KitchenAArea,kitchen,motion
KitchenAStove,kitchen,motion
LivingRoomAArea,living room,motion
WorkArea,work area,motion
EntrywayA,entrance,motion
FrontDoor,entrance,door
KitchenATemperature,kitchen,ignore
"""
TYPES = {"M": "Control4-Motion", "D": "Control4-Door", "T": "Control4-Temperature"}
LOCATIONS = {"M001": "Bedroom", "M002": "Bedroom", "M003": "Bathroom", "M004": "Kitchen",
             "M005": "Kitchen", "M006": "LivingRoom", "M007": "WorkArea", "M008": "Entry",
             "D001": "Entry", "T001": "Kitchen"}
#: casas_month.MAP_CSV plus the sensors `with_levels` adds.
LEVELS_MAP_CSV = "LS001,living room,ignore\nL001,kitchen,ignore\nBATP001,bedroom,ignore\n"


def _split(line: str) -> list[str]:
    return line.split("\t")


def without_fractions(lines: list[str]) -> list[str]:
    return [line[:19] + line[26:] for line in lines]


def space_separated(lines: list[str]) -> list[str]:
    return [" ".join(f for f in _split(line) if f) for line in lines]


def date_tab_time(lines: list[str]) -> list[str]:
    return [line.replace(" ", "\t", 1) for line in lines]


def with_type_column(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        f = _split(line)
        f.insert(3, TYPES[f[1][0]])
        out.append("\t".join(f).rstrip("\t"))
    return out


def with_location_names(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        f = _split(line)
        where = LOCATIONS[f[1]]
        out.append("\t".join(f[:2] + [where, where] + f[2:]))
    return out


def hh_annotated(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        f = _split(line)
        where = ("Ignore", "Ignore") if f[1][0] == "T" else (LOCATIONS[f[1]], "Living Room")
        hour = int(f[0][11:13])
        activity = "Sleep" if hour >= 23 or hour < 7 else "Other_Activity"
        out.append("\t".join([f[0], f[1], *where, f[2], TYPES[f[1][0]], activity]))
    return out


def hh_names(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        f = _split(line)
        f[1] = HH_NAMES[f[1]]
        out.append("\t".join(f))
    return out


def with_levels(lines: list[str], seed: int = 0) -> list[str]:
    """A light level every 20 min (a number), the kitchen light switched ON/OFF around
    meals, a battery level each morning."""
    rng = random.Random(seed)
    out: list[str] = []
    last_level = ""
    for line in lines:
        out.append(line)
        when = line.split("\t", 1)[0]          # `date time` of a tab-separated line
        stamp = when[:16]
        if stamp[-2:] in ("00", "20", "40") and stamp != last_level:
            last_level = stamp
            out.append(f"{when}\tLS001\t{rng.randint(0, 60)}\t")
        if "\tM005\tON" in line and rng.random() < 0.05:
            out.append(f"{when}\tL001\t{rng.choice(('ON', 'OFF'))}\t")
        if stamp[11:16] == "06:00" and rng.random() < 0.5:
            out.append(f"{when}\tBATP001\t{rng.randint(60, 100)}\t")
    return out


def duplicated(lines: list[str], share: float = 0.03, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [x for line in lines for x in ([line, line] if rng.random() < share else [line])]


def late(lines: list[str], share: float = 0.01, seed: int = 0) -> list[str]:
    """A share of lines written after the lines of the next 1-60 s (their times kept)."""
    rng = random.Random(seed)
    out = list(lines)
    for i in range(len(out) - 30):
        if rng.random() < share:
            j = i
            while j + 1 < len(out) and out[j + 1][:19] <= _plus(out[i][:19], rng.randint(1, 60)):
                j += 1
            out.insert(j, out.pop(i))
    return out


def _plus(stamp: str, seconds: int) -> str:
    from datetime import datetime, timedelta
    return (datetime.fromisoformat(stamp) + timedelta(seconds=seconds)).isoformat(" ")


def logger_outage(lines: list[str], start: str, end: str) -> list[str]:
    """Every line from `start` to `end` (local `YYYY-MM-DD HH:MM`) missing."""
    return [line for line in lines if not start <= line[:16] < end]


def night_triggers(lines: list[str], share: float = 0.33, seed: int = 0, sensor: str = "M003",
                   tz: str = TZ) -> list[str]:
    """`lines` as casas_month writes them (tab-separated, with fractions), before renaming."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    rng, zone = random.Random(seed), ZoneInfo(tz)
    first = datetime.fromisoformat(lines[0][:10])
    days = (datetime.fromisoformat(lines[-1][:10]) - first).days + 1
    out = list(lines)
    for d in range(days):
        if rng.random() < share:
            t = (first + timedelta(days=d)).replace(tzinfo=zone).timestamp() + rng.uniform(1, 5) * 3600
            for dt, state in ((0.0, "ON"), (2.0, "OFF")):
                stamp = datetime.fromtimestamp(t + dt, zone).strftime("%Y-%m-%d %H:%M:%S.%f")
                out.append(f"{stamp}\t{sensor}\t{state}\t")
    return sorted(out, key=lambda line: datetime.fromisoformat(line[:26]).replace(tzinfo=zone)
                  .timestamp())
