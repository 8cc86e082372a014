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
