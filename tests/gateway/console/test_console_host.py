"""The console sees the gateway through its own `ConsoleHost` (gateway/console/host.py) and
is attached by `safehome run`: no module of the console imports the daemon (not even for
types), the daemon imports no console code, and a daemon nobody attached a console to
serves none."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.gateway.test_daemon_core_loops import home
from tests.support.broker import free_port

REPO = Path(__file__).resolve().parents[3]


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (functions, TYPE_CHECKING blocks too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_no_console_module_imports_the_daemon_and_the_daemon_no_console_module():
    for path in sorted((REPO / "gateway" / "console").glob("*.py")):
        assert "gateway.daemon" not in imports(path), path.name
    assert not [m for m in imports(REPO / "gateway" / "daemon.py") if m.startswith("gateway.console")]


def test_loading_the_daemon_loads_neither_the_console_server_nor_aiohttp():
    code = ("import sys, gateway.daemon; "
            "print(sorted(m for m in sys.modules if m.startswith(('aiohttp', 'gateway.console.'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"  # the [console] table is gateway/console_config.py


async def test_a_console_is_served_only_when_attached(tmp_path):
    from gateway.console.attach import attach_console
    from gateway.daemon import Daemon

    port = free_port()
    cfg = home(tmp_path)
    cfg = cfg.model_copy(update={"console": cfg.console.model_validate(
        {"listen": f"127.0.0.1:{port}"})})

    async def answers(attach: bool) -> bool:
        daemon = Daemon(cfg)
        if attach:
            attach_console(daemon)
        task = asyncio.create_task(daemon.run())
        try:
            for _ in range(100):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                return True
            return False
        finally:
            daemon.stop_requested.set()
            assert await asyncio.wait_for(task, 30) == 0

    assert not await answers(attach=False)
    assert await answers(attach=True)


def test_attach_console_does_nothing_when_the_console_is_off(tmp_path):
    attached: list[Any] = []

    class Host:
        cfg = home(tmp_path)

        def attach(self, name: str, part: Any) -> None:
            attached.append(name)

    from gateway.console.attach import attach_console
    attach_console(Host())  # type: ignore[arg-type]
    assert attached == []
