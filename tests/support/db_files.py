"""Read a database that a running gateway holds exclusively: copy the files a crash would
leave behind (the database and its WAL) and open the copy."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def crash_copy(path: str | Path) -> Iterator[Path]:
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="safehome-db-copy-") as tmp:
        copy = Path(tmp) / path.name
        for suffix in ("", "-wal"):
            src = Path(str(path) + suffix)
            if src.exists():
                shutil.copyfile(src, str(copy) + suffix)
        yield copy
