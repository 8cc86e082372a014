"""The one event model that flows detector -> store -> uplink -> alarm centre.

An event is frozen once made. Its `id` is a UUIDv7 (time-ordered, unique without
coordination) that never changes, so every retry carries the same id and receivers drop
duplicates. `seq` counts the gateway's events one by one, across restarts, so the centre
can see a gap. `occurred_at` is sensor time (what happened); `detected_at` is the gateway
clock when the detection was made. Both are Unix seconds here and ISO 8601 UTC on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import uuid6

from gateway.catalogue import ALARM, EventType, describe
from sensordata.timefmt import iso as iso  # the wire format's time, re-exported
from sensordata.timefmt import parse_iso as parse_iso

SCHEMA_VERSION = 1


def new_event_id() -> str:
    """A fresh RFC 9562 UUIDv7: Unix milliseconds first, so ids sort by creation time and
    stay monotonic within a millisecond. uuid6 (the draft's reference implementation)
    replaces a hand-written generator; Python's own uuid.uuid7 arrives only in 3.14."""
    return str(uuid6.uuid7())


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    seq: int
    type: str
    severity: str
    occurred_at: float
    detected_at: float
    text: Mapping[str, str]
    room: str | None = None
    sensor: str | None = None
    confidence: float | None = None
    evidence: Mapping[str, float] = field(default_factory=dict)
    ref: str | None = None
    test: bool = False

    @property
    def is_alarm(self) -> bool:
        return describe(self.type).kind == ALARM

    def payload(self, gateway_id: str, site_id: str, attempt: int = 1) -> dict[str, Any]:
        """The JSON object published on the `alarm` or `event` topic (docs/mqtt-api.md)."""
        info = describe(self.type)
        out: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "id": self.id,
            "seq": self.seq,
            "gateway_id": gateway_id,
            "site_id": site_id,
            "type": self.type,
            "class": info.kind,
            "severity": self.severity,
            "code": code_of(info),
            "occurred_at": iso(self.occurred_at),
            "detected_at": iso(self.detected_at),
            "room": self.room,
            "sensor": self.sensor,
            "confidence": None if self.confidence is None else round(float(self.confidence), 3),
            "evidence": {k: _num(v) for k, v in self.evidence.items()},
            "text": dict(self.text),
            "attempt": attempt,
        }
        if self.ref:
            out["ref"] = self.ref
        if self.test:
            out["test"] = True
        return out

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id, "seq": self.seq, "type": self.type, "severity": self.severity,
            "occurred_at": self.occurred_at, "detected_at": self.detected_at,
            "text": dict(self.text), "room": self.room, "sensor": self.sensor,
            "confidence": self.confidence, "evidence": dict(self.evidence), "ref": self.ref,
            "test": self.test,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Event":
        return cls(**{k: row[k] for k in (
            "id", "seq", "type", "severity", "occurred_at", "detected_at", "text", "room",
            "sensor", "confidence", "evidence", "ref", "test")})


def code_of(info: EventType) -> dict[str, int]:
    """The payload's `code`: the Contact ID code and, for coded types, its qualifier
    (1 new event, 3 restore, 6 status report; docs/contact-id.md)."""
    if not info.contact_id:
        return {"contact_id": 0}
    return {"contact_id": info.contact_id, "qualifier": info.qualifier}


def _num(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        f = float(v)
        return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 4)
    return v
