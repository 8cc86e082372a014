"""Real storage faults for the daemon's database, made with the kernel's own means.

- A full file system: the store lives on a small tmpfs of its own; `fill()` writes a
  filler file until ENOSPC, `free()` deletes it. (Mounting needs root; without it the
  tests that need it are skipped, never faked.)
- Read-only files: `chattr +i` on the database, its `-wal` and its `-shm` (root bypasses
  permission bits, an immutable file it cannot write). This is how the issue met SIGBUS:
  SQLite maps `-shm` and a write to a mapped page of an immutable file faults.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path
from typing import Self


class Tmpfs:
    def __init__(self, path: Path, size: str = "3m") -> None:
        self.path = path
        self.size = size
        self.filler = path / "filler"

    def __enter__(self) -> Self:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", str(self.path)],
                       check=True, capture_output=True)
        return self

    def __exit__(self, *exc: object) -> None:
        immutable(self.path.iterdir(), False)
        subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)

    def fill(self) -> int:
        """Fill the file system to the last byte; returns the bytes written."""
        written = 0
        chunk = b"\0" * 65536
        with open(self.filler, "ab", buffering=0) as f:
            while True:
                try:
                    n = f.write(chunk if len(chunk) > 0 else b"\0")
                    written += n or 0
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        break
                    chunk = chunk[: len(chunk) // 2]
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def can_mount_tmpfs(probe: Path) -> bool:
    if os.geteuid() != 0:
        return False
    try:
        with Tmpfs(probe, "64k"):
            return True
    except (subprocess.CalledProcessError, OSError):
        return False


def immutable(paths: object, on: bool) -> None:
    """`chattr +i` (or `-i`) on each existing path."""
    for p in paths:  # type: ignore[attr-defined]
        if Path(p).is_file():
            subprocess.run(["chattr", "+i" if on else "-i", str(p)], check=False, capture_output=True)


def db_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
