"""The real `safehome run` under test, supervised the way systemd would run it.

- Started with `NOTIFY_SOCKET` and `WATCHDOG_USEC` pointing at a datagram socket the
  harness reads: READY=1 says the daemon is up, WATCHDOG=1 comes from its tick loop, so
  a stalled tick loop shows as missing pings while the process still lives.
- An exit the harness did not cause is recorded with its code and the daemon is started
  again (Restart=always); exit code 0 without a stop request is itself a violation.
- Every start writes its own log; the checker reads all of them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Self

from tests.support.gateway_proc import GatewayProcess

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+) ([\w.]+): (.*)$")
WATCHDOG_USEC = 2_000_000     # the tick loop pings every second


@dataclass(frozen=True)
class LogLine:
    at: float        # the daemon's wall clock when logged
    level: str
    logger: str
    text: str


def parse_log(text: str) -> list[LogLine]:
    out: list[LogLine] = []
    for raw in text.splitlines():
        m = LOG_LINE.match(raw)
        if m:
            at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out.append(LogLine(at, m.group(2), m.group(3), m.group(4)))
    return out


@dataclass
class Run:
    """One process lifetime."""

    proc: GatewayProcess
    started: float                    # harness wall clock
    ready: float | None = None        # READY=1 received
    ready_mono: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    killed_by_harness: bool = False
    pings: list[float] = field(default_factory=list)   # WATCHDOG=1 times (monotonic)


class SupervisedDaemon:
    def __init__(self, config: Path, *, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = dict(env or {})
        self._sockdir = Path(tempfile.mkdtemp(prefix="shwd"))
        self._sock_path = self._sockdir / "notify"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self._sock_path))
        self._sock.setblocking(False)
        self.runs: list[Run] = []
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._on_notify)
        self._watch = asyncio.create_task(self._supervise(), name="supervise")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        self.kill()
        asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()
        for p in self._sockdir.iterdir():
            p.unlink()
        self._sockdir.rmdir()

    @property
    def current(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def alive(self) -> bool:
        r = self.current
        return r is not None and r.proc.proc is not None and r.proc.proc.poll() is None

    def start(self) -> Run:
        env = {**self.env, "NOTIFY_SOCKET": str(self._sock_path), "WATCHDOG_USEC": str(WATCHDOG_USEC),
               "PYTHONUNBUFFERED": "1"}
        proc = GatewayProcess(self.config, env=env).start()
        run = Run(proc, time.time())
        self.runs.append(run)
        return run

    async def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from start to READY=1 of the current run (following restarts the
        supervisor makes when a start crashes)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.current
            assert run is not None
            if run.ready is not None:
                return run.ready - run.started
            if time.monotonic() > deadline:
                raise AssertionError(f"daemon not ready after {timeout} s:\n{self.log_text()[-3000:]}")
            await asyncio.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> float | None:
        """Kill the current process now; returns the harness time of the kill."""
        run = self.current
        if run is None or run.proc.proc is None or run.proc.proc.poll() is not None:
            return None
        run.killed_by_harness = True
        at = time.time()
        run.proc.proc.send_signal(sig)
        run.exit_code = run.proc.wait(30)
        run.ended = time.time()
        return at

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: a clean stop."""
        run = self.current
        assert run is not None and run.proc.proc is not None
        run.killed_by_harness = True
        run.proc.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while run.proc.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        run.exit_code = run.proc.wait(1)
        run.ended = time.time()
        return run.exit_code

    # -- watching ---------------------------------------------------------------------
    def _on_notify(self) -> None:
        try:
            data = self._sock.recv(4096).decode(errors="replace")
        except OSError:
            return
        run = self.current
        if run is None:
            return
        if "READY=1" in data and run.ready is None:
            run.ready = time.time()
            run.ready_mono = time.monotonic()
        if "WATCHDOG=1" in data:
            run.pings.append(time.monotonic())

    async def _supervise(self) -> None:
        """Restart=always: an exit the harness did not cause is recorded, then restarted."""
        while not self._stopping:
            await asyncio.sleep(0.2)
            run = self.current
            if run is None or run.killed_by_harness or run.proc.proc is None:
                continue
            rc = run.proc.proc.poll()
            if rc is not None:
                run.exit_code = run.proc.wait(1)
                run.ended = time.time()
                await asyncio.sleep(0.5)   # systemd's RestartSec, shortened
                if not self._stopping:
                    self.start()

    # -- views ------------------------------------------------------------------------
    def unexpected_exits(self) -> list[int]:
        return [r.exit_code for r in self.runs if not r.killed_by_harness and r.exit_code is not None]

    def logs(self) -> list[LogLine]:
        out: list[LogLine] = []
        for r in self.runs:
            out += parse_log(r.proc.output())
        return out

    def log_text(self) -> str:
        return "\n".join(f"--- run started {r.started:.3f} exit {r.exit_code}\n" + r.proc.output()
                         for r in self.runs)

    def stalls(self, allowed: float = 6.0) -> list[str]:
        """Gaps in the tick loop's watchdog pings while the process lived (after READY)."""
        out = []
        for i, r in enumerate(self.runs):
            if r.ready is None or len(r.pings) < 2:
                continue
            gaps = [b - a for a, b in zip(r.pings, r.pings[1:], strict=False)]
            if gaps and max(gaps) > allowed:
                out.append(f"run {i}: tick loop silent for {max(gaps):.1f} s")
        return out

    def tick_silent_at_end(self, allowed: float = 6.0) -> bool:
        """The current run is alive but its tick loop has not pinged for `allowed` s."""
        r = self.current
        if r is None or not self.alive or r.ready is None:
            return False
        last = r.pings[-1] if r.pings else r.ready_mono
        return last is not None and time.monotonic() - last > allowed


def env_without(*keys: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in keys}
