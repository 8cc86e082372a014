"""Who may see the console when it listens beyond loopback.

Two ways in, both ending in a session cookie (HttpOnly, SameSite=Strict), so the token
never stays in the address bar or the browser history:
- the access token from the environment variable `console.token_env`, given once as
  `?token=...` (or an `Authorization: Bearer` header for scripts);
- a one-time link from `safehome console link`: a random code valid for
  `console.link_minutes`, usable once. The CLI and the daemon are separate processes,
  so pending links live in a small JSON file (mode 0600) that the CLI appends to and the
  daemon consumes from; only SHA-256 hashes of the codes are stored there.

The file is changed read-modify-write by two processes, so each change holds an
exclusive `flock` on a lock file beside it (otherwise a link issued while another was
consumed is lost), and is written to a temporary file of its own (`mkstemp`) and moved
into place with `os.replace`: a reader sees the old or the new file, never half of one,
and two writers never share (and delete) one temporary name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

COOKIE = "safehome_console"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class LinkBook:
    """Pending one-time link codes in `path`: {sha256(code): expires_at (Unix seconds)}."""

    path: Path
    clock: Callable[[], float] = time.time

    def _read(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} \
            if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive access for one read-modify-write, across processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)          # closing releases the lock

    def _write(self, links: dict[str, float]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:       # mkstemp creates it 0600
                json.dump(links, f)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def issue(self, minutes: float) -> str:
        """A new code, stored (hashed) with its expiry; expired codes are dropped."""
        code = secrets.token_urlsafe(18)
        with self._locked():
            now = self.clock()
            links = {h: t for h, t in self._read().items() if t > now}
            links[_hash(code)] = now + minutes * 60
            self._write(links)
        return code

    def consume(self, code: str) -> bool:
        """True once for a valid, unexpired code; the code is gone afterwards."""
        with self._locked():
            now = self.clock()
            links = self._read()
            expires = links.pop(_hash(code), None)
            if expires is None:
                return False
            self._write({h: t for h, t in links.items() if t > now})
        return expires > now


@dataclass
class Gate:
    """Decides whether a request may see the console; keeps the sessions in memory."""

    needs_login: bool
    token: str | None
    links: LinkBook | None
    session_s: float
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, float] = field(default_factory=dict)

    def open_session(self) -> str:
        now = self.clock()
        self.sessions = {s: t for s, t in self.sessions.items() if t > now}
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = now + self.session_s
        return sid

    def has_session(self, sid: str | None) -> bool:
        if not sid:
            return False
        until = self.sessions.get(sid)
        return until is not None and until > self.clock()

    def token_ok(self, given: str | None) -> bool:
        return bool(self.token and given and hmac.compare_digest(given.encode(), self.token.encode()))

    def link_ok(self, code: str | None) -> bool:
        return bool(self.links is not None and code and self.links.consume(code))
