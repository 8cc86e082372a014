"""The running gateway's side of `CommandHost` (gateway/command_wiring.py).

Why its own module: a centre's command may number and commit an event, publish an
answer, read the status and silence a sensor, and nothing else. Those few doors, each
a line over one of the gateway's parts (pipeline, emit policy, uplink, health monitor),
are kept here, so the daemon stays a composition root and this list stays short enough
to check at a glance.
"""

from __future__ import annotations

from typing import Any, Collection, Iterable, Mapping

from gateway.config import HomeConfig
from gateway.emit_policy import EmitPolicy
from gateway.events import Event
from gateway.health import HealthMonitor
from gateway.uplink import Uplink


class GatewayCommandHost:
    def __init__(self, cfg: HomeConfig, events: EmitPolicy, uplink: Uplink,
                 health: HealthMonitor) -> None:
        self.cfg = cfg
        self.events = events
        self.uplink = uplink
        self.health = health
        self.topic_base = f"{cfg.mqtt.topic_root}/{cfg.gateway_id}"

    def status_snapshot(self) -> Mapping[str, Any]:
        return self.uplink.heartbeat_body()

    def sensor_ids(self) -> Collection[str]:
        return [s.id for s in self.cfg.sensors]

    def technical_event(self, type_name: str, occurred_at: float, *, sensor: str | None,
                        evidence: Mapping[str, float], ref: str | None, test: bool) -> Event:
        pipeline = self.events.pipeline
        assert pipeline is not None
        return pipeline.technical(type_name, occurred_at, sensor=sensor, evidence=evidence,
                                  ref=ref, test=test)

    def room_names(self) -> Mapping[str, Mapping[str, str]]:
        return self.cfg.room_names()

    async def emit(self, events: Iterable[Event]) -> None:
        await self.events.emit(events)

    async def publish_json(self, leaf: str, body: dict[str, Any], *, retain: bool = False,
                           correlation: bytes | None = None) -> bool:
        return await self.uplink.publish_json(leaf, body, retain=retain, correlation=correlation)

    def silence(self, sensor: str, until: float | None) -> None:
        h = self.health.sensors.get(sensor)
        if h is not None:
            h.silenced_until = until
