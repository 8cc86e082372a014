"""MQTT event payload -> the Contact ID report a DC-09 receiver gets: `Q CCC GG ZZZ`.

WHY the bridge maps by event *type* with its own catalogue, not by the code in the
payload: a gateway still running an older release sends `fall_suspected` with 120 and no
qualifier; the centre must not get that as a fall. Known types therefore always follow
gateway/catalogue.py (docs/contact-id.md); a type the bridge does not know yet (a newer
gateway) falls back to the payload's own `code.contact_id` and `code.qualifier`.

Zone (ZZZ): the zone of the event's room for that account; when the room has none (or
the event names no room) the sensor's user number, when the account maps one (a pendant
or wristband is the resident's own device); otherwise 000, which Contact ID reads as
"the whole system".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.catalogue import CATALOGUE, NEW_EVENT, QUALIFIERS


@dataclass(frozen=True)
class Report:
    qualifier: int
    code: int
    group: int
    zone: int

    def data(self, account: str) -> str:
        """The ADM-CID data field of a DC-09 message: `#ACCT|QCCC GG ZZZ`."""
        return f"#{account}|{self.qualifier}{self.code:03d} {self.group:02d} {self.zone:03d}"


@dataclass(frozen=True)
class AccountMap:
    """What an account's rooms and sensors are called in Contact ID."""

    group: int = 1
    zones: Mapping[str, int] | None = None
    users: Mapping[str, int] | None = None


def code_for(payload: Mapping[str, Any]) -> tuple[int, int]:
    """(qualifier, code) for a payload; code 0 means it is not sent as Contact ID."""
    known = CATALOGUE.get(str(payload.get("type")))
    if known is not None:
        return (known.qualifier, known.contact_id) if known.contact_id else (NEW_EVENT, 0)
    raw = payload.get("code")
    code: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    cid, qualifier = code.get("contact_id"), code.get("qualifier", NEW_EVENT)
    if not isinstance(cid, int) or not 0 < cid <= 999 or qualifier not in QUALIFIERS:
        return NEW_EVENT, 0
    return qualifier, cid


def report_for(payload: Mapping[str, Any], mapping: AccountMap) -> Report | None:
    qualifier, code = code_for(payload)
    if not code:
        return None
    room, sensor = payload.get("room"), payload.get("sensor")
    zone = (mapping.zones or {}).get(room, 0) if isinstance(room, str) else 0
    if not zone and isinstance(sensor, str):
        zone = (mapping.users or {}).get(sensor, 0)
    return Report(qualifier, code, mapping.group, zone)
