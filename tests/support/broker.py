"""A real mosquitto broker process for tests, on a free loopback port.

Tests talk to the same broker the product talks to in the field; only its lifetime is
managed here: start, stop (for outage tests), restart on the same port, and an optional
password file for credential tests.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


_PICK = random.SystemRandom()   # tests that seed `random` must not make workers pick alike


def free_port() -> int:
    """A free loopback port *below* the kernel's ephemeral range (32768+). Why: a broker
    stopped for an outage test must get its port back when it restarts, but ephemeral
    ports are handed out all the time, to clients' local ends and, under pytest-xdist, to
    the other workers' servers (seen with NATS: "address already in use" on a restart)."""
    return _free_in(20000, 32000)


def unreachable_port() -> int:
    """A loopback port nothing listens on, for a broker that is down or never was: taken
    from a range free_port() never hands out, so under pytest-xdist no other worker's
    broker can appear on it while the test counts on the refusal."""
    return _free_in(19000, 20000)


def _free_in(lo: int, hi: int) -> int:
    while True:
        port = _PICK.randrange(lo, hi)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def wait_port(host: str, port: int, timeout: float = 10.0, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {host}:{port} did not become {'open' if up else 'closed'}")


class Mosquitto:
    def __init__(self, workdir: Path, *, users: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "mosquitto.log"
        self.conf = self.dir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false",
                 f"log_dest file {self.log}", "log_type all", "connection_messages true"]
        if os.geteuid() == 0:
            # As root mosquitto drops to user "mosquitto", which cannot read files in tmp_path.
            lines.append("user root")
        if users:
            pw = self.dir / "passwd"
            pw.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True,
                               capture_output=True)
            os.chmod(pw, 0o600)
            lines += ["allow_anonymous false", f"password_file {pw}"]
        else:
            lines.append("allow_anonymous true")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> "Mosquitto":
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.host, self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_port(self.host, self.port, up=False)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
