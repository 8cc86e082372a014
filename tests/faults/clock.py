"""Wall-clock jumps for the daemon only, with libfaketime (Debian package `faketime`).

The daemon runs with `LD_PRELOAD=libfaketime` reading its offset from a file, so the
harness can step the daemon's wall clock forward or back while it runs; CLOCK_MONOTONIC
is left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`), exactly as an NTP step or a Pi booting
without a real-time clock moves `time.time()` but not `time.monotonic()`. The broker, the
centre and the harness keep the real clock.
"""

from __future__ import annotations

import glob
from pathlib import Path

LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") +
                     glob.glob("/usr/lib/faketime/libfaketime.so.1"))


def available() -> bool:
    return bool(LIBFAKETIME)


class FakeClock:
    """The daemon's wall-clock offset in seconds, changed at run time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self.set(0.0)

    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": LIBFAKETIME[0], "FAKETIME_TIMESTAMP_FILE": str(self.path),
                "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}

    def set(self, offset: float) -> None:
        self.offset = offset
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{offset:+.0f}\n")
        tmp.replace(self.path)
