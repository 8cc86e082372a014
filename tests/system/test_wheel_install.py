"""The built wheel alone runs outside the clone (issue 14, "Install").

The wheel is built from a copy of the working tree, installed with `--no-deps` into a fresh
venv in a temporary directory, and every command runs from that directory, so nothing can be
found through the clone: the radar configs, presets, example homes and the demo's scenario
must come from the installed package data. The fresh venv borrows the test venv's
dependencies (numpy, pydantic, ...) through a .pth line instead of downloading them again; a
plain path line does not run the test venv's editable-install hook, and the venv's own
site-packages comes first, so `gateway` is imported from the wheel (asserted below).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis", "out", "*.mcap", "*.db")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed; returns its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCE)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)],
                           check=False, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("safehome-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (purelib,) = venv.glob("lib/python3*/site-packages")
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "borrowed_deps.pth").write_text("\n".join(deps) + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                              "install", "-q", "--no-deps", "--disable-pip-version-check",
                              str(wheel)], check=False, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, timeout: float = 60,
        **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra_env)
    return subprocess.run([str(bin_dir / "safehome"), *args], check=False, capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


def test_gateway_is_imported_from_the_wheel_not_the_clone(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([str(installed / "python"), "-c",
                            ("import gateway, drivers, simulator; "
                             "print(gateway.__file__, drivers.__file__, simulator.__file__)")],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    for path in where.split():
        assert Path(path).is_relative_to(installed.parent), path


def test_version_names_the_installed_release(installed: Path, tmp_path: Path) -> None:
    out = run(installed, "--version", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "safehome 0.1.0"


def test_config_check_finds_shipped_chirp_configs_and_presets(installed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home.toml"
    home.write_text(textwrap.dedent("""\
        gateway_id = "gw-test-01"
        site_id = "site-test"
        timezone = "Europe/Helsinki"
        [[rooms]]
        id = "hall"
        name = { fi = "eteinen", sv = "hall", en = "hall" }
        [[rooms]]
        id = "living"
        name = { fi = "olohuone", sv = "vardagsrum", en = "living room" }
        [[sensors]]
        id = "radar-living"
        type = "ti_mmwave"
        room = "living"
        settings = { cli_port = "/dev/ttyUSB0", data_port = "/dev/ttyUSB1", config = "iwr6843aop_wall" }
        [[sensors]]
        id = "radar-hall"
        type = "hlk_ld2410"
        room = "hall"
        settings = { port = "/dev/ttyS0", preset = "hallway_wall" }
        """))
    out = run(installed, "config", "check", str(home), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "OK" in out.stdout and "2 sensors" in out.stdout


def test_shipped_examples_are_printable_and_the_example_home_passes_its_check(
        installed: Path, tmp_path: Path) -> None:
    listing = run(installed, "config", "example", "no-such-example", cwd=tmp_path)
    assert listing.returncode == 2
    for name in ("home.toml", "demo-home.toml", "systemd/safehome.service", "mosquitto/safehome.acl"):
        assert name in listing.stderr
    home = run(installed, "config", "example", cwd=tmp_path)
    assert home.returncode == 0 and "gateway_id" in home.stdout
    (tmp_path / "home.toml").write_text(home.stdout)
    check = run(installed, "config", "check", "home.toml", cwd=tmp_path,
                SAFEHOME_MQTT_USERNAME="gw", SAFEHOME_MQTT_PASSWORD="secret")
    assert check.returncode == 0, check.stderr


@pytest.mark.slow
def test_demo_runs_to_completion_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = run(installed, "demo", "--duration", "150s", cwd=tmp_path, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Demo complete" in out.stdout
