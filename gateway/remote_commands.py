"""Commands from the alarm centre (`safehome/v1/{gateway_id}/cmd/{name}`): pure decision logic.

WHY a separate, pure class: a command arrives over MQTT, but what it *means* (is it
valid, was it already carried out, which event must the gateway raise, what is the
answer) has nothing to do with sockets. Keeping it free of I/O lets the uplink stay a
thin transport and lets the rules below be tested exhaustively without a broker.

Rules (docs/mqtt-api.md, "Commands"):
- every command carries an `id`; the same id again returns the stored result and has no
  second effect (a centre may re-send when it misses the answer; QoS 1 may duplicate);
- a retained command is ignored: a retained message is old state replayed by the broker
  after every (re)subscribe, not a fresh instruction from an operator;
- a malformed or unknown command yields an error result *and* a `command_error` event
  naming the command and the problem, so the centre sees it even if nobody waits for
  the result topic;
- `silence_sensor` only ever suppresses a sensor's *technical* trouble events (silent,
  battery, not worn, out of range); it can never suppress an alarm such as a fall.

Wiring: gateway/command_wiring.py's DaemonCommands (which imports this module, never the
other way round) carries the decisions out through a narrow CommandHost; the daemon calls
it for every message on `cmd/{name}`:
    out = commands.handle(name, msg.payload, msg.retain, time.time())
    ignored -> nothing; events -> numbered by the pipeline (id = req.event_id) and
    emitted; publish_status -> a heartbeat now; always the answer on `cmd/{name}/result`
    (an MQTT 5 response topic must be exactly that topic: any other refuses the command).
Before emitting technical events the daemon may drop silenced ones with
`DaemonCommands.filter(events)` (uses `suppresses(type, sensor, now)`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Collection, Final, Mapping, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.catalogue import CATALOGUE, EVENT, INFO
from gateway.events import iso, new_event_id
from gateway.inbound import PayloadError, parse_object
from gateway.inbound_models import (
    SilenceSensorCmd,
    StatusCmd,
    TestAlarmCmd,
    clean_text,
    describe,
)

# Technical event types a silenced sensor no longer raises: the sensor-trouble events
# (Contact ID 381 supervision loss, 384 low battery), not their restores. Derived from
# the catalogue so a new trouble type is covered; alarms can never be in here.
SILENCEABLE_TYPES = frozenset(
    t.name for t in CATALOGUE.values()
    if t.kind == EVENT and t.contact_id in (381, 384) and t.severity != INFO)

MAX_SILENCE_S = 30 * 24 * 3600   # a forgotten silence must end by itself
MAX_ID_LEN = 128
M = TypeVar("M", bound=BaseModel)


class GatewayState(Protocol):
    """What the commands need to read from the running gateway."""

    def status_snapshot(self) -> Mapping[str, Any]:
        """The full status now: the heartbeat payload (docs/schemas/heartbeat.json)."""
        ...

    def sensor_ids(self) -> Collection[str]:
        """The ids of the sensors configured in this home."""
        ...


@dataclass(frozen=True, slots=True)
class RaiseEvent:
    """An event the gateway must raise because of a command.

    `event_id` is chosen here so the command's result can name the event it caused
    (the centre then matches the test alarm to its own command)."""

    type: str
    occurred_at: float
    event_id: str
    sensor: str | None = None
    evidence: Mapping[str, float] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)   # for the text templates
    ref: str | None = None
    test: bool = False

    def text_values(self) -> dict[str, Any]:
        """Values for `catalogue.render`: the evidence numbers plus the text-only strings."""
        return {**self.evidence, **self.values, "sensor": self.sensor}


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What the uplink must do after a command: answer, raise events, maybe publish status."""

    name: str
    command_id: str | None
    ok: bool
    result: Mapping[str, Any] | None = None
    error: str | None = None
    events: tuple[RaiseEvent, ...] = ()
    publish_status: bool = False
    duplicate: bool = False     # same id seen before: answer again, do nothing else
    ignored: bool = False       # retained: no answer, no effect

    @property
    def result_payload(self) -> bytes:
        """The JSON answer for `cmd/{name}/result` (docs/schemas/command_result.json)."""
        body: dict[str, Any] = {"id": self.command_id, "ok": self.ok}
        if self.error is not None:
            body["error"] = self.error
        if self.result is not None:
            body["result"] = dict(self.result)
        return json.dumps(body, separators=(",", ":")).encode()

    def result_topic(self, root: str, gateway_id: str) -> str:
        return f"{root}/{gateway_id}/cmd/{self.name}/result"


