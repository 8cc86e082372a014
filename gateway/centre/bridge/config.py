"""The bridge's settings: one validated model, from a TOML file or from the command line.

Same rules as a home's config (gateway/config.py): unknown keys are errors, every problem
is reported at once naming the key, the value and what is allowed, and the command exits
with code 2. The AES key never sits in the file or on the command line: `key_env` names
the environment variable that holds it (hex).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from gateway.config import ID_PATTERN, ConfigError, MqttConfig
from gateway.config_errors import describe_errors
from gateway.dc09.contact_id import AccountMap
from gateway.dc09.frame import parse_key
from gateway.dc09.settings import ContactIdNumber, Dc09Account, Model, ReceiverConfig


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
