"""Helpers for the console tests: the demo home with a [console] section, HTTP reads, and
Debian's chromium driven by Playwright (nothing is downloaded at run time)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.broker import free_port
from tests.support.gateway_proc import REPO

CHROMIUM = os.environ.get("SAFEHOME_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = os.environ.get("SAFEHOME_SCREENSHOTS")  # a folder: tests save every page there


def demo_home_with_console(tmp: Path, *, listen: str | None = None, extra: str = "") -> tuple[Path, int]:
    """examples/demo-home.toml with its store in `tmp` and a [console] on a free port."""
    port = free_port()
    text = (REPO / "examples" / "demo-home.toml").read_text(encoding="utf-8")
    text = text.replace('path = "demo-events.db"', f'path = "{tmp / "demo.db"}"')
    assert 'listen = "127.0.0.1:8380"' in text, "the demo home serves the console"
    text = text.replace('listen = "127.0.0.1:8380"', f'listen = "{listen or "127.0.0.1"}:{port}"\n{extra}')
    cfg = tmp / "demo-home.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg, port


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (401 before login is an answer)
        except (OSError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def port_taken() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def require_browser() -> None:
    """Skip where no browser can run (a laptop without chromium); in CI that is a failure,
    because scripts/test.sh installs chromium."""
    missing = []
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def screenshot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
