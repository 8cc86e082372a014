"""Who may see the console when it listens beyond loopback.

Two ways in, both ending in a session cookie (HttpOnly, SameSite=Strict), so the token
never stays in the address bar or the browser history:
- the access token from the environment variable `console.token_env`, given once as
  `?token=...` (or an `Authorization: Bearer` header for scripts);
- a one-time link from `safehome console link`: a random code valid for
  `console.link_minutes`, usable once. The CLI and the daemon are separate processes,
  so pending links live in a small JSON file (mode 0600) that the CLI appends to and the
  daemon consumes from; only SHA-256 hashes of the codes are stored there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
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

    def _write(self, links: dict[str, float]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(links, f)
        os.replace(tmp, self.path)

    def issue(self, minutes: float) -> str:
        """A new code, stored (hashed) with its expiry; expired codes are dropped."""
        code = secrets.token_urlsafe(18)
        now = self.clock()
        links = {h: t for h, t in self._read().items() if t > now}
        links[_hash(code)] = now + minutes * 60
        self._write(links)
        return code

    def consume(self, code: str) -> bool:
        """True once for a valid, unexpired code; the code is gone afterwards."""
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
