"""Checks of the machine itself: clock, disk space for the database, recording state.

Why the clock matters: alarm times, the centre's supervision and TLS certificate checks
all trust it. A Raspberry Pi has no real-time clock and boots believing it is 1970 until
NTP answers, so a year before 2024 is reported as wrong whatever the sync flag says.
Synchronisation is asked the cheapest reliable way available: systemd's timedated, then
timesyncd's flag file, then the kernel's own adjtimex state.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from gateway.checks.check import Check
from gateway.config import HomeConfig

MB = 1024 * 1024
DISK_WARN_MB = 200
DISK_FAIL_MB = 20
EARLIEST_PLAUSIBLE = 1704067200.0  # 2024-01-01T00:00:00Z
TIME_ERROR = 5                      # adjtimex(): clock not synchronised
STA_UNSYNC = 0x0040
NTP_FIX = "enable time sync: `sudo timedatectl set-ntp true` (and let the gateway reach an NTP server)"


def ntp_synchronized() -> tuple[bool | None, str]:
    """(synchronised?, how we know); None when no source could tell."""
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                 capture_output=True, text=True, timeout=5)
            value = out.stdout.strip()
            if out.returncode == 0 and value in ("yes", "no"):
                return value == "yes", "timedatectl"
        except (OSError, subprocess.SubprocessError):
            pass
    if Path("/run/systemd/timesync/synchronized").exists():
        return True, "/run/systemd/timesync/synchronized"
    return _adjtimex()


def _adjtimex() -> tuple[bool | None, str]:
    """Ask the kernel (read-only: modes = 0). struct timex starts with `unsigned modes`
    then four longs; `int status` follows, so its offset is 5 * sizeof(long)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
        buf = ctypes.create_string_buffer(512)  # larger than struct timex on every ABI
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None, "no time source could be asked"
    if state < 0:
        return None, f"adjtimex failed (errno {ctypes.get_errno()})"
    status = ctypes.c_int.from_buffer(buf, 5 * ctypes.sizeof(ctypes.c_long)).value
    return (state != TIME_ERROR and not status & STA_UNSYNC), "adjtimex"


def check_clock(now: float | None = None) -> list[Check]:
    now = time.time() if now is None else now
    out: list[Check] = []
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    if now < EARLIEST_PLAUSIBLE:
        out.append(Check.fail("clock: date", f"the clock says {stamp}, before 2024: it has not "
                              "been set since boot (no RTC)", NTP_FIX, now=now))
    else:
        out.append(Check.ok("clock: date", stamp, now=now))
    synced, source = ntp_synchronized()
    if synced is True:
        out.append(Check.ok("clock: synchronised", f"yes ({source})", source=source))
    elif synced is False:
        out.append(Check.warn("clock: synchronised", f"no ({source}): alarm times may be off",
                              NTP_FIX, source=source))
    else:
        out.append(Check.warn("clock: synchronised", f"unknown: {source}",
                              "check the time by hand; install systemd-timesyncd or chrony",
                              source=source))
    return out


def _existing_parent(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_storage(cfg: HomeConfig) -> list[Check]:
    db = Path(cfg.storage.path).expanduser().absolute()
    out: list[Check] = []
    directory = db.parent
    base = _existing_parent(directory)
    if os.access(base, os.W_OK | os.X_OK) and base.is_dir():
        finding = (f"{directory} is writable" if base == directory
                   else f"{directory} does not exist yet; {base} is writable, so it can be created")
        out.append(Check.ok("disk: database directory", finding, path=str(db)))
    else:
        out.append(Check.fail(
            "disk: database directory", f"{directory} is not writable by this user",
            f"sudo mkdir -p {directory} && sudo chown $(id -un) {directory} "
            "(or set [storage] path to a writable place)", path=str(db)))
    try:
        usage = shutil.disk_usage(base)
    except OSError as exc:
        out.append(Check.warn("disk: free space", f"cannot read free space of {base}: {exc}", None))
        return out
    free_mb = usage.free / MB
    data: dict[str, Any] = {"free_mb": round(free_mb, 1), "path": str(base)}
    text = f"{free_mb:.0f} MB free on the file system of {base}"
    fix = "free space: delete old traces and logs (`journalctl --vacuum-size=50M`), or use a bigger card"
    if free_mb < DISK_FAIL_MB:
        out.append(Check.fail("disk: free space", f"{text}; below {DISK_FAIL_MB} MB events cannot "
                              "be stored", fix, **data))
    elif free_mb < DISK_WARN_MB:
        out.append(Check.warn("disk: free space", f"{text}; below {DISK_WARN_MB} MB", fix, **data))
    else:
        out.append(Check.ok("disk: free space", text, **data))
    return out


def check_recording(cfg: HomeConfig) -> list[Check]:
    r = cfg.recording
    data = {"consent": r.consent, "retention_days": r.retention_days, "directory": str(r.directory)}
    if not r.consent:
        return [Check.ok("recording", "off: no recording consent recorded, raw traces are never "
                         "written", **data)]
    base = _existing_parent(Path(r.directory).expanduser().absolute())
    if not os.access(base, os.W_OK):
        return [Check.warn("recording", f"consent given, but {r.directory} is not writable",
                           f"sudo mkdir -p {r.directory} && sudo chown $(id -un) {r.directory}",
                           **data)]
    return [Check.ok("recording", f"consent given; traces in {r.directory} are deleted after "
                     f"{r.retention_days:g} days", **data)]
