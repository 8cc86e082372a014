"""The home config: what installers get told when they get it wrong."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]

GOOD = {
    "gateway_id": "gw-1", "site_id": "site-7f3a",
    "rooms": [{"id": "hall"}],
    "sensors": [{"id": "p", "type": "demo", "room": "hall", "settings": {"sos_after": 5}}],
}


def problems(**changes) -> list[str]:
    data = {**GOOD, **changes}
    with pytest.raises(ConfigError) as err:
        parse_config(data, env={})
    return err.value.lines


def test_the_examples_are_valid():
    for path in sorted((REPO / "examples").glob("*.toml")):
        load_config(path, env={"SAFEHOME_MQTT_USERNAME": "u", "SAFEHOME_MQTT_PASSWORD": "p"})


@pytest.mark.parametrize("change, expected", [
    ({"gateway_idd": "x"}, "gateway_idd: unknown key 'gateway_idd'; did you mean 'gateway_id'?"),
    ({"gateway_id": "gw 1"}, "gateway_id: 'gw 1' is not allowed: not a valid name"),
    ({"site_id": "Maija-Virtanen"}, "site_id: 'Maija-Virtanen' is not allowed: looks like a person's name"),
    ({"timezone": "Europe/Helsingfors"}, "timezone: 'Europe/Helsingfors' is not allowed: an IANA timezone"),
    ({"mqtt": {"heartbeat_interval": 5}}, "mqtt.heartbeat_interval: 5 is not allowed: Input should be greater than or equal to 10"),
    ({"mqtt": {"url": "mqtt://192.168.1.10"}}, "TLS is required"),
    ({"mqtt": {"url": "http://x"}}, "mqtt.url: 'http://x' is not allowed: expected mqtt://HOST[:PORT]"),
    ({"mqtt": {"username_env": "NO_SUCH_VAR"}}, "mqtt.username_env: environment variable 'NO_SUCH_VAR' is not set"),
    ({"mqtt": {"protocol": "4"}}, "mqtt.protocol: '4' is not allowed: Input should be '5' or '3.1.1'"),
    ({"alarm": {"cancel_windw": 10}}, "alarm.cancel_windw: unknown key 'cancel_windw'; did you mean 'cancel_window'?"),
    ({"sensors": [{"id": "p", "type": "demoo"}]}, "sensors[0].type: 'demoo' is not a known driver; did you mean 'demo'?"),
    ({"sensors": [{"id": "p", "type": "demo", "room": "attic"}]}, "sensors[0].room: 'attic' is not a room of this home"),
    ({"sensors": [{"id": "p", "type": "demo"}, {"id": "p", "type": "demo"}]}, "sensors[1].id: 'p' is used twice"),
    ({"sensors": [{"id": "p", "type": "demo", "settings": {"sos_afterr": 1}}]},
     "sensors[0].settings.sos_afterr: unknown key 'sos_afterr'; did you mean 'sos_after'?"),
    ({"sensors": [{"id": "p", "type": "demo", "settings": {"sos_after": -1}}]},
     "sensors[0].settings.sos_after: -1 is not allowed"),
    ({"detectors": {"passthru": {}}}, "detectors.passthru: unknown detector; did you mean 'passthrough'?"),
    ({"detectors": {"passthrough": {"battery_low_percent": 150}}},
     "detectors.passthrough.battery_low_percent: 150 is not allowed"),
])
def test_each_problem_names_the_key_the_value_and_the_fix(change, expected):
    lines = problems(**change)
    assert any(expected in line for line in lines), lines


def test_all_problems_are_reported_at_once():
    lines = problems(gateway_id="a b", timezone="Mars/Olympus", mqtt={"keepalive": 1},
                     sensors=[{"id": "p", "type": "nope"}])
    assert len(lines) == 4, lines


def test_secrets_come_from_the_environment():
    cfg = parse_config({**GOOD, "mqtt": {"username_env": "U", "password_env": "P"}},
                       env={"U": "gw", "P": "s3cret"})
    assert cfg.mqtt.username_env == "U"
    assert "s3cret" not in cfg.model_dump_json()


def test_config_check_exits_2_and_names_a_misspelled_key(tmp_path):
    f = tmp_path / "home.toml"
    f.write_text(textwrap.dedent("""\
        gateway_id = "gw-1"
        site_id = "site-1"
        [mqtt]
        heartbeat_intervall = 60
        """))
    run = subprocess.run([sys.executable, "-m", "gateway.cli", "config", "check", str(f)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2
    assert "mqtt.heartbeat_intervall: unknown key 'heartbeat_intervall'; did you mean " \
           "'heartbeat_interval'?" in run.stderr


def test_config_check_accepts_the_demo_home():
    run = subprocess.run([sys.executable, "-m", "gateway.cli", "config", "check",
                          "examples/demo-home.toml"], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert "OK" in run.stdout


def test_broken_toml_is_one_clear_problem(tmp_path):
    f = tmp_path / "home.toml"
    f.write_text("gateway_id = \n")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert err.value.lines[0].startswith("not valid TOML")


def test_per_type_settings_follow_the_config_they_belong_to():
    """Driver and detector tables are parsed when a config is made, and a copy with other
    detectors or sensors gets its own (no cache keyed by the old tables' identity)."""
    cfg = parse_config(GOOD, env={})
    assert cfg.driver_settings(cfg.sensors[0]).model_dump()["sos_after"] == 5
    off = cfg.model_copy(update={"detectors": {"wearable_fall": {"enabled": False}}})
    assert "wearable_fall" in cfg.detector_settings()
    assert "wearable_fall" not in off.detector_settings()
    other = cfg.model_copy(update={"sensors": [cfg.sensors[0].model_copy(update={"settings": {"sos_after": 9}})]})
    assert other.driver_settings(other.sensors[0]).model_dump()["sos_after"] == 9
    assert cfg.driver_settings(cfg.sensors[0]).model_dump()["sos_after"] == 5


def test_a_dc09_table_is_typed_at_load():
    from gateway.dc09.settings import Dc09PathConfig
    cfg = parse_config({**GOOD, "dc09": {"account": "1234", "receiver": {"host": "h", "port": 1}}}, env={})
    assert isinstance(cfg.dc09, Dc09PathConfig) and cfg.dc09.receiver.port == 1
