"""One TOML file per home, validated at load into frozen models.

Installers read the errors, so every problem is reported at once, each naming the key
path, the value found and what is allowed (`ConfigError.lines`). Sensor `settings`
tables are validated by the driver's own model and detector tables by the detector's,
so a third-party driver's keys get the same treatment as built-in ones. Secrets never
live in the file: the MQTT section names environment variables that hold them.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detectors import registry as detector_registry
from drivers import registry as driver_registry
from drivers.base import DriverSettings

FUSION = "fusion"  # [detectors.fusion]: a stage after the detectors, not a detector
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
NAME_HINT = "letters, digits, '_', '.', '-' (no spaces, no '/', '+', '#'), at most 63 characters"


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

    @field_validator("topic_root")
    @classmethod
    def _root(cls, v: str) -> str:
        if not v or any(c in v for c in "+#") or v.startswith("/") or v.endswith("/"):
            raise ValueError("a topic prefix without wildcards and without leading or trailing '/'")
        return v

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme in ("mqtts", "ssl") or self.ca_file is not None

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @model_validator(mode="after")
    def _secure(self) -> "MqttConfig":
        if not self.tls and not self.allow_insecure and not _is_loopback(self.host):
            raise ValueError(f"broker {self.host} is not on this machine, so TLS is required: use "
                             "mqtts:// with ca_file, or set allow_insecure = true (not for production)")
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


class RecordingConfig(Model):
    consent: bool = Field(False, title="The resident consented to recording raw sensor traces")
    retention_days: float = Field(14.0, gt=0, le=90, title="Recorded traces are deleted after this")
    directory: Path = Field(Path("/var/lib/safehome/traces"), title="Where recorded traces go")


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
        return {r.id: dict(r.name) for r in self.rooms}

    def driver_settings(self, sensor: SensorConfig) -> DriverSettings:
        cls = driver_registry.load(sensor.type)
        return cls.Settings.model_validate(sensor.settings)

    def detector_settings(self) -> dict[str, BaseModel]:
        """Settings per enabled detector (defaults for default-on detectors not named)."""
        out = {}
        for name in detector_registry.DETECTORS:
            cls = detector_registry.load(name)
            table = self.detectors.get(name)
            if table is None and not getattr(cls, "default_on", False):
                continue
            settings = cls.Settings.model_validate(table or {})
            if getattr(settings, "enabled", True):
                out[name] = settings
        return out

    def fusion_settings(self) -> BaseModel:
        """The `[detectors.fusion]` table: merging falls seen by several sensors."""
        from detectors.fusion import FallFusion
        return FallFusion.Settings.model_validate(self.detectors.get(FUSION, {}))

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
        return cls.model_construct(**{**{k: f.get_default(call_default_factory=True)
                                         for k, f in cls.model_fields.items() if not f.is_required()},
                                      **data})


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConfigError(Exception):
    """All problems of one config file; `lines` are ready to print, one per problem."""

    exit_code = 2

    def __init__(self, path: str | Path, lines: list[str]) -> None:
        self.path = str(path)
        self.lines = lines
        super().__init__(f"{self.path}: {len(lines)} problem(s)\n" + "\n".join(
            f"  - {line}" for line in lines))


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _known_keys(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose field set the last key of `loc` belongs to (for suggestions)."""
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    model = inner
                    break
            else:
                continue
            break
        else:
            return None
    return model


