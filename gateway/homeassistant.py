"""Home Assistant MQTT discovery: the gateway's status, each sensor's health and the last
alarm appear as Home Assistant entities (`[homeassistant] discovery = true`).

WHY a separate connection to the home's own broker: families and housing operators run
Home Assistant next to the gateway, and want to see that it is up and its sensors are
healthy. The alarm centre's broker is the wrong place for that (the centre's ACLs, its
load, and what a home's neighbours could learn), so the bridge connects to
`[homeassistant] broker` and the config refuses the centre's broker unless
`allow_alarm_broker = true`.

Privacy: only what the alarm centre may already see leaves the process: the gateway's
online state, per-sensor health (state, battery, last seen) and the last alarm's type,
room, severity and text. Never readings, never samples.

The bridge can never hold up an alarm: the daemon hands it events after they are
committed and queued for the centre, it keeps only the latest state, and a broker that is
down only delays Home Assistant's view (reconnects with backoff, the state is re-sent on
every connect).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from gateway.config import HomeConfig
from gateway.events import Event, iso

log = logging.getLogger(__name__)


class HomeAssistantBridge:
    def __init__(self, config: HomeConfig, health: Callable[[], dict[str, Any]],
                 version: str = "unknown") -> None:
        self.cfg = config
        self.ha = config.homeassistant
        self.health = health
        self.version = version
        gw = config.gateway_id
        self.base = f"{self.ha.state_topic}/{gw}"
        self.status_topic = f"{self.base}/status"
        self.health_topic = f"{self.base}/health"
        self.alarm_topic = f"{self.base}/last_alarm"
        self._last_alarm: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self.connected = asyncio.Event()

    # -- what Home Assistant is told -----------------------------------------------------
    def _device(self) -> dict[str, Any]:
        return {"identifiers": [f"safehome_{self.cfg.gateway_id}"],
                "name": f"Safehome {self.cfg.gateway_id}", "manufacturer": "Safehome",
                "model": "edge gateway", "sw_version": self.version}

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Discovery topic -> config payload, one per entity (published retained)."""
        gw, prefix = self.cfg.gateway_id, self.ha.discovery_prefix
        node = f"safehome_{gw}".replace("-", "_")
        avail = {"availability_topic": self.status_topic, "payload_available": "online",
                 "payload_not_available": "offline"}
        out: dict[str, dict[str, Any]] = {
            f"{prefix}/binary_sensor/{node}/status/config": {
                "name": "Gateway", "unique_id": f"{node}_status", "device_class": "connectivity",
                "state_topic": self.status_topic, "payload_on": "online",
                "payload_off": "offline", "device": self._device()},
            f"{prefix}/sensor/{node}/last_alarm/config": {
                "name": "Last alarm", "unique_id": f"{node}_last_alarm", "icon": "mdi:alarm-light",
                "state_topic": self.alarm_topic, "value_template": "{{ value_json.type }}",
                "json_attributes_topic": self.alarm_topic, "device": self._device(), **avail},
        }
        for sensor_id in sorted(self.health()):
            key = "".join(c if c.isalnum() else "_" for c in sensor_id)
            out[f"{prefix}/sensor/{node}/{key}_health/config"] = {
                "name": f"{sensor_id} health", "unique_id": f"{node}_{key}_health",
                "icon": "mdi:heart-pulse", "entity_category": "diagnostic",
                "state_topic": self.health_topic,
                "value_template": f"{{{{ value_json[{json.dumps(sensor_id)}].state }}}}",
                "json_attributes_topic": self.health_topic,
                "json_attributes_template":
                    f"{{{{ value_json[{json.dumps(sensor_id)}] | tojson }}}}",
                "device": self._device(), **avail}
        return out

    def health_state(self) -> dict[str, Any]:
        """Per-sensor health only: state, battery, last seen (no readings)."""
        return {sid: {k: h.get(k) for k in ("state", "battery", "last_seen")}
                for sid, h in self.health().items()}

    def alarm(self, event: Event) -> None:
        """The daemon calls this for every alarm it has committed and queued."""
        lang = self.ha.language
        self._last_alarm = {"type": event.type, "severity": event.severity,
                            "room": event.room, "text": event.text.get(lang, ""),
                            "occurred_at": iso(event.occurred_at), "id": event.id,
                            "test": event.test}
        self._wake.set()

    # -- the connection ----------------------------------------------------------------------
    def _client(self) -> Any:
        import aiomqtt
        url = urlsplit(self.ha.broker)
        password = os.environ.get(self.ha.password_env) if self.ha.password_env else None
        tls = aiomqtt.TLSParameters() if url.scheme in ("mqtts", "ssl") else None
        return aiomqtt.Client(
            url.hostname or "127.0.0.1", url.port or (8883 if tls else 1883),
            identifier=f"safehome-ha-{self.cfg.gateway_id}", username=self.ha.username,
            password=password, tls_params=tls, keepalive=30,
            will=aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True))

    async def _publish_all(self, client: Any) -> None:
        for topic, body in self.discovery().items():
            await client.publish(topic, json.dumps(body), qos=1, retain=True)
        await client.publish(self.status_topic, b"online", qos=1, retain=True)
        await client.publish(self.health_topic, json.dumps(self.health_state()), qos=1,
                             retain=True)
        if self._last_alarm is not None:
            await client.publish(self.alarm_topic, json.dumps(self._last_alarm), qos=1,
                                 retain=True)

    async def run(self) -> None:
        """Connect, publish, keep the health fresh; reconnect with backoff; until cancelled."""
        import aiomqtt
        delay = 1.0
        while True:
            try:
                async with self._client() as client:
                    delay = 1.0
                    await self._publish_all(client)
                    self.connected.set()
                    try:
                        await self._keep_fresh(client)
                    finally:
                        self.connected.clear()
                        await asyncio.shield(self._say_offline(client))
            except aiomqtt.MqttError as exc:
                log.warning("Home Assistant broker %s: %s; retrying in %.0f s",
                            self.ha.broker, exc, delay)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 60.0)

    async def _keep_fresh(self, client: Any) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.ha.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            await client.publish(self.health_topic, json.dumps(self.health_state()), qos=1,
                                 retain=True)
            if self._last_alarm is not None:
                await client.publish(self.alarm_topic, json.dumps(self._last_alarm), qos=1,
                                     retain=True)

    async def _say_offline(self, client: Any) -> None:
        try:
            await client.publish(self.status_topic, b"offline", qos=1, retain=True)
        except Exception:  # noqa: BLE001 - the will says it anyway
            pass
