"""`safehome bridge dc09` as the centre runs it: the command-line contract of issue 12,
its config errors (exit 2), and its retained status with the will."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.centre.bridge.config import load_bridge_config
from gateway.cli import build_parser
from gateway.commands.bridge import build_data
from gateway.config import ConfigError
from tests.support.bridge_util import ACCOUNT, GW, FakeGateway, event
from tests.support.gateway_proc import Listener
from tests.support.sia_receiver import SiaReceiver, hex_key

KEY = "0123456789ABCDEF"


def run_bridge(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "bridge", "dc09", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})


async def test_the_command_line_contract_end_to_end_with_status_and_will(mosquitto, tmp_path):
    async with SiaReceiver({ACCOUNT: KEY}) as rx, \
            Listener(mosquitto.host, mosquitto.port, "safehome/bridge/#") as status, \
            FakeGateway(mosquitto.host, mosquitto.port) as gw:
        proc = run_bridge("--broker", mosquitto.url, "--receiver", f"127.0.0.1:{rx.port}",
                          "--account", f"{GW}={ACCOUNT}", "--zone", f"{GW}:bath=3",
                          "--key-env", "BRIDGE_KEY", "--queue", str(tmp_path / "q.sqlite"),
                          "--bridge-id", "b1", env={"BRIDGE_KEY": hex_key(KEY)})
        try:
            await status.wait_for("status", timeout=20)
            fall = event("fall", room="bath")
            await gw.publish(fall)
            await gw.wait_ack(fall.id)
            assert rx.cid() == [(ACCOUNT, "1", "120", "01", "003")]
            online = await asyncio.wait_for(_status_with(status, lambda b: b.get("receiver", {})
                                                         .get("link") == "up"), 20)
            assert online["bridge_id"] == "b1" and online["state"] == "online"
        finally:
            proc.send_signal(signal.SIGKILL)        # no clean shutdown: the will must speak
            proc.wait(10)
        will = await asyncio.wait_for(_status_with(status, lambda b: b["state"] == "offline"), 20)
        assert will["reason"] == "connection lost"
        assert [t for t, _, r in status.messages if r is False and t.endswith("/status")]


async def _status_with(listener: Listener, predicate) -> dict:
    while True:
        for _, body, _ in listener.messages:
            if isinstance(body, dict) and predicate(body):
                return body
        await asyncio.sleep(0.05)


def test_a_bad_command_line_exits_2_naming_each_problem(tmp_path):
    proc = run_bridge("--broker", "mqtt://127.0.0.1:1", "--receiver", "nohost",
                      "--account", "gw-1=12", "--account", "gw-2", "--key-env", "NOT_SET_ANYWHERE",
                      "--queue", str(tmp_path / "q.sqlite"))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, out
    for needle in ("--receiver 'nohost'", "--account 'gw-2'"):
        assert needle in out


def test_config_file_form_validates_every_key(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text('bridge_id = "b"\nqueue = "q.sqlite"\n[mqtt]\nurl = "mqtt://127.0.0.1:1883"\n'
                    '[receiver]\nhost = "10.0.0.5"\nport = 5000\nack_timout = 3\n'
                    'key_env = "DC09_KEY_X"\n'
                    '[[accounts]]\ngateway_id = "gw-1"\naccount = "12g"\nzones = {bath = 1000}\n'
                    '[[accounts]]\ngateway_id = "gw-1"\naccount = "5678"\n')
    with pytest.raises(ConfigError) as err:
        load_bridge_config(path, env={"DC09_KEY_X": "00ff"})
    text = "\n".join(err.value.lines)
    assert "receiver.ack_timout: unknown key 'ack_timout'; did you mean 'ack_timeout'?" in text
    assert "accounts[0].account" in text and "3-16 hex digits" in text
    assert "accounts[0].zones.bath" in text
    assert "DC09_KEY_X" in text and "32, 48 or 64" in text


def test_a_valid_config_file_with_command_line_additions(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text('[receiver]\nhost = "10.0.0.5"\nport = 5000\n'
                    '[[accounts]]\ngateway_id = "gw-1"\naccount = "0123"\nzones = {bath = 3}\n'
                    'users = {band-1 = 7}\n')
    cfg, key = load_bridge_config(path, env={})
    assert key is None and cfg.accounts[0].account == "0123"     # leading zero kept
    args = build_parser().parse_args(["bridge", "dc09", "--account", "gw-2=abc",
                                      "--zone", "gw-2:hall=9", "--receiver", "[::1]:6000"])
    import tomllib
    data, problems = build_data(args, tomllib.loads(Path(path).read_text()))
    assert problems == []
    assert data["receiver"] == {"host": "::1", "port": 6000}
    assert data["accounts"][1] == {"gateway_id": "gw-2", "account": "ABC", "zones": {"hall": 9}}


def test_the_example_bridge_config_is_valid(tmp_path):
    text = (Path(__file__).resolve().parents[3] / "examples" / "dc09" / "bridge.toml").read_text()
    for name in ("ca.crt", "centre.crt", "centre.key"):
        (tmp_path / name).write_text("x")
        text = text.replace(f"/etc/safehome/{name}", str(tmp_path / name))
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    cfg, key = load_bridge_config(path, env={"DC09_KEY": "00" * 16})
    assert key == bytes(16) and [a.account for a in cfg.accounts] == ["1234", "1235"]