class CommandError(ValueError):
    """A command that cannot be carried out; the message names the problem."""


class RemoteCommands:
    """Validates and carries out centre commands; remembers ids and silenced sensors."""

    def __init__(self, gateway: GatewayState, memory: int = 256, *, base: str | None = None) -> None:
        """`base` is the gateway's subtree (`{topic_root}/{gateway_id}`): an MQTT 5
        response topic is honoured only when it is `{base}/cmd/{name}/result`."""
        self._gateway = gateway
        self._base = base
        self._memory = memory
        self._done: OrderedDict[str, CommandOutcome] = OrderedDict()
        self._silenced: dict[str, float] = {}

    # ---- the one entry point -------------------------------------------------------
    def handle(self, name: str, payload: bytes, retained: bool, now: float, *,
               response_topic: str | None = None) -> CommandOutcome:
        if retained:
            return CommandOutcome(name, None, ok=False, ignored=True)
        command_id: str | None = None
        try:
            body = _parse(payload)
            command_id = _command_id(body)
            self._check_response_topic(name, response_topic)
            if command_id in self._done:
                return _as_duplicate(self._done[command_id])
            handler = HANDLERS.get(name)
            if handler is None:
                raise CommandError(f"unknown command {name!r}; known: {', '.join(COMMAND_NAMES)}")
            outcome = handler(self, command_id, body, now)
        except CommandError as exc:
            outcome = CommandOutcome(
                name, command_id, ok=False, error=str(exc),
                events=(RaiseEvent("command_error", now, new_event_id(),
                                   values={"command": name, "problem": str(exc)},
                                   ref=command_id),))
        if command_id is not None:
            self._remember(command_id, outcome)
        return outcome

    def _check_response_topic(self, name: str, response_topic: str | None) -> None:
        """Only `cmd/{name}/result` may carry an answer. Any other topic in the gateway's
        subtree would put a command result where the centre expects alarms, or feed the
        gateway its own answer as an ack; one outside it the broker's ACL drops. Either
        way the requester is told, on the default result topic, instead of obeyed."""
        if response_topic is None:
            return
        allowed = f"{self._base}/cmd/{name}/result" if self._base else None
        if response_topic != allowed:
            where = allowed or f"cmd/{name}/result"
            raise CommandError(f"response topic {response_topic[:200]!r} refused: results go "
                               f"only to {where}")

    # ---- silence bookkeeping -------------------------------------------------------
    def is_silenced(self, sensor: str, now: float) -> bool:
        until = self._silenced.get(sensor)
        if until is None:
            return False
        if now >= until:
            del self._silenced[sensor]
            return False
        return True

    def suppresses(self, event_type: str, sensor: str | None, now: float) -> bool:
        """True when a technical event of a silenced sensor must not be raised."""
        return (sensor is not None and event_type in SILENCEABLE_TYPES
                and self.is_silenced(sensor, now))

    def silenced(self, now: float) -> dict[str, float]:
        """Sensor -> silenced until (Unix seconds), for the heartbeat's sensor states."""
        return {s: u for s, u in list(self._silenced.items()) if self.is_silenced(s, now)}

    # ---- the commands (each one listed in HANDLERS below) ---------------------------
    def _test_alarm(self, cid: str, body: Mapping[str, Any], now: float) -> CommandOutcome:
        _typed(TestAlarmCmd, body)
        ev = RaiseEvent("test_alarm", now, new_event_id(), ref=cid, test=True)
        return CommandOutcome("test_alarm", cid, ok=True, result={"event_id": ev.event_id},
                              events=(ev,))

    def _status(self, cid: str, body: Mapping[str, Any], now: float) -> CommandOutcome:
        _typed(StatusCmd, body)
        return CommandOutcome("status", cid, ok=True,
                              result=dict(self._gateway.status_snapshot()), publish_status=True)

    def _silence_sensor(self, cid: str, body: Mapping[str, Any], now: float) -> CommandOutcome:
        cmd = _typed(SilenceSensorCmd, body)
        sensor, until = cmd.sensor, cmd.until
        if sensor not in self._gateway.sensor_ids():
            raise CommandError(f"unknown sensor {sensor!r}")
        if until - now > MAX_SILENCE_S:
            raise CommandError(f"field 'until' is more than {MAX_SILENCE_S // 86400} days ahead")
        if until <= now:  # a time in the past lifts the silence
            self._silenced.pop(sensor, None)
            return CommandOutcome("silence_sensor", cid, ok=True,
                                  result={"sensor": sensor, "silenced": False})
        self._silenced[sensor] = until
        return CommandOutcome("silence_sensor", cid, ok=True,
                              result={"sensor": sensor, "silenced": True, "until": iso(until)})

    def _remember(self, cid: str, outcome: CommandOutcome) -> None:
        self._done[cid] = outcome
        self._done.move_to_end(cid)
        while len(self._done) > self._memory:
            self._done.popitem(last=False)


