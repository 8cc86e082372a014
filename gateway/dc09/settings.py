"""The DC-09 account types and one receiver's settings, shared by the home's second alarm
path (gateway/dc09_path.py, `[dc09]` in home.toml) and the centre-side bridge
(gateway/centre/bridge/config.py). Validated the way every config is: unknown keys are
errors, and each field says what is allowed.

`Dc09PathConfig` is the type of `HomeConfig.dc09`, so the home's config validates `[dc09]`
once at load without importing the path itself (the config layer imports no feature
package; gateway/dc09_path.py imports the config)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

HEX_ACCOUNT = r"^[0-9A-F]{3,16}$"
ContactIdNumber = Annotated[int, Field(ge=1, le=999)]   # three Contact ID digits, 000 = none


def _account(v: str) -> str:
    if not re.fullmatch(HEX_ACCOUNT, v):
        raise ValueError("a DC-09 account is 3-16 hex digits (0-9, A-F, upper case), e.g. 1234")
    return v


Dc09Account = Annotated[str, AfterValidator(_account)]  # a receiver's account for one home


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Dc09PathConfig(Model):
    """A home's `[dc09]` table: the gateway's own second alarm path (gateway/dc09_path.py)."""

    receiver: ReceiverConfig = Field(title="The DC-09 alarm receiver of the second path")
    account: Dc09Account = Field(title="This home's DC-09 account: 3-16 hex digits, upper case")
    group: int = Field(1, ge=0, le=99, title="Contact ID group/partition (GG)")
    zones: dict[str, ContactIdNumber] = Field(default_factory=dict,
                                              title="Room id -> Contact ID zone (1-999)")
    users: dict[str, ContactIdNumber] = Field(default_factory=dict,
                                              title="Sensor id -> Contact ID user (1-999)")
    queue: Path | None = Field(None, title="SQLite queue; default: next to the event store")


def key_env_problems(where: str, var: str | None, env: Mapping[str, str]) -> list[str]:
    """Problems with the AES key that `var` names (none when unencrypted), as config lines
    under `where` (e.g. "dc09.receiver.key_env")."""
    if var is None:
        return []
    if var not in env:
        return [(f"{where}: environment variable {var!r} is not set; "
                 f"export {var}=<hex AES key> before starting")]
    from gateway.dc09.frame import parse_key  # cryptography: only for a config that uses it
    try:
        parse_key(env[var])
    except ValueError as exc:
        return [f"{where}: {var}: {exc}"]
    return []
