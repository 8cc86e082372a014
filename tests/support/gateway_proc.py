"""Run the real `safehome run` daemon as a child process, and listen to what it publishes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import aiomqtt

REPO = Path(__file__).resolve().parents[2]


def write_home(tmp: Path, broker_url: str, home: str, *, name: str = "home",
               extra: str = "", mqtt_extra: str = "") -> Path:
    """A home's config file: `home` holds the ids, rooms, sensors and detector tables; the
    uplink points at the test's broker (fast reconnects) and the store into `tmp`."""
    cfg = tmp / f"{name}.toml"
    cfg.write_text(textwrap.dedent(home) + "\n" + textwrap.dedent(f"""\
        [mqtt]
        url = "{broker_url}"
        heartbeat_interval = 10
        reconnect_min = 0.2
        reconnect_max = 2
        """) + mqtt_extra + "\n" + textwrap.dedent(f"""\
        [storage]
        path = "{tmp / (name + '.db')}"
        batch_ms = 20
        """) + textwrap.dedent(extra))
    return cfg


def write_config(tmp: Path, broker_url: str, *, gateway_id: str = "gw-test-01",
                 sensor_settings: str = "sos_after = 1", extra: str = "",
                 mqtt_extra: str = "") -> Path:
    """The standard test home: one scripted `demo` pendant in the hall."""
    home = textwrap.dedent(f"""\
        gateway_id = "{gateway_id}"
        site_id = "site-test"
        [[rooms]]
        id = "hall"
        [[sensors]]
        id = "pendant"
        type = "demo"
        room = "hall"
        timeout = 60
        [sensors.settings]
        """) + sensor_settings
    return write_home(tmp, broker_url, home, name=gateway_id, extra=extra, mqtt_extra=mqtt_extra)


class GatewayProcess:
    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log_path = config.with_suffix(f".{int(time.time() * 1000)}.log")

    def start(self) -> "GatewayProcess":
        self.log_path = self.config.with_suffix(f".{time.monotonic_ns()}.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - the daemon's log, open while it runs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(self.config), *self.args],
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        """The exit code; a daemon that does not stop in time is killed (and the test fails)."""
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self._log.close()
        return rc

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Listener:
    """Subscribes to everything under safehome/ and keeps decoded messages."""

    def __init__(self, host: str, port: int, topic: str = "safehome/#") -> None:
        self.host, self.port, self.topic = host, port, topic
        self.messages: list[tuple[str, Any, bool]] = []
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    async def __aenter__(self) -> "Listener":
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiomqtt.Client(self.host, self.port, identifier=f"listener-{time.monotonic_ns()}") as c:
            await c.subscribe(self.topic, qos=1)
            self.ready.set()
            async for m in c.messages:
                try:
                    body = json.loads(m.payload)
                except (ValueError, RecursionError):  # hostile payloads in the fault tests
                    body = m.payload
                self.messages.append((str(m.topic), body, bool(m.retain)))

    def on(self, leaf: str) -> list[Any]:
        return [b for t, b, _ in self.messages if t.endswith("/" + leaf)]

    async def wait_for(self, leaf: str, count: int = 1, timeout: float = 30.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(leaf)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} message(s) on {leaf}, got {len(self.on(leaf))}: "
                             f"{[t for t, _, _ in self.messages][-10:]}")


async def retained(host: str, port: int, topic: str, timeout: float = 3.0) -> Any:
    """The retained message on `topic` (decoded JSON), or None."""
    async with aiomqtt.Client(host, port, identifier=f"probe-{time.monotonic_ns()}") as c:
        await c.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(timeout):
                async for m in c.messages:
                    return json.loads(m.payload)
        except TimeoutError:
            return None
