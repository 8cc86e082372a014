"""Bad input is a clear message and exit 2 (systemd does not retry exit 2): a config that
is not UTF-8, CSVs that are not UTF-8 or hold only a header, times printed as plain
numbers, and a broker URL with credentials refused without ever printing the password."""

from __future__ import annotations

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_config, parse_config

HOME = 'gateway_id = "gw-x"\nsite_id = "site-x"\n'
CSV_ARGS = ["--unit", "g", "--columns", "x,y,z"]


def test_a_config_that_is_not_utf8_names_the_line_and_the_fix(tmp_path, capsys):
    cfg = tmp_path / "home.toml"
    cfg.write_bytes(HOME.encode() + '# Kylpyhuone ja sauna: ä\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "line 3" in err.value.lines[0] and "0xe4" in err.value.lines[0]
    assert "UTF-8" in err.value.lines[0]
    for command in (["run", "--config", str(cfg)], ["config", "check", str(cfg)]):
        assert main(command) == 2
        out = capsys.readouterr()
        assert "not UTF-8" in out.err + out.out and "Traceback" not in out.err


@pytest.mark.parametrize("url", ["mqtt://gw-1:s3cret-pw@127.0.0.1:1883",
                                 "mqtt://gw-1@127.0.0.1:1883"])
def test_credentials_in_the_broker_url_are_refused_and_the_password_never_shown(tmp_path, capsys,
                                                                                 url):
    with pytest.raises(ConfigError) as err:
        parse_config({"gateway_id": "gw-x", "site_id": "site-x", "mqtt": {"url": url}}, env={})
    text = "\n".join(err.value.lines)
    assert "s3cret-pw" not in text
    assert "credentials do not belong in the broker URL" in text and "password_env" in text
    cfg = tmp_path / "home.toml"
    cfg.write_text(HOME + f'[mqtt]\nurl = "{url}"\n')
    assert main(["run", "--config", str(cfg)]) == 2
    assert main(["config", "check", str(cfg)]) == 2
    ok = tmp_path / "ok.toml"
    ok.write_text(HOME)
    assert main(["doctor", "--config", str(ok), "--broker", url, "--timeout", "0.5"]) == 2
    out = capsys.readouterr()
    assert "s3cret-pw" not in out.out + out.err
    assert "credentials do not belong" in out.out + out.err


def test_a_csv_that_is_not_utf8_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "walk.csv"
    f.write_bytes("x,y,z\n0,0,1\n# mätning\n".encode("latin-1"))
    assert main(["trace", "import-csv", str(f), "-o", str(tmp_path / "out"), "--rate", "50",
                 *CSV_ARGS]) == 2
    err = capsys.readouterr().err
    assert "walk.csv:3" in err and "not UTF-8" in err and "iconv" in err
    assert "Traceback" not in err


def test_a_header_only_csv_is_an_error_not_an_empty_trace(tmp_path, capsys):
    f = tmp_path / "empty.csv"
    f.write_text("x,y,z\n")
    out_dir = tmp_path / "out"
    assert main(["trace", "import-csv", str(f), "-o", str(out_dir), "--rate", "50",
                 *CSV_ARGS]) == 2
    assert "header line but no samples" in capsys.readouterr().err
    assert not list(out_dir.glob("*.mcap")) if out_dir.exists() else True


def test_time_errors_print_plain_numbers(tmp_path, capsys):
    f = tmp_path / "back.csv"
    f.write_text("t,x,y,z\n0.0,0,0,1\n3.5,0,0,1\n0.5,0,0,1\n")  # back 3 s: not a burst
    assert main(["trace", "import-csv", str(f), "-o", str(tmp_path / "out"), "--time-column", "t",
                 *CSV_ARGS]) == 2
    err = capsys.readouterr().err
    assert "time 0.5 goes back more than 1 s from 3.5" in err and "np." not in err


def test_a_command_imports_only_its_own_module_and_help_still_lists_them_all():
    # `safehome run` is the daemon: whatever it imports stays in its memory (issue 25)
    import json
    import subprocess
    import sys

    from gateway.cli import COMMANDS
    code = ("import json, sys, gateway.cli\n"
            "try:\n    gateway.cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('gateway.commands.'))))")

    def run(*argv: str) -> tuple[str, list[str]]:
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                             timeout=60, check=True)
        *text, mods = out.stdout.strip().splitlines()
        return "\n".join(text), json.loads(mods)

    _, mods = run("run", "--help")
    assert mods == ["gateway.commands.common", "gateway.commands.run"]
    text, mods = run("--help")
    assert all(name in text for name in COMMANDS) and len(mods) > len(COMMANDS)
    text, _ = run("--version")
    assert text.startswith("safehome ")
