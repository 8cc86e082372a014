"""Issue 26's corpus: every inbound field of every MQTT message, with every JSON type in its place.

Generated, not hand-listed: each message the gateway, the receiver (gateway/centre) or the
bridge reads has an honest base payload and a list of fields (dotted paths for nested
ones); every field is replaced in turn by every hostile value below, written as raw
JSON text so that tokens `json.dumps` would never produce (NaN, Infinity, 1e999, lone
surrogates, huge integers) reach the parser exactly as an attacker would send them.
The payload as a whole is replaced by each hostile value too.

What reads what:
- the gateway reads `ack` and `cmd/{test_alarm,status,silence_sensor}` (from the centre);
- the receiver and the bridge read `alarm`, `event`, `status` and `heartbeat` (from gateways).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

LONG = 60_000   # characters: under the gateway's 64 KiB payload limit, far over any field's

# name -> raw JSON text of the value
HOSTILE_VALUES: dict[str, str] = {
    "object": '{"operator": "op-1", "desk": 3}',
    "list": '[1, "a", null, {"b": []}]',
    "empty list": "[]",
    "huge int": str(2**70),
    "huge negative int": str(-(2**70)),
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e999": "1e999",
    "null": "null",
    "true": "true",
    "float": "1.5",
    "zero": "0",
    "empty string": '""',
    "NUL in string": '"a\\u0000b"',
    "lone surrogate": '"\\ud800"',
    "lone low surrogate": '"x\\udfffy"',
    "control characters": '"\\u0007\\u001b[31m\\r\\n"',
    "long string": '"' + "x" * LONG + '"',
}

_MARK = "\x00HOSTILE\x00"


@dataclass(frozen=True)
class Message:
    """One kind of inbound message: where it goes, an honest body, the fields to spoil."""

    leaf: str                       # topic leaf under safehome/v1/{gateway_id}/
    base: dict[str, Any]
    fields: tuple[str, ...]         # dotted paths into `base`
    fresh_id: bool = False          # a new `id` in every variant (else copies look duplicate)


@dataclass(frozen=True)
class Hostile:
    name: str
    leaf: str
    payload: bytes


def spoil(base: dict[str, Any], path: str, raw: str) -> bytes:
    """`base` as JSON with the field at `path` (dotted) replaced by the raw JSON text `raw`."""
    body = json.loads(json.dumps(base))
    node = body
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = _MARK
    text = json.dumps(body).replace(json.dumps(_MARK), raw, 1)
    return text.encode("utf-8")


def generate(messages: list[Message], values: dict[str, str] | None = None) -> Iterator[Hostile]:
    """Every field of every message with every hostile value, and every hostile value as
    the whole payload of every message."""
    values = HOSTILE_VALUES if values is None else values
    for m in messages:
        for vname, raw in values.items():
            yield Hostile(f"{m.leaf} whole payload {vname}", m.leaf, raw.encode("utf-8"))
            for path in m.fields:
                base = {**m.base, "id": str(uuid.uuid4())} if m.fresh_id else m.base
                yield Hostile(f"{m.leaf}.{path} {vname}", m.leaf, spoil(base, path, raw))


# -- what the gateway reads (from the centre) -------------------------------------------
def ack(alarm_id: str) -> Message:
    return Message("ack", {"id": alarm_id, "by": "op-1", "at": "2026-11-26T02:10:41.250Z"},
                   ("id", "by", "at"))


def gateway_commands(sensor: str) -> list[Message]:
    return [
        Message("cmd/test_alarm", {"id": "c-test"}, ("id",)),
        Message("cmd/status", {"id": "c-status"}, ("id",)),
        Message("cmd/silence_sensor", {"id": "c-silence", "sensor": sensor,
                                       "until": "2026-01-01T00:00:00Z"}, ("id", "sensor", "until")),
    ]


def gateway_inbound(alarm_id: str, sensor: str) -> list[Hostile]:
    return list(generate([ack(alarm_id), *gateway_commands(sensor)]))


# -- what the receiver and the bridge read (from gateways) ------------------------------
def gateway_outbound(alarm: dict[str, Any], event: dict[str, Any], status: dict[str, Any],
                     heartbeat: dict[str, Any]) -> list[Message]:
    """The honest payloads a gateway publishes, each field (and a few nested ones) spoilable."""
    def fields(body: dict[str, Any], nested: tuple[str, ...] = ()) -> tuple[str, ...]:
        return (*body, *nested)
    nested = ("code.contact_id", "code.qualifier", "text.en", "text.fi", "evidence.x")
    return [
        Message("alarm", alarm, fields(alarm, nested), fresh_id=True),
        Message("event", event, fields(event, nested), fresh_id=True),
        Message("status", status, fields(status)),
        Message("heartbeat", heartbeat, fields(heartbeat, ("sensors.x",))),
    ]