def redact_url(text: str) -> str:
    """`text` with the password of a URL in it replaced by ***: error messages repeat what
    they refuse, and a password must never reach a terminal or a log."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if parts.password is None:
        return text
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def _describe(err: Mapping[str, Any], prefix: tuple[Any, ...], model: type[BaseModel] | None) -> str:
    loc = prefix + tuple(err["loc"])
    where = _loc(loc)
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        key = err["loc"][-1]
        owner = model if model is not None else None
        known = _known_keys(owner)
        hint = difflib.get_close_matches(str(key), known, n=1)
        fix = f"did you mean '{hint[0]}'?" if hint else f"allowed keys: {', '.join(known) or 'none'}"
        return f"{where}: unknown key '{key}'; {fix}"
    if err["type"] == "missing":
        return f"{where}: required key is missing"
    shown = repr(redact_url(value) if isinstance(value, str) else value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "string_pattern_mismatch":
        msg = f"not a valid name: use {NAME_HINT}"
    return f"{where}: {shown} is not allowed: {msg}"


def _errors(exc: ValidationError, prefix: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    return [_describe(e, prefix, _model_at(root, tuple(e["loc"]))) for e in exc.errors()]


def parse_config(data: Mapping[str, Any], path: str | Path = "<config>",
                 env: Mapping[str, str] | None = None) -> HomeConfig:
    env = os.environ if env is None else env
    problems: list[str] = []
    try:
        cfg = HomeConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_errors(exc, (), HomeConfig))
        cfg = None
    # Sub-tables validated by models that only the registries know.
    raw_sensors = data.get("sensors") if isinstance(data.get("sensors"), list) else []
    room_ids = {r.get("id") for r in data.get("rooms", []) if isinstance(r, dict)}
    seen: set[str] = set()
    for i, s in enumerate(raw_sensors):
        if not isinstance(s, dict):
            continue
        sid, stype = s.get("id"), s.get("type")
        if sid in seen:
            problems.append(f"sensors[{i}].id: {sid!r} is used twice; sensor ids must be unique")
        seen.add(sid)
        if s.get("room") is not None and s.get("room") not in room_ids:
            problems.append(f"sensors[{i}].room: {s.get('room')!r} is not a room of this home; "
                            f"rooms: {', '.join(sorted(map(str, room_ids))) or 'none defined'}")
        if not isinstance(stype, str):
            continue
        try:
            cls = driver_registry.load(stype)
        except driver_registry.UnknownDriver:
            hint = difflib.get_close_matches(stype, driver_registry.known_types(), n=1)
            problems.append(f"sensors[{i}].type: {stype!r} is not a known driver; "
                            + (f"did you mean '{hint[0]}'?" if hint else
                               f"known: {', '.join(driver_registry.known_types())}"))
            continue
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide other errors
            problems.append(f"sensors[{i}].type: driver {stype!r} failed to load: {exc}")
            continue
        try:
            cls.Settings.model_validate(s.get("settings", {}))
        except ValidationError as exc:
            problems.extend(_errors(exc, ("sensors", i, "settings"), cls.Settings))
    dets = data.get("detectors") if isinstance(data.get("detectors"), dict) else {}
    for name, table in dets.items():
        if name == FUSION:
            from detectors.fusion import FallFusion
            try:
                FallFusion.Settings.model_validate(table)
            except ValidationError as exc:
                problems.extend(_errors(exc, ("detectors", name), FallFusion.Settings))
            continue
        if name not in detector_registry.DETECTORS:
            hint = difflib.get_close_matches(name, list(detector_registry.DETECTORS), n=1)
            problems.append(f"detectors.{name}: unknown detector; " + (
                f"did you mean '{hint[0]}'?" if hint else
                f"known: {', '.join(detector_registry.DETECTORS)}"))
            continue
        cls = detector_registry.load(name)
        try:
            cls.Settings.model_validate(table)
        except ValidationError as exc:
            problems.extend(_errors(exc, ("detectors", name), cls.Settings))
    mqtt = data.get("mqtt") if isinstance(data.get("mqtt"), dict) else {}
    for key in ("username_env", "password_env"):
        var = mqtt.get(key)
        if isinstance(var, str) and var not in env:
            problems.append(f"mqtt.{key}: environment variable {var!r} is not set; "
                            f"export {var}=... before starting (secrets stay out of the file)")
    for key in ("ca_file", "cert_file", "key_file"):
        f = mqtt.get(key)
        if isinstance(f, str) and not Path(f).is_file():
            problems.append(f"mqtt.{key}: {f!r} is not a readable file")
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
