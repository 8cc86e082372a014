"""Glue between the pure command logic (remote_commands.py) and the running daemon.

WHY a separate module: RemoteCommands decides; this module carries the decision out
with the daemon's parts (pipeline for seq and texts, store+outbox through `emit`,
health monitor for silenced sensors, uplink for answers). Keeping the I/O here keeps
the rules testable without a daemon, and this file small enough to read at once.

The daemon builds `DaemonCommands(host)` once at start, `host` being the narrow
`CommandHost` below (gateway/command_host.py's `GatewayCommandHost` implements it over
the daemon's parts), then calls
`await handler.handle(name, payload, retained, mqtt_properties)` for each message on
`cmd/{name}`, and may call `handler.filter(events)` to drop silenced sensors' trouble
events before emitting them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any, Iterable, Mapping, Protocol

from gateway.catalogue import render
from gateway.events import Event
from gateway.remote_commands import CommandOutcome, GatewayState, RaiseEvent, RemoteCommands
from sensordata.timefmt import parse_iso

log = logging.getLogger("safehome.commands")


class CommandHost(GatewayState, Protocol):
    """All the command handler may touch of the running gateway: narrow on purpose, so a
    command can number and commit an event, publish an answer and silence a sensor, and
    nothing else. gateway/command_host.py implements it for the daemon; tests can too."""

    topic_base: str  # ROOT/GATEWAY_ID, for the response-topic rule

    def technical_event(self, type_name: str, occurred_at: float, *, sensor: str | None,
                        evidence: Mapping[str, float], ref: str | None, test: bool) -> Event:
        """A new event numbered in the gateway's seq (not yet committed)."""
        ...

    def room_names(self) -> Mapping[str, Mapping[str, str]]:
        ...

    async def emit(self, events: Iterable[Event]) -> None:
        """Commit, then queue for sending: the one way an event leaves the gateway."""
        ...

    async def publish_json(self, leaf: str, body: dict[str, Any], *, retain: bool = False,
                           correlation: bytes | None = None) -> bool:
        ...

    def silence(self, sensor: str, until: float | None) -> None:
        """Mirror a silence into the health monitor (heartbeats say `silenced`)."""
        ...


class DaemonCommands:
    def __init__(self, host: CommandHost, memory: int = 256) -> None:
        self.host = host
        self.rc = RemoteCommands(host, memory=memory, base=host.topic_base)

    async def handle(self, name: str, payload: bytes, retained: bool, props: Any = None) -> None:
        response = getattr(props, "ResponseTopic", None) if props is not None else None
        out = self.rc.handle(name, payload, retained, time.time(),
                             response_topic=response if isinstance(response, str) else None)
        if out.ignored:
            log.info("retained command %s ignored (a retained message is not an instruction)", name)
            return
        if out.duplicate:
            log.info("command %s id=%s seen before: answering again, no second effect", name,
                     out.command_id)
        elif not out.ok:
            log.warning("command %s id=%s refused: %s", name, out.command_id, out.error)
        else:
            log.info("command %s id=%s done", name, out.command_id)
        if name == "silence_sensor" and out.ok and not out.duplicate and out.result:
            self._mirror_silence(out)
        if out.events:
            await self.host.emit([self._event(req) for req in out.events])
        body = json.loads(out.result_payload)
        if out.publish_status and out.result is not None:
            await self.host.publish_json("heartbeat", dict(out.result))
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        # An accepted response topic is always cmd/{name}/result (RemoteCommands refuses
        # any other), so the answer goes there either way.
        await self.host.publish_json(f"cmd/{out.name}/result", body, correlation=correlation)

    def filter(self, events: Iterable[Event]) -> list[Event]:
        """Drop trouble events of silenced sensors (never alarms, see SILENCEABLE_TYPES)."""
        now = time.time()
        return [e for e in events if not self.rc.suppresses(e.type, e.sensor, now)]

    def _event(self, req: RaiseEvent) -> Event:
        """Number the event through the pipeline, then give it the id the command's
        result already named and the text with the command's strings."""
        ev = self.host.technical_event(req.type, req.occurred_at, sensor=req.sensor,
                                       evidence=req.evidence, ref=req.ref, test=req.test)
        return dataclasses.replace(ev, id=req.event_id,
                                   text=render(req.type, req.text_values(), self.host.room_names()))

    def _mirror_silence(self, out: CommandOutcome) -> None:
        """The health monitor reports `silenced` in heartbeats and skips silent/restored."""
        result = out.result or {}
        until = result.get("until")
        self.host.silence(str(result.get("sensor", "")), parse_iso(until) if until else None)