CommandHandler = Callable[[RemoteCommands, str, Mapping[str, Any], float], CommandOutcome]

# The commands a centre may send, by name: an explicit table (not a method looked up by
# the name that arrived), so the set of commands is one place to read and type-check.
HANDLERS: Final[Mapping[str, CommandHandler]] = MappingProxyType({
    "test_alarm": RemoteCommands._test_alarm,
    "status": RemoteCommands._status,
    "silence_sensor": RemoteCommands._silence_sensor,
})
COMMAND_NAMES: Final = tuple(HANDLERS)


def _parse(payload: bytes) -> Mapping[str, Any]:
    """The command's JSON object; size and nesting are bounded before parsing
    (gateway/inbound.py), so a hostile payload is an error result, never a traceback."""
    try:
        return parse_object(payload)
    except PayloadError as exc:
        raise CommandError(str(exc)) from None


def _command_id(body: Mapping[str, Any]) -> str:
    cid = body.get("id")
    if not isinstance(cid, str) or not cid.strip():
        raise CommandError("field 'id' is missing or not a non-empty string")
    if len(cid) > MAX_ID_LEN:
        raise CommandError(f"field 'id' is longer than {MAX_ID_LEN} characters")
    return _text("id", cid)


def _text(name: str, value: str) -> str:
    """A text field that may reach the log, the event store and JSON with ensure_ascii
    off: no control characters, no lone surrogates (a `"\ud800"` id once failed every
    later publish of the uplink). The checks of gateway/inbound_models.py."""
    try:
        return clean_text(value)
    except ValueError as exc:
        raise CommandError(f"field {name!r} {exc}: {value[:40]!r}") from None


def _typed(model: type[M], body: Mapping[str, Any]) -> M:
    """The command as its typed model (gateway/inbound_models.py), or CommandError naming
    the unexpected fields, or the first field of a wrong type, its problem and value."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        extra = sorted(str(e["loc"][0])[:40] for e in exc.errors() if e["type"] == "extra_forbidden")
        if extra:
            raise CommandError(f"unexpected field(s): {', '.join(extra)}") from None
        raise CommandError(describe(exc)) from None


def _as_duplicate(outcome: CommandOutcome) -> CommandOutcome:
    return CommandOutcome(outcome.name, outcome.command_id, outcome.ok, outcome.result,
                          outcome.error, events=(), publish_status=False, duplicate=True)
