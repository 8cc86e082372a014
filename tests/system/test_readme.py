"""The README cannot rot (issue 14): its essential config passes `config check`, its command
table names every command, its durations note matches the parser."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from gateway.cli import build_parser
from tests.support.cli import REPO, safehome


def test_the_readme_essentials_pass_config_check(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"The essentials:\s*```toml\n(.*?)```", readme, re.S)
    assert block is not None
    (tmp_path / "home.toml").write_text(block.group(1))
    out = safehome("config", "check", str(tmp_path / "home.toml"), SAFEHOME_MQTT_USERNAME="gw",
                   SAFEHOME_MQTT_PASSWORD="pw")
    assert out.returncode == 0, out.stderr


def test_the_readme_command_table_names_every_command() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Commands"):readme.index("## Configuring a home")]
    action = next(a for a in build_parser()._actions if a.dest == "command")
    for name in action.choices:
        assert f"`safehome {name}" in table, name


def test_readme_durations_note_matches_the_parser() -> None:
    assert "`90s`, `10m`, `2h`" in textwrap.dedent((REPO / "README.md").read_text())
