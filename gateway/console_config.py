"""The `[console]` table of a home's config: where the installer's console listens and how
a browser proves it may see the home.

Why here and not in gateway/console/: the config layer imports no feature package, so
loading a home's config (and the daemon) loads nothing of the console or aiohttp.

Why a token off loopback: the console shows who is home and where (radar targets, the
walk test) and can raise a test alarm; on the home's Wi-Fi that is for the installer only.
On 127.0.0.1 (reached through an SSH tunnel or on the gateway's own screen) the operating
system already limits who can connect, so no login is asked. A non-loopback address
without a token source is a config error naming the fix, like an MQTT broker without TLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gateway.netaddr import is_loopback as is_loopback  # re-exported for the server

DEFAULT_PORT = 8380
TOKEN_ENV_HINT = "SAFEHOME_CONSOLE_TOKEN"


class ConsoleConfig(BaseModel):
    """Off unless `listen` is set. Field order matters: `listen` is checked last, so its
    validator sees the token settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    token_env: str | None = Field(
        None, title="Environment variable holding the console's access token (off loopback)")
    one_time_links: bool = Field(
        False, title="Allow logins through one-time links from `safehome console link`")
    link_minutes: float = Field(15.0, gt=0, le=24 * 60, title="How long a one-time link stays valid")
    session_hours: float = Field(12.0, gt=0, le=7 * 24, title="How long a browser stays logged in")
    links_file: Path | None = Field(
        None, title="Where pending one-time links are kept (default: next to the event store)")
    trusted_proxies: list[str] = Field(
        default_factory=list, title="Reverse proxies (IP addresses) whose X-Forwarded-For names "
        "the client; setting any makes a login necessary even on loopback")
    listen: str | None = Field(
        None, title="HOST:PORT to serve the console on, e.g. 127.0.0.1:8380 (unset: no console)")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: list[str]) -> list[str]:
        for address in v:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address; list the reverse proxy's "
                                 "address as it connects to the console, e.g. \"127.0.0.1\"") from None
        return v

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        host, _ = parse_listen(v)
        token = info.data.get("token_env") or info.data.get("one_time_links")
        if info.data.get("trusted_proxies") and not token:
            raise ValueError(
                "behind a reverse proxy (console.trusted_proxies) every browser comes through "
                f"the proxy, so the console needs a token: set console.token_env = "
                f"\"{TOKEN_ENV_HINT}\" (and export it), or console.one_time_links = true")
        if not is_loopback(host) and not token:
            raise ValueError(
                f"{host} is not on this machine, so the console needs a token: set "
                f"console.token_env = \"{TOKEN_ENV_HINT}\" (and export it), or "
                "console.one_time_links = true and log in with `safehome console link`; "
                "or listen on 127.0.0.1 and use an SSH tunnel")
        return v

    @property
    def enabled(self) -> bool:
        return self.listen is not None

    @property
    def host(self) -> str:
        return parse_listen(self.listen or f"127.0.0.1:{DEFAULT_PORT}")[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen or f"127.0.0.1:{DEFAULT_PORT}")[1]

    @property
    def needs_login(self) -> bool:
        """Off loopback, or behind a reverse proxy (which makes remote browsers look local)."""
        return self.enabled and (not is_loopback(self.host) or bool(self.trusted_proxies))

    def links_path(self, storage_path: Path) -> Path:
        return self.links_file or Path(storage_path).expanduser().parent / "console-links.json"


def parse_listen(text: str) -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT' -> (host, port); ValueError names what was expected."""
    expected = "expected HOST:PORT such as 127.0.0.1:8380, 0.0.0.0:8380 or [::1]:8380"
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(expected)
    number = int(port)
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is out of range 1-65535")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IP address; {expected}") from None
    return host, number




def env_problems(table: Any, env: Mapping[str, str]) -> list[str]:
    """The config check's look at the environment: a named token variable must be set."""
    if not isinstance(table, dict):
        return []
    var = table.get("token_env")
    if isinstance(var, str) and table.get("listen") is not None:
        if var not in env:
            return [(f"console.token_env: environment variable {var!r} is not set; export "
                     f"{var}=<a long random string> before starting (secrets stay out of the file)")]
        if len(env[var]) < 16:
            return [(f"console.token_env: the token in {var} is {len(env[var])} characters long; "
                     "use at least 16 (e.g. `openssl rand -hex 16`)")]
    return []
