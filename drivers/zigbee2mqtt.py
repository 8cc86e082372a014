"""`zigbee2mqtt`: Zigbee motion sensors, door contacts and SOS buttons via Zigbee2MQTT.

Zigbee2MQTT publishes each device's state as JSON on `<base>/<friendly_name>` and its
availability (retained) on `<base>/<friendly_name>/availability`, on the home's own
broker. This driver subscribes to exactly the configured devices (plus the bridge state)
on every connect, since a broker restarted without persistence forgets subscriptions, and
turns messages into readings:

- device motion: `occupancy` -> Motion; device contact: `contact` (true = closed) -> Contact
  with open = not contact; device sos_button: `action` in `sos_actions` -> Button("sos"),
  in `cancel_actions` -> Button("cancel") (cancels a suspected fall's window);
- `battery` / `battery_low` -> Battery, `linkquality` -> LinkQuality (LQI), availability
  (`online`/`offline` or {"state": ...}) -> Availability; the bridge going offline makes
  every device unavailable until it is back.

Configuration: usually one `[[sensors]]` entry per Zigbee device (`friendly_name` and
`device` in its settings), so readings carry that sensor's id and the gateway's health,
rooms and silence timeouts apply per device. Bridge mode (`devices = [...]`) follows
several devices on one connection; readings then carry each device's own id, and
`sub_sensors()` lists them so the gateway places each in its room and watches its
silence with the bridge entry's timeout (gateway/sensors.py).

State messages are emitted only on change. Retained state delivered at subscribe is
remembered but not emitted as an event: a door that opened hours ago is not "opening now",
and a retained `action: emergency` must never raise an alarm again. Availability and
battery are facts about now, so they are emitted from retained messages too.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import time
from datetime import datetime
from typing import Any, AsyncIterator, Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.base import Driver, DriverSettings, SensorInfo, require_module
from sensordata.readings import (
    Availability,
    Battery,
    Button,
    Contact,
    LinkQuality,
    Motion,
    Reading,
)

log = logging.getLogger(__name__)


class Device(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    friendly_name: str = Field(min_length=1, title="Zigbee2MQTT friendly name")
    device: Literal["motion", "contact", "sos_button"] = Field(
        validation_alias=AliasChoices("device", "role"),
        title="What the device is: motion, contact or sos_button ('role' in older configs)")
    room: str | None = Field(None, title="Room the device is in")
    id: str | None = Field(None, title="Sensor id in readings (default: friendly name)")

    @property
    def sensor_id(self) -> str:
        return self.id or self.friendly_name


class Zigbee2MqttSettings(DriverSettings):
    broker: str = Field("mqtt://127.0.0.1:1883", title="The home's own broker (mqtt:// or mqtts://)")
    base_topic: str = Field("zigbee2mqtt", title="Zigbee2MQTT base topic")
    username: str | None = Field(None, title="Broker user name")
    password_env: str | None = Field(None, title="Environment variable holding the broker password "
                                                 "(secrets stay out of the config file)")
    friendly_name: str | None = Field(None, title="One device per sensor entry: its friendly name")
    device: Literal["motion", "contact", "sos_button"] | None = Field(
        None, validation_alias=AliasChoices("device", "role"),
        title="One device per sensor entry: what it is (motion, contact, sos_button). Named "
              "'device', not 'role': the sensor's own `role` (e.g. outer_door) is another key")
    devices: list[Device] = Field([], title="Bridge mode: several devices (readings carry each "
                                            "device's id)")
    sos_actions: list[str] = Field(["emergency"], title="`action` values that mean 'help now'")
    cancel_actions: list[str] = Field([], title="`action` values that mean 'I am fine': cancel a "
                                                "suspected fall (e.g. [\"single\"] on a button "
                                                "whose long press is the SOS)")
    keepalive_s: int = Field(30, ge=5, title="MQTT keepalive seconds")

    @field_validator("devices")
    @classmethod
    def _unique(cls, v: list[Device]) -> list[Device]:
        names = [d.friendly_name for d in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"device listed twice: {', '.join(sorted(dup))}")
        return v

    @model_validator(mode="after")
    def _sos_is_never_a_cancel(self) -> "Zigbee2MqttSettings":
        both = set(self.sos_actions) & set(self.cancel_actions)
        if both:
            raise ValueError(f"action {', '.join(sorted(both))} is in both sos_actions and "
                             "cancel_actions: a call for help must never cancel one")
        return self

    @model_validator(mode="after")
    def _one_mode(self) -> "Zigbee2MqttSettings":
        single = self.friendly_name is not None or self.device is not None
        if single and (self.friendly_name is None or self.device is None):
            raise ValueError("give both friendly_name and device (or a devices list)")
        if single == bool(self.devices):
            raise ValueError("give either friendly_name and device (one device, the usual "
                             "choice) or a devices list (bridge mode), not both or neither")
        return self

    @field_validator("broker")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urlparse(v)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise ValueError("broker must look like mqtt://host:1883 or mqtts://host:8883")
        return v


def parse_availability(payload: bytes) -> bool | None:
    """`online`/`offline`, or {"state": "online"} when the legacy payload is off."""
    text = payload.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("state", ""))
        except (ValueError, AttributeError):
            return None
    return {"online": True, "offline": False}.get(text.lower())


def message_time(state: dict[str, Any], now: float) -> float:
    """Zigbee2MQTT's `last_seen` (epoch ms or ISO 8601) when present, else now."""
    seen = state.get("last_seen")
    try:
        if isinstance(seen, (int, float)) and seen > 1e12:
            return float(seen) / 1000.0
        if isinstance(seen, str):
            return datetime.fromisoformat(seen.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        pass
    return now


Settings = Zigbee2MqttSettings  # the name tests and older plugins import


class Zigbee2MqttDriver(Driver[Zigbee2MqttSettings]):
    type_name = "zigbee2mqtt"
    Settings = Zigbee2MqttSettings

    def __init__(self, sensor: SensorInfo, settings: Zigbee2MqttSettings) -> None:
        super().__init__(sensor, settings)
        if settings.friendly_name is not None and settings.device is not None:
            # one device per [[sensors]] entry: readings carry the sensor's own id, so the
            # gateway's health, rooms and silence timeouts apply to the device itself
            self.devices = [Device(friendly_name=settings.friendly_name, device=settings.device,
                                   room=sensor.room, id=sensor.id)]
        else:
            self.devices = list(settings.devices)
        base = settings.base_topic.rstrip("/")
        self._state_topics = {f"{base}/{d.friendly_name}": d for d in self.devices}
        self._avail_topics = {f"{base}/{d.friendly_name}/availability": d
                              for d in self.devices}
        self._bridge_topic = f"{base}/bridge/state"
        self._client: Any = None
        self._last: dict[tuple[str, str], Any] = {}
        self._available: dict[str, bool] = {}
        self._bridge_online: bool | None = None

    def sub_sensors(self) -> list[SensorInfo]:
        """The devices this bridge driver speaks for, as sensors with their rooms."""
        return [SensorInfo(d.sensor_id, d.room or self.sensor.room, f"zigbee_{d.device}")
                for d in self.devices]

    async def connect(self) -> None:
        aiomqtt = require_module("aiomqtt", self.type_name, "install aiomqtt (pip install aiomqtt)")
        u = urlparse(self.settings.broker)
        tls = ssl.create_default_context() if u.scheme == "mqtts" else None
        self._client = aiomqtt.Client(
            u.hostname, u.port or (8883 if tls else 1883),
            username=self.settings.username or u.username,
            password=os.environ.get(self.settings.password_env) if self.settings.password_env
            else None,
            identifier=f"safehome-{self.sensor.id}", keepalive=self.settings.keepalive_s,
            tls_context=tls)
        await self._client.__aenter__()
        try:
            topics = [self._bridge_topic, *self._state_topics, *self._avail_topics]
            await self._client.subscribe([(t, 1) for t in topics])
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.__aexit__(None, None, None)
            except Exception as exc:  # noqa: BLE001 - broker already gone
                log.debug("zigbee2mqtt: disconnect: %s", exc)

    def _changed(self, dev: Device, key: str, value: Any) -> bool:
        k = (dev.friendly_name, key)
        if self._last.get(k, object()) == value:
            return False
        self._last[k] = value
        return True

    def _availability(self, dev: Device, online: bool, t: float) -> list[Reading]:
        self._available[dev.friendly_name] = online
        if self._bridge_online is False:
            online = False
        if self._changed(dev, "available", online):
            return [Availability(dev.sensor_id, t, online)]
        return []

    def handle(self, topic: str, payload: bytes, retained: bool, now: float) -> list[Reading]:
        """One MQTT message -> readings (public so tests and `decode` can call it)."""
        if topic == self._bridge_topic:
            online = parse_availability(payload)
            if online is None:
                return []
            self._bridge_online = online
            out: list[Reading] = []
            for each in self.devices:
                # a device without availability reporting is as available as its bridge
                known = self._available.get(each.friendly_name, True)
                out += self._availability(each, known, now)
            return out
        if topic in self._avail_topics:
            online = parse_availability(payload)
            if online is None:
                self.count("bad_payloads")
                return []
            return self._availability(self._avail_topics[topic], online, now)
        dev = self._state_topics.get(topic)
        if dev is None:
            return []
        try:
            state = json.loads(payload)
            if not isinstance(state, dict):
                raise ValueError("not an object")
        except ValueError:
            self.count("bad_payloads")
            if not self.stats.get("bad_payloads_logged"):
                self.stats["bad_payloads_logged"] = 1
                log.warning("zigbee2mqtt: %s sent non-JSON state %r", topic, payload[:80])
            return []
        self.count("messages")
        t = message_time(state, now)
        out = []
        if "battery" in state or "battery_low" in state:
            pct = state.get("battery")
            pct = float(pct) if isinstance(pct, (int, float)) else None
            low = state.get("battery_low")
            low = bool(low) if isinstance(low, bool) else None
            if self._changed(dev, "battery", (pct, low)):
                out.append(Battery(dev.sensor_id, t, pct, low))
        if isinstance(state.get("linkquality"), int) and not retained:
            out.append(LinkQuality(dev.sensor_id, t, lqi=state["linkquality"]))
        if dev.device == "motion" and isinstance(state.get("occupancy"), bool):
            if self._changed(dev, "occupancy", state["occupancy"]) and not retained:
                out.append(Motion(dev.sensor_id, t, state["occupancy"]))
        elif dev.device == "contact" and isinstance(state.get("contact"), bool):
            if self._changed(dev, "contact", state["contact"]) and not retained:
                out.append(Contact(dev.sensor_id, t, open=not state["contact"]))
        elif dev.device == "sos_button" and not retained:
            action = state.get("action")
            if action in self.settings.sos_actions:
                out.append(Button(dev.sensor_id, t, "sos"))
            elif action in self.settings.cancel_actions:
                out.append(Button(dev.sensor_id, t, "cancel"))
        return out

    async def readings(self) -> AsyncIterator[Reading]:
        assert self._client is not None, "connect() first"
        async for message in self._client.messages:
            payload = message.payload
            if isinstance(payload, str):
                payload = payload.encode()
            elif not isinstance(payload, (bytes, bytearray)):
                payload = b"" if payload is None else str(payload).encode()
            for r in self.handle(message.topic.value, bytes(payload), bool(message.retain),
                                 time.time()):
                yield r
        raise ConnectionError(f"zigbee2mqtt: connection to {self.settings.broker} ended")
