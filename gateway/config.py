"""One TOML file per home, validated at load into frozen models.

Installers read the errors, so every problem is reported at once, each naming the key
path, the value found and what is allowed (`ConfigError.lines`). Sensor `settings`
tables are validated by the driver's own model and detector tables by the detector's,
so a third-party driver's keys get the same treatment as built-in ones. Secrets never
live in the file: the MQTT section names environment variables that hold them.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from detectors.base import DetectorSettings
from detectors.fusion import FusionSettings
from drivers.base import DriverSettings
from gateway.config_errors import ConfigError as ConfigError  # re-exported: callers catch it here
from gateway.config_errors import describe_errors
from gateway.config_errors import redact_url as redact_url
from gateway.config_typed import TypedSettings, parse_tables
from gateway.console_config import ConsoleConfig
from gateway.console_config import env_problems as console_env_problems
from gateway.dc09.settings import Dc09PathConfig, key_env_problems
from gateway.netaddr import is_loopback
from gateway.prompt_config import PromptConfig

TYPED_CONTEXT = "safehome.typed_settings"  # parse_config's parsed tables, for HomeConfig's validator
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomConfig(Model):
    id: str = Field(title="Room id used by sensors and events", pattern=ID_PATTERN)
    name: dict[Literal["fi", "sv", "en"], str] = Field(
        default_factory=dict, title="Room name per language, shown in alarm texts")


class SensorConfig(Model):
    id: str = Field(title="Sensor id, unique in the home", pattern=ID_PATTERN)
    type: str = Field(title="Driver type (see `safehome drivers`)")
    room: str | None = Field(None, title="Room id where the sensor is")
    placement: Literal["waist", "wrist", "chest", "pendant", "ankle", "pocket",
                       "ceiling", "wall", "door", "bed"] | None = Field(
        None, title="Where the sensor is worn or mounted")
    role: str | None = Field(None, title="Special role, e.g. 'outer_door' for the entrance contact")
    timeout: float = Field(300.0, ge=5, le=7 * 86400,
                           title="Seconds without readings before sensor_silent is raised")
    required: bool = Field(True, title="Whether `safehome doctor` fails when this sensor fails")
    settings: dict[str, Any] = Field(default_factory=dict, title="Driver settings table")


class MqttConfig(Model):
    url: str = Field("mqtt://127.0.0.1:1883", title="Broker URL: mqtt://host:port or mqtts://host:port")
    urls: list[str] = Field(default_factory=list,
                            title="Several brokers (e.g. the nodes of a cluster), tried in turn; "
                                  "overrides url")
    protocol: Literal["5", "3.1.1"] = Field("5", title="MQTT protocol version")
    topic_root: str = Field("safehome/v1", title="Topic root; the gateway publishes under ROOT/GATEWAY_ID/")
    client_id: str | None = Field(None, title="Client id; default safehome-GATEWAY_ID-RANDOM")
    username_env: str | None = Field(None, title="Environment variable holding the username")
    password_env: str | None = Field(None, title="Environment variable holding the password")
    ca_file: Path | None = Field(None, title="CA certificate file (PEM) to verify the broker")
    cert_file: Path | None = Field(None, title="Client certificate file (PEM)")
    key_file: Path | None = Field(None, title="Client private key file (PEM)")
    allow_insecure: bool = Field(False, title="Allow a non-loopback broker without TLS")
    keepalive: int = Field(30, ge=5, le=600, title="MQTT keepalive in seconds")
    heartbeat_interval: float = Field(60.0, ge=10, le=3600, title="Seconds between heartbeats")
    max_inflight: int = Field(16, ge=1, le=1000, title="Events in flight at once while draining")
    reconnect_min: float = Field(1.0, ge=0.1, le=60, title="First reconnect delay in seconds")
    # 2 s, not the usual 30 s: after an outage the gateway must be back within 2 s of the
    # broker's return (issue 9); a refused TCP connect costs a down broker nothing, and
    # the jitter still spreads a city of gateways. Large fleets may raise it.
    reconnect_max: float = Field(2.0, ge=1, le=3600, title="Longest reconnect delay in seconds")
    subscribe_qos: Literal[0, 1] = Field(
        1, title="QoS of the gateway's ack and cmd/+ subscriptions; 0 suits broker clusters "
                 "where each QoS 1 subscription is a replicated consumer (docs/scaling.md)")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError("expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        if parts.username is not None or parts.password is not None:
            # Refused rather than used: a secret in a config file or a command line ends up
            # in backups, shell history and `ps`; the house style keeps it in the environment.
            raise ValueError("credentials do not belong in the broker URL: remove 'user:password@' "
                             "and set mqtt.username_env and mqtt.password_env to the names of "
                             "environment variables that hold them")
        return v

    @field_validator("urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            parts = urlsplit(url)
            if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
                raise ValueError(f"{url!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        if len(set(v)) != len(v):
            raise ValueError("a broker is listed twice")
        return v

    @field_validator("topic_root")
    @classmethod
    def _root(cls, v: str) -> str:
        if not v or any(c in v for c in "+#") or v.startswith("/") or v.endswith("/"):
            raise ValueError("a topic prefix without wildcards and without leading or trailing '/'")
        return v

    @property
    def broker_urls(self) -> list[str]:
        """Every broker the gateway may use, in order: `urls`, or the single `url`."""
        return list(self.urls) or [self.url]

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme in ("mqtts", "ssl") or self.ca_file is not None

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @model_validator(mode="before")
    @classmethod
    def _first_of_urls(cls, data: Any) -> Any:
        """With `urls`, `url` names the first of them (host/port/tls describe that one)."""
        if isinstance(data, dict) and data.get("urls") and isinstance(data["urls"], list):
            data = {**data, "url": data["urls"][0]}
        return data

    @model_validator(mode="after")
    def _secure(self) -> "MqttConfig":
        for url in self.broker_urls:
            parts = urlsplit(url)
            tls = parts.scheme in ("mqtts", "ssl") or self.ca_file is not None
            if not tls and not self.allow_insecure and not is_loopback(parts.hostname or ""):
                raise ValueError(f"broker {parts.hostname} is not on this machine, so TLS is required: "
                                 "use mqtts:// with ca_file, or set allow_insecure = true "
                                 "(not for production)")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: give both or neither")
        return self


class StorageConfig(Model):
    path: Path = Field(Path("/var/lib/safehome/events.db"), title="SQLite database file")
    max_age_days: float = Field(30.0, gt=0, title="Delivered events older than this are pruned")
    max_size_mb: float = Field(64.0, gt=0, title="Delivered events are pruned above this size")
    batch_ms: float = Field(5.0, ge=0, le=2000, title="Longest a write lingers for others to join its commit (ms)")


class AlarmConfig(Model):
    cancel_window: float = Field(30.0, ge=0, le=600,
                                 title="Seconds a suspected fall can be cancelled before the alarm")
    ack_timeout: float = Field(30.0, ge=1, le=3600,
                               title="Seconds to wait for the centre's ack before re-sending")
    max_attempts: int = Field(5, ge=1, le=1000,
                              title="Sends without ack before alarm_unacknowledged and the hook")
    expire_after: float = Field(24 * 3600.0, ge=60,
                                title="Seconds after which an unacknowledged alarm stops re-sending")
    unacknowledged_hook: list[str] | None = Field(
        None, title="Command (argv list) run locally when an alarm stays unacknowledged")
    periodic_test_interval: float = Field(
        86400.0, ge=0, le=31 * 86400,
        title="Seconds between periodic test reports (Contact ID 602); 0 = none")
    periodic_test_at: str | None = Field(
        None, title="Local time HH:MM the periodic test falls on (default: counted from start)")
    prompt: PromptConfig = Field(default_factory=PromptConfig,
                                 title="Local \"are you OK?\" prompt during the cancel window")

    @field_validator("periodic_test_interval")
    @classmethod
    def _test_interval(cls, v: float) -> float:
        if 0 < v < 60:
            raise ValueError("0 (no periodic test) or at least 60 seconds")
        return v

    @field_validator("periodic_test_at")
    @classmethod
    def _test_at(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", v):
            raise ValueError("a local time of day as HH:MM, e.g. 03:00")
        return v

    @model_validator(mode="after")
    def _prompt_needs_a_window(self) -> "AlarmConfig":
        if self.prompt.enabled and self.cancel_window <= 0:
            raise ValueError("prompt.enabled needs a cancel window: with cancel_window = 0 "
                             "a suspected fall alarms at once; set cancel_window (e.g. 30)")
        return self


class RecordingConfig(Model):
    consent: bool = Field(False, title="The resident consented to recording raw sensor traces")
    retention_days: float = Field(14.0, gt=0, le=90, title="Recorded traces are deleted after this")
    directory: Path = Field(Path("/var/lib/safehome/traces"), title="Where recorded traces go")


class CareReportConfig(Model):
    """The weekly care report the gateway builds itself (gateway/care_report.py)."""

    enabled: bool = Field(False, title="Build the weekly care report (HTML) in the home")
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "mon", title="Local weekday the report is built on")
    at: str = Field("13:30", title="Local time HH:MM it is built (after the last day closes at 13:00)")
    lang: Literal["fi", "sv", "en"] = Field("fi", title="Language of the report")
    directory: Path = Field(Path("/var/lib/safehome/reports"),
                            title="Where the reports are written (kept in the home)")
    share: bool = Field(False, title="Also send the week's aggregates (a care_report event: weekly "
                                     "means and changes, never the HTML or daily data) to the centre")

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", v):
            raise ValueError("a local time of day as HH:MM, e.g. 13:30")
        return v


class HomeAssistantConfig(Model):
    """Optional Home Assistant MQTT discovery (gateway/homeassistant.py)."""

    discovery: bool = Field(False, title="Publish the gateway's status, sensor health and last "
                                         "alarm as Home Assistant entities (never readings)")
    broker: str = Field("mqtt://127.0.0.1:1883",
                        title="The home's own broker that Home Assistant uses")
    username: str | None = Field(None, title="Broker user name")
    password_env: str | None = Field(None, title="Environment variable holding the password")
    discovery_prefix: str = Field("homeassistant", title="Home Assistant's discovery prefix")
    state_topic: str = Field("safehome", title="Topic prefix of the states (PREFIX/GATEWAY_ID/...)")
    language: Literal["fi", "sv", "en"] = Field("fi", title="Language of the last alarm's text")
    interval: float = Field(60.0, ge=5, le=3600, title="Seconds between health updates")
    allow_alarm_broker: bool = Field(False, title="Also allow the alarm centre's broker (only "
                                                  "when the centre asked for it)")

    @field_validator("broker")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError("expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        return v


class HomeConfig(Model):
    gateway_id: str = Field(title="Gateway id, unique at the alarm centre", pattern=ID_PATTERN)
    site_id: str = Field(title="Pseudonymous site id (never a resident's name)", pattern=ID_PATTERN)
    timezone: str = Field("Europe/Helsinki", title="IANA timezone of the home")
    rooms: list[RoomConfig] = Field(default_factory=list, title="Rooms of the home")
    sensors: list[SensorConfig] = Field(default_factory=list, title="Sensors and their drivers")
    detectors: dict[str, dict[str, Any]] = Field(default_factory=dict, title="Detector settings")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, title="Uplink to the alarm centre")
    storage: StorageConfig = Field(default_factory=StorageConfig, title="Event store")
    alarm: AlarmConfig = Field(default_factory=AlarmConfig, title="Alarm flow")
    recording: RecordingConfig = Field(default_factory=RecordingConfig, title="Trace recording")
    dc09: Dc09PathConfig | None = Field(
        None, title="Second alarm path: SIA DC-09 straight to a receiver (gateway/dc09_path.py)")
    console: ConsoleConfig = Field(default_factory=ConsoleConfig, title="The installer's console")
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig,
                                               title="Home Assistant MQTT discovery (optional)")
    care_report: CareReportConfig = Field(default_factory=CareReportConfig,
                                          title="Weekly care report built in the home (off by default)")

    @model_validator(mode="after")
    def _not_the_centres_broker(self) -> "HomeConfig":
        ha = self.homeassistant
        if ha.discovery and not ha.allow_alarm_broker:
            mine = urlsplit(ha.broker)
            port = mine.port or (8883 if mine.scheme in ("mqtts", "ssl") else 1883)
            if (mine.hostname, port) == (self.mqtt.host, self.mqtt.port):
                raise ValueError(
                    "homeassistant.broker is the alarm centre's broker: give the home's own "
                    "broker, or set homeassistant.allow_alarm_broker = true if the centre asked")
        return self

    @model_validator(mode="after")
    def _typed_tables(self, info: ValidationInfo) -> "HomeConfig":
        """Parse the per-type tables now; parse_config passes the ones it already parsed
        (with their problems) in the validation context."""
        given = (info.context or {}).get(TYPED_CONTEXT)
        self._typed = given if isinstance(given, TypedSettings) else self._parse_typed()
        return self

    _typed: TypedSettings | None = PrivateAttr(None)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA timezone name such as Europe/Helsinki") from None
        return v

    @field_validator("site_id")
    @classmethod
    def _pseudonym(cls, v: str) -> str:
        if re.fullmatch(r"[A-Z][a-zäöå]+[-_.][A-Z][a-zäöå]+", v):
            raise ValueError("looks like a person's name; use a pseudonym such as site-7f3a")
        return v

    # -- derived views ------------------------------------------------------------------
    def room_names(self) -> dict[str, dict[str, str]]:
        return {r.id: {str(lang): text for lang, text in r.name.items()} for r in self.rooms}

    def driver_settings(self, sensor: SensorConfig) -> DriverSettings:
        """The sensor's `settings` table as its driver's model (parsed once, at load)."""
        try:
            return self.typed_settings().drivers[sensor.id]
        except KeyError:
            raise ValueError(f"sensor {sensor.id!r} has no valid settings for driver "
                             f"{sensor.type!r}") from None

    def detector_settings(self) -> dict[str, DetectorSettings]:
        """Settings per enabled detector (defaults for default-on detectors not named)."""
        return dict(self.typed_settings().detectors)

    def fusion_settings(self) -> FusionSettings:
        """The `[detectors.fusion]` table: merging falls seen by several sensors."""
        return self.typed_settings().fusion

    def typed_settings(self) -> TypedSettings:
        if self._typed is None:  # only a HomeConfig.model_construct() made elsewhere
            self._typed = self._parse_typed()
        return self._typed

    def _parse_typed(self) -> TypedSettings:
        return parse_tables([sc.model_dump() for sc in self.sensors], self.detectors, [])

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with other sensors or detectors its per-type tables are parsed anew."""
        copy = super().model_copy(update=update, deep=deep)
        if update and ("sensors" in update or "detectors" in update):
            copy._typed = copy._parse_typed()
        return copy

    @classmethod
    def for_replay(cls, sensors: list[Mapping[str, Any]], **overrides: Any) -> "HomeConfig":
        """A default home built from trace stream metadata (id, type, room, placement)."""
        fields = SensorConfig.model_fields
        items = [SensorConfig.model_construct(
            **{k: v for k, v in s.items() if k in fields and v is not None},
            **{k: f.get_default(call_default_factory=True) for k, f in fields.items()
               if k not in s or s[k] is None}) for s in sensors]
        rooms = sorted({s.room for s in items if s.room})
        data = {"gateway_id": "replay", "site_id": "replay",
                "rooms": [RoomConfig(id=r) for r in rooms], "sensors": items}
        data.update(overrides)
        cfg = cls.model_construct(**{**{k: f.get_default(call_default_factory=True)
                                        for k, f in cls.model_fields.items() if not f.is_required()},
                                     **data})
        cfg._typed = cfg._parse_typed()
        return cfg




