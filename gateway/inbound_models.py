"""Typed models of what the centre sends the gateway: every field checked before it is used.

WHY: an ack's `by` went straight into an SQL parameter. A centre that sent
`"by": {"operator": "op-1"}` made SQLite refuse the row, and the event store took that
for a broken disk (issue 26). Every inbound message is therefore validated here into a
frozen model with strict types and bounded sizes before anything reaches the store, the
log or the outbox; a message that does not fit is refused as a whole with one line that
names the field, the problem and the value (cut short), and the caller logs it
rate-limited. Text fields refuse control characters (NUL included) and lone surrogates
(`"\\ud800"` is valid JSON but cannot be encoded as UTF-8, so SQLite and the log would
fail on it later, far from the cause).

Unknown fields in an ack are ignored (docs/schemas/ack.json allows them; a centre may
add its own); a command with a field it does not know is refused (gateway/remote_commands.py
answers it with an error result).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
)

from gateway.inbound import PayloadError, parse_object

MAX_TEXT = 128          # operator ids, command ids, sensor ids
MAX_TIME_TEXT = 40      # "2026-11-26T02:10:41.250000+02:00" is 32


def clean_text(value: str) -> str:
    """`value` unless it holds a control character or a lone surrogate (ValueError)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode (a lone surrogate such as \\ud800)") from None
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError("contains a control character (such as NUL)")
    return value


def event_id(value: str) -> str:
    """An event id: a UUID in any of its spellings, as the gateway writes it (lower case)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("is not an event id (a UUID such as "
                         "01a2159e-61d8-71de-8b9f-eaa5f1532f6c)") from None


def unix_time(value: str) -> float:
    """An ISO 8601 time with a zone, as Unix seconds."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("is not an ISO 8601 time such as 2026-11-26T02:10:41Z") from None
    if when.tzinfo is None:
        raise ValueError("needs a time zone (such as 'Z')")
    seconds = when.timestamp()
    if not math.isfinite(seconds):
        raise ValueError("is out of range")
    return seconds


Text = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(clean_text)]
EventId = Annotated[StrictStr, Field(max_length=64), AfterValidator(event_id)]
M = TypeVar("M", bound=BaseModel)


class Ack(BaseModel):
    """`safehome/v1/{gateway_id}/ack` (docs/schemas/ack.json): the centre has the alarm."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: EventId
    by: Text | None = None
    at: float | None = None   # Unix seconds; None: when it arrived

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> float | None:
        return None if value is None else _iso_time(value)

    @classmethod
    def parse(cls, raw: bytes | bytearray | str | None) -> "Ack":
        """The ack in `raw`, or PayloadError naming the first problem."""
        return validate(cls, parse_object(raw))


def _iso_time(value: Any) -> float:
    if not isinstance(value, str) or len(value) > MAX_TIME_TEXT:
        raise ValueError("must be an ISO 8601 time such as 2026-11-26T02:10:41Z")
    return unix_time(value)


class Command(BaseModel):
    """`cmd/{name}` (docs/schemas/command_*.json): an id, and no field the command does
    not know (a misspelt field must not be silently ignored by a command that acts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Text


class TestAlarmCmd(Command):
    __test__ = False   # not a pytest class, whatever its name
    pass


class StatusCmd(Command):
    pass


class SilenceSensorCmd(Command):
    sensor: Text
    until: float   # Unix seconds

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, value: Any) -> float:
        return _iso_time(value)


def validate(model: type[M], body: dict[str, Any]) -> M:
    """`body` as `model`, or PayloadError naming the field, the problem and the value."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise PayloadError(describe(exc)) from None


def describe(exc: ValidationError, value_chars: int = 60) -> str:
    """The first problem of a ValidationError in one line: field, problem, value (cut)."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "payload"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"field {field!r} is missing"
    value = repr(first.get("input"))
    if len(value) > value_chars:
        value = value[:value_chars] + "..."
    return f"field {field!r} {msg[0].lower() + msg[1:]}: {value}"
