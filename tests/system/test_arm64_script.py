"""scripts/arm64-check.sh, the arm64 proof (issue 25), checked without running it.

The full check builds an arm64 Debian userland and runs the demo under emulation: about
half an hour on a first run, minutes with its cache, and it needs root and binfmt_misc, so
CI does not run it (docs/install.md says how and when it was run). What CI can check
cheaply: the script parses, shellcheck finds nothing, and it picks the Debian mirror from
this machine's apt configuration the way apt does, in both source formats.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "arm64-check.sh"


def mirror(apt_etc: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SAFEHOME_ARM64_MIRROR"}
    return subprocess.run(["bash", str(SCRIPT), "--mirror"], capture_output=True, text=True,
                          env={**env, "SAFEHOME_APT_ETC": str(apt_etc)}, timeout=30)


def test_the_script_parses() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt install shellcheck)")
def test_shellcheck_finds_nothing() -> None:
    # SC1091: bootstrap.sh is sourced through a computed path
    out = subprocess.run(["shellcheck", "-e", "SC1091", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout


DEB822 = ("sources.list.d/debian.sources",
          "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
          "Components: main\n\n"
          "# the archive itself\nTypes: deb deb-src\nURIs: http://mirror.example/debian/\n"
          "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
          "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
          "http://mirror.example/debian")
ONE_LINE = ("sources.list",
            "# deb http://commented.example/debian bookworm main\n"
            "deb [arch=amd64] https://other.example/apt cloud-sdk-bookworm main\n"
            "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://one.example/debian bookworm main\n",
            "http://one.example/debian")


@pytest.mark.parametrize(("name", "text", "expected"), [DEB822, ONE_LINE], ids=["deb822", "one-line"])
def test_the_mirror_is_the_first_bookworm_main_archive(tmp_path: Path, name: str, text: str, expected: str) -> None:
    """Security and other suites, comments and [options] do not fool it."""
    (tmp_path / name).parent.mkdir(exist_ok=True)
    (tmp_path / name).write_text(text)
    out = mirror(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_a_machine_without_a_bookworm_source_is_told_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://old.example/debian bullseye main\n")
    out = mirror(tmp_path)
    assert out.returncode != 0
    assert "no 'deb' source for bookworm main" in out.stderr and "SAFEHOME_ARM64_MIRROR" in out.stderr


def test_a_disabled_deb822_source_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "a.sources").write_text(
        "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n\n"
        "Types: deb\nURIs: http://on.example/debian\nSuites: bookworm\nComponents: main\n")
    assert mirror(tmp_path).stdout.strip() == "http://on.example/debian"
