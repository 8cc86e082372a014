"""What each sensor of an event log is: its room, its kind and its role, from a map
(MAP.csv) or, without one, from CASAS-style names and the states it reports.

Why apart: these decisions are shown to the user (a table) and are the part people
correct; keeping them in one place keeps the rules readable (docs/trace-format.md).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gateway.trace.csvimport import _is_number
from gateway.trace.eventlogs import EventLogError
from sensordata.trace.model import StreamInfo

KINDS = ("motion", "door", "bed", "contact", "light", "ignore")
ON_STATES = frozenset({"on", "open", "opened", "present", "detected", "true", "occupied"})
OFF_STATES = frozenset({"off", "close", "closed", "absent", "clear", "false", "unoccupied"})
#: Home Assistant writes these when a device is not reachable: not a state of the home.
UNAVAILABLE = frozenset({"unavailable", "unknown", "none", ""})

#: Name fragments (lower case, longest first) -> room id. The ids are the simulator's and
#: the detectors' defaults (bathroom, hall, ...).
ROOM_WORDS: tuple[tuple[str, str], ...] = (
    ("mainentryway", "entrance"), ("frontdoor", "entrance"), ("maindoor", "entrance"),
    ("entryway", "entrance"), ("entrance", "entrance"), ("entry", "entrance"),
    ("foyer", "entrance"), ("porch", "entrance"), ("front", "entrance"),
    ("livingroom", "living"), ("lounge", "living"), ("living", "living"), ("sofa", "living"),
    ("diningroom", "dining"), ("dining", "dining"),
    ("bedroom", "bedroom"), ("bed", "bedroom"),
    ("bathroom", "bathroom"), ("toilet", "bathroom"), ("shower", "bathroom"),
    ("bath", "bathroom"), ("wc", "bathroom"),
    ("kitchen", "kitchen"), ("fridge", "kitchen"), ("stove", "kitchen"),
    ("office", "office"), ("study", "office"), ("workarea", "office"), ("desk", "office"),
    ("hallway", "hall"), ("corridor", "hall"), ("hall", "hall"),
    ("laundry", "laundry"), ("garage", "garage"), ("closet", "closet"),
)
#: Rooms whose door is the home's outer door, and whose motion sensor stands in for it.
ENTRANCE_ROOMS = frozenset({"entrance", "entry", "entryway", "front_door", "frontdoor",
                            "foyer", "porch", "outside", "vestibule"})
#: A door of such a room is an inner door, not the way out.
INNER_ROOM_WORDS = ("bed", "bath", "toilet", "wc", "shower", "closet", "wardrobe", "cupboard",
                    "pantry", "storage")
ID_LIKE = re.compile(r"^[A-Za-z]{1,3}\d{2,4}$")   # M001, D002, T003, LS004, MA020


@dataclass(frozen=True)
class SensorPlan:
    """What one sensor of the log becomes, and why (shown to the user)."""

    sensor: str
    room: str | None
    kind: str
    role: str | None = None
    why: str = ""

    def stream(self, driver: str) -> StreamInfo | None:
        reading = {"motion": "motion", "door": "contact", "contact": "contact",
                   "bed": "presence", "light": "button"}.get(self.kind)
        if reading is None:
            return None
        return StreamInfo(self.sensor, reading, driver=driver, model=self.kind,
                          room=self.room, role=self.role)


def read_map(path: str) -> dict[str, SensorPlan]:
    """MAP.csv: header `sensor,room,kind` (an optional `role` column: outer_door,
    entrance, bed); one line per sensor of the log."""
    plans: dict[str, SensorPlan] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise EventLogError(f"{path}: not UTF-8 text") from None
    if not rows:
        raise EventLogError(f"{path}:1: the map is empty; its header is sensor,room,kind")
    header = [h.strip().lower() for h in rows[0]]
    if header[:3] != ["sensor", "room", "kind"]:
        raise EventLogError(f"{path}:1: the header must be sensor,room,kind[,role], "
                            f"not {','.join(rows[0])!r}")
    for n, row in enumerate(rows[1:], 2):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) < 3:
            raise EventLogError(f"{path}:{n}: {','.join(row)!r} needs sensor,room,kind")
        sensor, room, kind = cells[0], cells[1] or None, cells[2].lower()
        role = cells[3] if len(cells) > 3 and cells[3] else None   # empty: the default
        if kind not in KINDS:
            raise EventLogError(f"{path}:{n}: kind {cells[2]!r} of {sensor} is not one of "
                                f"{', '.join(KINDS)}")
        if sensor in plans:
            raise EventLogError(f"{path}:{n}: sensor {sensor} is mapped twice")
        if room is None and kind != "ignore":
            raise EventLogError(f"{path}:{n}: sensor {sensor} has no room; give one (or kind "
                                "ignore)")
        room = _room_id(room) if room else None
        if role is None:
            role = _default_role(kind, room)
        elif role.lower() in ("none", "-"):
            role = None
        plans[sensor] = SensorPlan(sensor, room, kind, role, f"map {Path(path).name}:{n}")
    return plans


def _room_id(text: str) -> str:
    """A room as the config wants its id: lower case, words joined by _."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_") or "room"


