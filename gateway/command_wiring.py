"""Glue between the pure command logic (remote_commands.py) and the running daemon.

WHY a separate module: RemoteCommands decides; this module carries the decision out
with the daemon's parts (pipeline for seq and texts, store+outbox through `emit`,
health monitor for silenced sensors, uplink for answers). Keeping the I/O here keeps
the rules testable without a daemon, and this file small enough to read at once.

The daemon calls `attach(daemon)` (gateway.remote_commands.attach) once at start, then
`await handler.handle(name, payload, retained, mqtt_properties)` for each message on
`cmd/{name}`, and may call `handler.filter(events)` to drop silenced sensors' trouble
events before emitting them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from gateway.catalogue import render
from gateway.events import Event, parse_iso
from gateway.remote_commands import CommandOutcome, RaiseEvent, RemoteCommands

log = logging.getLogger("safehome.commands")


class _DaemonState:
    """The GatewayState protocol over a Daemon."""

    def __init__(self, daemon: Any) -> None:
        self.d = daemon

    def status_snapshot(self) -> Mapping[str, Any]:
        """A heartbeat body, numbered in the heartbeats' own sequence."""
        return self.d.uplink.heartbeat_body()

    def sensor_ids(self) -> Collection[str]:
        return [s.id for s in self.d.cfg.sensors]


class DaemonCommands:
    def __init__(self, daemon: Any, memory: int = 256) -> None:
        self.d = daemon
        self.rc = RemoteCommands(_DaemonState(daemon), memory=memory,
                                 base=f"{daemon.cfg.mqtt.topic_root}/{daemon.cfg.gateway_id}")

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
            await self.d.emit([self._event(req) for req in out.events])
        body = json.loads(out.result_payload)
        if out.publish_status and out.result is not None:
            await self.d.uplink.publish_json("heartbeat", dict(out.result))
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        # An accepted response topic is always cmd/{name}/result (RemoteCommands refuses
        # any other), so the answer goes there either way.
        await self.d.uplink.publish_json(f"cmd/{out.name}/result", body, correlation=correlation)

    def filter(self, events: Iterable[Event]) -> list[Event]:
        """Drop trouble events of silenced sensors (never alarms, see SILENCEABLE_TYPES)."""
        now = time.time()
        return [e for e in events if not self.rc.suppresses(e.type, e.sensor, now)]

    def _event(self, req: RaiseEvent) -> Event:
        """Number the event through the pipeline, then give it the id the command's
        result already named and the text with the command's strings."""
        pipe = self.d.pipeline
        ev = pipe.technical(req.type, req.occurred_at, sensor=req.sensor, evidence=req.evidence,
                            ref=req.ref, test=req.test)
        return dataclasses.replace(ev, id=req.event_id,
                                   text=render(req.type, req.text_values(), pipe.room_names))

    def _mirror_silence(self, out: CommandOutcome) -> None:
        """The health monitor reports `silenced` in heartbeats and skips silent/restored."""
        result = out.result or {}
        h = self.d.health.sensors.get(result.get("sensor"))
        if h is not None:
            until = result.get("until")
            h.silenced_until = parse_iso(until) if until else None