def parse_config(data: Mapping[str, Any], path: str | Path = "<config>",
                 env: Mapping[str, str] | None = None) -> HomeConfig:
    env = os.environ if env is None else env
    problems: list[str] = []
    sensors_in = data.get("sensors")
    raw_sensors: list[Any] = sensors_in if isinstance(sensors_in, list) else []
    dets_in = data.get("detectors")
    dets: dict[str, Any] = dets_in if isinstance(dets_in, dict) else {}
    table_problems: list[str] = []
    typed = parse_tables(raw_sensors, dets, table_problems)
    dc09_valid = True
    try:
        cfg = HomeConfig.model_validate(data, context={TYPED_CONTEXT: typed})
    except ValidationError as exc:
        problems.extend(describe_errors(exc, (), HomeConfig))
        dc09_valid = not any(e["loc"][:1] == ("dc09",) for e in exc.errors())
        cfg = None
    room_ids = {r.get("id") for r in data.get("rooms", []) if isinstance(r, dict)}
    seen: set[Any] = set()
    for i, s in enumerate(raw_sensors):
        if not isinstance(s, dict):
            continue
        sid = s.get("id")
        if sid in seen:
            problems.append(f"sensors[{i}].id: {sid!r} is used twice; sensor ids must be unique")
        seen.add(sid)
        if s.get("room") is not None and s.get("room") not in room_ids:
            problems.append(f"sensors[{i}].room: {s.get('room')!r} is not a room of this home; "
                            f"rooms: {', '.join(sorted(map(str, room_ids))) or 'none defined'}")
    problems.extend(table_problems)
    mqtt_in = data.get("mqtt")
    mqtt: dict[str, Any] = mqtt_in if isinstance(mqtt_in, dict) else {}
    for key in ("username_env", "password_env"):
        var = mqtt.get(key)
        if isinstance(var, str) and var not in env:
            problems.append(f"mqtt.{key}: environment variable {var!r} is not set; "
                            f"export {var}=... before starting (secrets stay out of the file)")
    for key in ("ca_file", "cert_file", "key_file"):
        f = mqtt.get(key)
        if isinstance(f, str) and not Path(f).is_file():
            problems.append(f"mqtt.{key}: {f!r} is not a readable file")
    problems.extend(console_env_problems(data.get("console"), env))
    if dc09_valid and isinstance(data.get("dc09"), Mapping):  # the AES key, once the table is valid
        receiver = data["dc09"].get("receiver")
        problems.extend(key_env_problems("dc09.receiver.key_env", receiver.get("key_env"), env))
    if problems:
        raise ConfigError(path, problems)
    assert cfg is not None
    return cfg


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> HomeConfig:
    """Read and validate a home's TOML file; raise ConfigError listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(p, [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError(p, [f"line {line}: byte 0x{exc.object[exc.start]:02x} is not UTF-8 "
                              "text; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(p, [f"not valid TOML: {exc}"]) from None
    return parse_config(data, p, env)
