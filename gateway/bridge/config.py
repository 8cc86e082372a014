"""The bridge's settings: one validated model, from a TOML file or from the command line.

Same rules as a home's config (gateway/config.py): unknown keys are errors, every problem
is reported at once naming the key, the value and what is allowed, and the command exits
with code 2. The AES key never sits in the file or on the command line: `key_env` names
the environment variable that holds it (hex).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.bridge.contact_id import AccountMap
from gateway.bridge.frame import parse_key
from gateway.config import ID_PATTERN, ConfigError, MqttConfig
from gateway.config_errors import describe_errors

HEX_ACCOUNT = r"^[0-9A-F]{3,16}$"
ContactIdNumber = Annotated[int, Field(ge=1, le=999)]   # three Contact ID digits, 000 = none


def _account(v: str) -> str:
    if not re.fullmatch(HEX_ACCOUNT, v):
        raise ValueError("a DC-09 account is 3-16 hex digits (0-9, A-F, upper case), e.g. 1234")
    return v


Dc09Account = Annotated[str, AfterValidator(_account)]  # a receiver's account for one home


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountConfig(Model):
    gateway_id: str = Field(title="Gateway id (the MQTT topic level)", pattern=ID_PATTERN)
    account: Dc09Account = Field(title="DC-09 account: 3-16 hex digits, upper case")
    group: int = Field(1, ge=0, le=99, title="Contact ID group/partition (GG)")
    zones: dict[str, ContactIdNumber] = Field(default_factory=dict,
                                  title="Room id -> Contact ID zone number (1-999)")
    users: dict[str, ContactIdNumber] = Field(default_factory=dict,
                                  title="Sensor id -> Contact ID user number (1-999), optional")

    def mapping(self) -> AccountMap:
        return AccountMap(self.group, dict(self.zones), dict(self.users))


class ReceiverConfig(Model):
    host: str = Field(title="Alarm receiver host")
    port: int = Field(ge=1, le=65535, title="Alarm receiver TCP port")
    key_env: str | None = Field(None, title="Environment variable holding the AES key (hex)")
    prefix: str = Field("0", title="DC-09 account prefix (Lpref), 1-6 hex digits")
    receiver_number: str | None = Field(None, title="DC-09 receiver number (Rrcvr), 1-6 hex "
                                                    "digits, optional")
    ack_timeout: float = Field(10.0, ge=0.5, le=120, title="Seconds to wait for ACK/NAK")
    null_interval: float = Field(60.0, ge=1, le=86400,
                                 title="Seconds between NULL supervision messages per account")
    retry_min: float = Field(1.0, ge=0.05, le=60, title="First retry delay in seconds")
    retry_max: float = Field(30.0, ge=0.1, le=3600, title="Longest retry delay in seconds")
    clock_tolerance: float = Field(10.0, ge=1, le=600,
                                   title="A NAK whose timestamp differs more than this is a clock NAK")

    @field_validator("prefix", "receiver_number")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9A-F]{1,6}", v):
            raise ValueError("1-6 hex digits (0-9, A-F, upper case)")
        return v


class BridgeConfig(Model):
    bridge_id: str = Field("dc09-bridge", pattern=ID_PATTERN, title="Name of this bridge")
    queue: Path = Field(Path("/var/lib/safehome/dc09-bridge.sqlite"),
                        title="SQLite file that keeps messages until the receiver ACKs them")
    ack_by: str = Field("dc09-receiver", title="`by` of the MQTT acks the bridge publishes")
    status_topic: str | None = Field(None, title="Retained status topic; default "
                                                 "safehome/bridge/BRIDGE_ID/status")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, title="Broker the gateways publish to")
    receiver: ReceiverConfig = Field(title="The DC-09 alarm receiver")
    accounts: list[AccountConfig] = Field(min_length=1, title="One DC-09 account per gateway")

    @model_validator(mode="after")
    def _unique(self) -> BridgeConfig:
        for attr in ("gateway_id", "account"):
            seen: set[str] = set()
            for a in self.accounts:
                value = getattr(a, attr)
                if value in seen:
                    raise ValueError(f"accounts: {attr} {value!r} is used twice; each gateway "
                                     "has its own account")
                seen.add(value)
        return self

    @property
    def topic(self) -> str:
        return self.status_topic or f"safehome/bridge/{self.bridge_id}/status"

    def account_of(self, gateway_id: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.gateway_id == gateway_id), None)


def parse_bridge_config(data: Mapping[str, Any], path: str | Path = "<bridge config>",
                        env: Mapping[str, str] | None = None) -> tuple[BridgeConfig, bytes | None]:
    """The validated config and the AES key (None: unencrypted); ConfigError lists problems."""
    env = os.environ if env is None else env
    problems: list[str] = []
    cfg: BridgeConfig | None = None
    try:
        cfg = BridgeConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(describe_errors(exc, (), BridgeConfig))
    key = None
    raw = data.get("receiver")
    receiver: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    var = receiver.get("key_env")
    if isinstance(var, str):
        if var not in env:
            problems.append(f"receiver.key_env: environment variable {var!r} is not set; "
                            f"export {var}=<hex AES key> before starting")
        else:
            try:
                key = parse_key(env[var])
            except ValueError as exc:
                problems.append(f"receiver.key_env: {var}: {exc}")
    raw_mqtt = data.get("mqtt")
    mqtt: Mapping[str, Any] = raw_mqtt if isinstance(raw_mqtt, dict) else {}
    for name in ("ca_file", "cert_file", "key_file"):
        f = mqtt.get(name)
        if isinstance(f, str) and not Path(f).is_file():
            problems.append(f"mqtt.{name}: {f!r} is not a readable file")
    if problems:
        raise ConfigError(path, problems)
    assert cfg is not None
    return cfg, key


def load_bridge_config(path: str | Path, env: Mapping[str, str] | None = None
                       ) -> tuple[BridgeConfig, bytes | None]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(p, [f"cannot read the file: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(p, [f"not valid TOML: {exc}"]) from None
    return parse_bridge_config(data, p, env)
