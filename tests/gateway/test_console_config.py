"""The [console] table: off by default, loopback without login, anything else only with a
token source; a bad table is refused by `config check` and `run` with exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.config import ConfigError, parse_config
from tests.support.gateway_proc import REPO

BASE = {"gateway_id": "gw-1", "site_id": "site-1"}


def problems(console: dict, env: dict | None = None) -> list[str]:
    try:
        parse_config({**BASE, "console": console}, env=env or {})
    except ConfigError as exc:
        return exc.lines
    return []


def test_the_console_is_off_unless_listen_is_set():
    cfg = parse_config(BASE, env={})
    assert not cfg.console.enabled
    assert parse_config({**BASE, "console": {"listen": "127.0.0.1:8380"}}, env={}).console.enabled


@pytest.mark.parametrize("listen", ["127.0.0.1:8380", "localhost:9000", "[::1]:8380", "127.0.0.2:1"])
def test_loopback_needs_no_token(listen):
    cfg = parse_config({**BASE, "console": {"listen": listen}}, env={})
    assert not cfg.console.needs_login


@pytest.mark.parametrize("listen", ["0.0.0.0:8380", "192.168.1.20:8380", "[::]:8380"])
def test_a_non_loopback_address_without_a_token_is_refused_naming_key_value_and_fix(listen):
    (line,) = problems({"listen": listen})
    assert line.startswith(f"console.listen: {listen!r} is not allowed")
    assert "console.token_env" in line and "one_time_links" in line and "127.0.0.1" in line


def test_a_non_loopback_address_with_a_token_or_one_time_links_is_accepted():
    env = {"CONSOLE_TOKEN": "x" * 32}
    cfg = parse_config({**BASE, "console": {"listen": "0.0.0.0:8380", "token_env": "CONSOLE_TOKEN"}},
                       env=env)
    assert cfg.console.needs_login and cfg.console.port == 8380
    assert not problems({"listen": "0.0.0.0:8380", "one_time_links": True})


def test_the_token_variable_must_be_set_and_long_enough():
    (line,) = problems({"listen": "0.0.0.0:8380", "token_env": "CONSOLE_TOKEN"})
    assert line.startswith("console.token_env: environment variable 'CONSOLE_TOKEN' is not set")
    (line,) = problems({"listen": "0.0.0.0:8380", "token_env": "CONSOLE_TOKEN"}, {"CONSOLE_TOKEN": "short"})
    assert "at least 16" in line


@pytest.mark.parametrize("listen, hint", [("8380", "expected HOST:PORT"), ("127.0.0.1:99999", "out of range"),
                                          ("gateway.local:8380", "not an IP address")])
def test_a_malformed_listen_address_says_what_is_expected(listen, hint):
    (line,) = problems({"listen": listen})
    assert line.startswith("console.listen:") and hint in line


def test_unknown_console_keys_get_a_suggestion():
    (line,) = problems({"listen": "127.0.0.1:8380", "tokenenv": "X"})
    assert "console.tokenenv: unknown key" in line and "token_env" in line


@pytest.mark.parametrize("command", [["config", "check"], ["run", "--config"]])
def test_config_check_and_run_exit_2_on_a_lan_console_without_a_token(tmp_path, command):
    text = (REPO / "examples" / "demo-home.toml").read_text()
    cfg = tmp_path / "home.toml"
    cfg.write_text(text.replace('path = "demo-events.db"', f'path = "{tmp_path / "x.db"}"')
                   .replace('listen = "127.0.0.1:8380"', 'listen = "0.0.0.0:8380"'))
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", *command, str(cfg)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "console.listen: '0.0.0.0:8380' is not allowed" in proc.stderr
    assert "token_env" in proc.stderr
    assert not (tmp_path / "x.db").exists(), "run refused before opening anything"


def test_behind_a_reverse_proxy_a_token_is_needed_even_on_loopback():
    """nginx on the same machine makes every browser look like 127.0.0.1: without this the
    LAN would reach a console that asks no login."""
    (line,) = problems({"listen": "127.0.0.1:8380", "trusted_proxies": ["127.0.0.1"]})
    assert line.startswith("console.listen:") and "reverse proxy" in line and "token_env" in line
    cfg = parse_config({**BASE, "console": {"listen": "127.0.0.1:8380", "one_time_links": True,
                                            "trusted_proxies": ["127.0.0.1", "::1"]}}, env={})
    assert cfg.console.needs_login


def test_a_trusted_proxy_must_be_an_ip_address():
    (line,) = problems({"listen": "0.0.0.0:8380", "one_time_links": True,
                        "trusted_proxies": ["nginx.local"]})
    assert line.startswith("console.trusted_proxies") and "'nginx.local' is not an IP address" in line
