"""One process at a time numbers events for a gateway's database: an advisory file lock.

WHY: event `seq` is the gateway's counter "monotonic across restarts, never reused for
another id" (docs/mqtt-api.md). The daemon holds the counter in memory while it runs,
so a second publisher beside it (`safehome doctor`'s test alarm, or a second daemon
started by mistake) would number an event with a seq the daemon also uses. The
daemon's uplink takes an exclusive `flock` on `<database>.lock` when it is built
(before the daemon reads the store's last seq) and keeps it for the life of the
process; the kernel drops it on any exit, kill -9 included, so a stale pid file can
never block a restart. The doctor takes the same lock before it numbers its test alarm
and refuses, with a message saying why, while the daemon holds it.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from typing import Self


def lock_path(database: str | Path) -> Path:
    return Path(f"{Path(database).expanduser()}.lock")


class InstanceLock:
    """An exclusive, non-blocking lock on `<database>.lock`; `held` says whether we got it."""

    def __init__(self, database: str | Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None
        self.held = False
        self.busy = False        # another process holds it
        self.error: str | None = None

    def acquire(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self.error = f"cannot open {self.path}: {exc.strerror or exc}"
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                self.busy = True
            else:
                self.error = f"cannot lock {self.path}: {exc.strerror or exc}"
            return self
        self._fd = fd
        self.held = True
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())   # for people: who holds it
        return self

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            self.held = False

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