def _default_role(kind: str, room: str | None) -> str | None:
    """A door is the home's outer door unless it is a bedroom's, a bathroom's or a closet's
    (CASAS homes put door contacts on the doors out: front, back, garage); a motion sensor
    in the entrance stands in for a door the home lacks."""
    if kind == "door":
        inner = room is not None and any(w in room for w in INNER_ROOM_WORDS)
        return None if inner else "outer_door"
    if kind == "motion" and is_entrance(room):
        return "entrance"
    return "bed" if kind == "bed" else None


def is_entrance(room: str | None) -> bool:
    """An entrance by its id's words: `entrance`, `entry_hall`, `front_entry`, `mudroom`
    (a map names rooms as people do; a hall alone is not the way in)."""
    if room is None:
        return False
    if room in ENTRANCE_ROOMS:
        return True
    words = room.split("_")
    return any(w.startswith("entr") or w.endswith(("entry", "entryway", "entrance"))
               or w in ENTRANCE_ROOMS or w in ("mudroom", "lobby") for w in words)


def room_from_name(name: str) -> str | None:
    """CASAS-style names say the room: BedroomAArea -> bedroom, KitchenASink -> kitchen,
    MainEntryway -> entrance; Home Assistant entity ids likewise (binary_sensor.hall_pir)."""
    low = re.sub(r"[^a-z]", "", name.split(".", 1)[-1].lower())
    found = [(low.find(word), -len(word), room) for word, room in ROOM_WORDS if word in low]
    return min(found)[2] if found else None   # the word the name begins with wins


def _kind_from_states(name: str, states: Counter[str]) -> tuple[str, str]:
    words = {s.lower() for s in states}
    low = name.lower()
    if words and all(_is_number(s) for s in words):
        return "ignore", "numeric states (a temperature or light level)"
    if words & {"open", "opened", "close", "closed"}:
        return "door" if "window" not in low else "contact", "OPEN/CLOSE states"
    if low.startswith("light.") or "light" in low or "lamp" in low:
        return "light", "a light in its name"
    if "door" in low and low.startswith("binary_sensor."):
        return "door", "a door in its name"
    return "motion", "ON/OFF states (a motion sensor)"


#: The sensor-type column of CASAS exports (lower case, after the vendor's `-`) -> kind.
TYPE_KINDS: tuple[tuple[str, str], ...] = (
    ("door", "door"), ("motion", "motion"), ("temperature", "ignore"),
    ("lightsensor", "ignore"), ("light_sensor", "ignore"), ("battery", "ignore"),
    ("humidity", "ignore"), ("power", "ignore"), ("light", "light"),
)


def _kind_from_type(hint: str) -> str | None:
    low = hint.split("-", 1)[-1].lower()
    return next((kind for word, kind in TYPE_KINDS if word in low), None)


def plan_sensors(names: dict[str, Counter[str]], mapped: dict[str, SensorPlan] | None,
                 where: dict[str, str], hints: dict[str, str] | None = None,
                 aliases: dict[str, tuple[str, ...]] | None = None) -> dict[str, SensorPlan]:
    """Decide each sensor's room, kind and role: from the map when there is one (every
    sensor must be in it, by its id or by a second name the log writes beside it, except
    those whose states are only numbers, which are ignored), else from its name, its
    type column (Control4-Door) and its states."""
    hints, aliases = hints or {}, aliases or {}
    plans: dict[str, SensorPlan] = {}
    for name, states in names.items():
        numeric = bool(states) and all(_is_number(s) for s in states)
        if mapped is not None:
            if name in mapped:
                plans[name] = mapped[name]
                continue
            alias = next((a for a in aliases.get(name, ()) if a in mapped), None)
            if alias is not None:
                p = mapped[alias]
                plans[name] = SensorPlan(name, p.room, p.kind, p.role, f"{p.why} (as {alias})")
                continue
            if numeric:
                plans[name] = SensorPlan(name, None, "ignore", None,
                                         "not in the map; numeric states")
                continue
            raise EventLogError(f"{where[name]}: sensor {name} is not in the map; add a line "
                                f"'{name},ROOM,KIND' (kind one of {', '.join(KINDS)})")
        kind, why = _kind_from_states(name, states)
        typed = _kind_from_type(hints[name]) if name in hints else None
        if typed is not None and not numeric:
            kind, why = typed, f"type column {hints[name]}"
        if kind == "ignore":
            plans[name] = SensorPlan(name, None, kind, None, why)
            continue
        room = room_from_name(name)
        for alias in aliases.get(name, ()):
            if room is None:
                room = room_from_name(alias)
                why += f"; room from its name {alias}" if room else ""
        if room is None:
            hint = (f"ids like {name} name no room" if ID_LIKE.match(name)
                    else f"{name} names no room this import knows")
            raise EventLogError(f"{where[name]}: {hint}; give --map MAP.csv with the header "
                                f"sensor,room,kind and a line such as '{name},bedroom,motion'")
        if name.lower().endswith("bed") and kind == "motion":
            why += "; 'Bed' in a CASAS name is a motion sensor over the bed"
        plans[name] = SensorPlan(name, room, kind, _default_role(kind, room),
                                 f"name; {why}")
    return plans
