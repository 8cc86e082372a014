"""The shipped systemd unit starts on plain Debian 12 (issue 14, "Install").

A unit naming a supplementary group that does not exist (`gpio` is Raspberry Pi OS only,
`bluetooth` comes with bluez) fails at start with "Failed to determine supplementary group".
The unit therefore names none; docs/install.md adds the user to the device groups that exist.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "examples" / "systemd" / "safehome.service"
INSTALLED_SAFEHOME = "/opt/safehome/venv/bin/safehome"


def service_section() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_unit_names_no_group_that_plain_debian_lacks() -> None:
    service = service_section()
    assert "SupplementaryGroups" not in service
    assert service["User"] == "safehome" and service["Group"] == "safehome"


def test_unit_runs_the_venv_that_docs_install_md_creates() -> None:
    service = service_section()
    assert service["ExecStart"].startswith(f"{INSTALLED_SAFEHOME} run ")
    install_doc = (UNIT.parents[2] / "docs" / "install.md").read_text()
    assert "python3 -m venv /opt/safehome/venv" in install_doc
    assert "usermod" in install_doc  # the device groups step


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart programs exist; point them at this venv's safehome.
    here = Path(sys.executable).parent / "safehome"
    unit = tmp_path / "safehome.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_SAFEHOME, str(here)))
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], check=False,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "safehome.service" not in out.stderr, out.stderr


def unit_environment(cache: Path) -> dict[str, str]:
    """The unit's `Environment=` settings, its cache directory replaced by `cache`."""
    env: dict[str, str] = {}
    for item in service_section()["Environment"].split():
        key, _, value = item.partition("=")
        env[key] = value.replace("/var/cache/safehome", str(cache))
    return env


def test_the_unit_runs_the_daemon_without_docstrings_and_caches_its_bytecode() -> None:
    service = service_section()
    env = unit_environment(Path("/var/cache/safehome"))
    assert env["PYTHONOPTIMIZE"] == "2"                      # the memory it saves: docs/install.md
    assert env["PYTHONPYCACHEPREFIX"].startswith("/var/cache/safehome/")
    assert service["CacheDirectory"] == "safehome"          # writable under ProtectSystem=strict


def test_the_demo_home_daemon_runs_and_stops_cleanly_under_the_units_environment(
        tmp_path: Path, mosquitto) -> None:
    # without docstrings and asserts (PYTHONOPTIMIZE=2) nothing the daemon runs may change:
    # it starts, publishes its readiness and events, and stops on SIGTERM with exit 0
    import os
    import signal
    import time

    import paho.mqtt.client as mqtt
    env = {**os.environ, **unit_environment(tmp_path / "cache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)                # systemd's environment has none
    got: list[str] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, m: got.append(m.topic)
    sub.connect(mosquitto.host, mosquitto.port)
    sub.subscribe("#")
    sub.loop_start()
    repo = UNIT.parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config",
                             str(repo / "examples" / "demo-home.toml"), "--broker", mosquitto.url,
                             "--db", str(tmp_path / "e.db")], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("/event" in t or "/status" in t for t in got):
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
        sub.loop_stop()
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert any("/event" in t or "/status" in t for t in got), (got[:20], out[-2000:])
    assert list((tmp_path / "cache").rglob("*.opt-2.pyc")), "no bytecode was cached"
