"""Pseudo-terminal plumbing for device emulators (TI mmWave, LD2410, Seeed radars).

A real serial driver opens a device path and talks bytes; `os.openpty()` gives us exactly
that without hardware: the emulator keeps the master side, the driver under test opens
`PtyPort.path` (the slave, e.g. /dev/pts/7) with pyserial like any USB UART. The same
byte stream a radar would produce goes through the kernel's tty layer, so tests exercise
the real driver code path end to end.

`PtyDevice` runs one background thread per emulated device that multiplexes its ports
with `select`: `on_read(port, data)` answers the host (CLI lines, command frames), and
`on_tick(now)` produces spontaneous output (frames at a rate). A thread rather than an
asyncio task so the emulator works the same under pytest-asyncio, plain pytest and the
simulator's CLI, and never competes with the event loop of the driver under test.

Writes never block the emulator: like a UART that transmits whether or not anyone
listens, output the host does not read piles up to `max_pending` bytes and the excess is
dropped (counted in `dropped_bytes`), which is also how a host that is too slow loses data
on real hardware.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty


class PtyPort:
    """One pseudo-terminal pair. The emulator reads/writes the master; hosts open `path`."""

    def __init__(self, name: str = "pty", max_pending: int = 256 * 1024) -> None:
        self.name = name
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: a clean byte pipe
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.max_pending = max_pending
        self._pending = bytearray()
        self.dropped_bytes = 0
        self.written_bytes = 0
        self._lock = threading.Lock()
        self.closed = False

    def write(self, data: bytes) -> None:
        """Queue bytes for the host; sent as fast as the kernel takes them."""
        with self._lock:
            self._pending += data
            excess = len(self._pending) - self.max_pending
            if excess > 0:
                del self._pending[:excess]
                self.dropped_bytes += excess
        self.flush()

    def flush(self) -> None:
        with self._lock:
            while self._pending and not self.closed:
                try:
                    n = os.write(self.master, self._pending)
                except BlockingIOError:
                    return
                except OSError as exc:
                    if exc.errno in (errno.EIO, errno.EBADF):
                        return
                    raise
                self.written_bytes += n
                del self._pending[:n]

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def read(self) -> bytes:
        """Whatever the host wrote so far (b"" if nothing)."""
        try:
            return os.read(self.master, 65536)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:  # host side closed (only when nobody holds the slave)
                return b""
            raise

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for fd in (self.master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass


class PtyDevice:
    """Base class of an emulated serial device with one or more `PtyPort`s.

    Subclasses create their ports in `__init__` (list them in `self.ports`) and override
    `on_read` and/or `on_tick`. Use as a context manager, or call start()/stop().
    """

    tick_interval: float = 0.01

    def __init__(self, *ports: PtyPort) -> None:
        self.ports: list[PtyPort] = list(ports)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    # hooks -----------------------------------------------------------------------
    def on_read(self, port: PtyPort, data: bytes) -> None:
        """Bytes the host wrote to `port`."""

    def on_tick(self, now: float) -> None:
        """Called about every `tick_interval` seconds (monotonic `now`)."""

    # lifecycle -------------------------------------------------------------------
    def start(self) -> "PtyDevice":
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for p in self.ports:
            p.close()

    def __enter__(self) -> "PtyDevice":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            by_fd = {p.master: p for p in self.ports}
            while not self._stop.is_set():
                wfds = [p.master for p in self.ports if p.has_pending]
                r, w, _ = select.select(list(by_fd), wfds, [], self.tick_interval)
                for fd in w:
                    by_fd[fd].flush()
                for fd in r:
                    data = by_fd[fd].read()
                    if data:
                        self.on_read(by_fd[fd], data)
                self.on_tick(time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test via .error
            self.error = exc
