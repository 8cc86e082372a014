"""What a receiver (gateway/centre) and the DC-09 bridge accept from a gateway, field by field.

WHY lenient, unlike the gateway's own inbound models (gateway/inbound_models.py): an
alarm is worth more than its formatting. A gateway with a bug (an object where `text.en`
should be, a `seq` of 2^70, a NaN confidence) still reports a person in need; refusing
the whole alarm would lose it. So every field the readers use is checked for its type
and bounds, a field that fails is dropped (set to None) and named in `problems`, and
only an alarm without a usable `id` (nothing to acknowledge or de-duplicate by) is
refused as a whole. Unknown fields are kept only when they are plain JSON that encodes
as UTF-8 without NaN, so the body can always be logged, written to SQLite/CSV and sent.
Text refuses control characters other than newline/tab and lone surrogates (issue 26:
a lone surrogate in an alarm failed the receiver's SQLite log on every copy).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

MAX_ID = 128
MAX_SHORT = 128     # type, severity, room, sensor, site and gateway ids, times
MAX_TEXT = 2000     # a human-readable text
MAX_INT = 2**53     # what every JSON reader (and SQLite) takes exactly
MAX_EXTRA = 16_384  # bytes of an unknown field kept


def _text(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or len(value) > limit:
            raise ValueError
        value.encode("utf-8")   # UnicodeEncodeError (a ValueError) on a lone surrogate
        if any(ord(c) < 0x20 and c not in "\n\t" or 0x7F <= ord(c) < 0xA0 for c in value):
            raise ValueError
        return value
    return check


def _int(lo: int, hi: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError
        return value
    return check


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) > MAX_INT:
        raise ValueError
    return float(value)


def _between(lo: float, hi: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        number = _number(value)
        if not lo <= number <= hi:
            raise ValueError
        return number
    return check


def _bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _mapping(key: Callable[[Any], Any], item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, dict) or len(value) > 64:
            raise ValueError
        return {key(k): item(v) for k, v in value.items()}
    return check


SHORT, TEXT = _text(MAX_SHORT), _text(MAX_TEXT)
CODE = _mapping(SHORT, _int(0, 9999))

EVENT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "schema": _int(0, 1000), "seq": _int(0, MAX_INT), "gateway_id": SHORT, "site_id": SHORT,
    "type": SHORT, "class": SHORT, "severity": SHORT, "code": CODE, "occurred_at": SHORT,
    "detected_at": SHORT, "room": SHORT, "sensor": SHORT, "confidence": _number,
    "evidence": _mapping(SHORT, _number), "text": _mapping(SHORT, TEXT), "attempt": _int(0, MAX_INT),
    "ref": SHORT, "test": _bool,
}
STATUS_FIELDS: dict[str, Callable[[Any], Any]] = {
    "state": SHORT, "gateway_id": SHORT, "site_id": SHORT, "since": SHORT, "version": SHORT,
    "reason": TEXT,
}
HEARTBEAT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "schema": _int(0, 1000), "gateway_id": SHORT, "site_id": SHORT, "seq": _int(0, MAX_INT),
    "at": SHORT, "interval": _between(0.1, 86_400), "uptime": _number, "pending": _int(0, MAX_INT),
    "unacknowledged": _int(0, MAX_INT), "storage": SHORT,
}


def _plain(value: Any) -> bool:
    """Plain JSON: encodes as UTF-8, no NaN/Infinity, not huge."""
    try:
        return len(json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")) <= MAX_EXTRA
    except (ValueError, TypeError):
        return False


def clean(body: Mapping[str, Any], fields: Mapping[str, Callable[[Any], Any]]
          ) -> tuple[dict[str, Any], list[str]]:
    """`body` with each known field checked (a bad one becomes None) and unknown fields kept
    when plain; and the names of the fields that were dropped or blanked."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in body.items():
        if not isinstance(key, str) or not _plain(key):
            problems.append("a field name")
            continue
        check = fields.get(key)
        if value is None:
            out[key] = None
            continue
        try:
            out[key] = check(value) if check is not None else value
        except (ValueError, TypeError):
            out[key] = None
            problems.append(key[:40])
            continue
        if check is None and not _plain(value):
            del out[key]
            problems.append(key[:40])
    return out, problems


def clean_event(body: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """An alarm or event as a gateway published it, made safe to use; None when its `id`
    is not usable (nothing to acknowledge it by)."""
    out, problems = clean(body, {**EVENT_FIELDS, "id": _text(MAX_ID)})
    if not out.get("id"):
        return None, problems or ["id"]
    return out, problems


def clean_status(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return clean(body, STATUS_FIELDS)


def clean_heartbeat(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return clean(body, HEARTBEAT_FIELDS)
