"""The daemon's side of the simulated sensors' process (simulator/feed.py): one child for
every `simulated` driver of an event loop, and a subscription per driver.

Why no task: the child's output is read by a reader callback on the loop (`add_reader`),
which only moves frames into the subscriptions' queues. So there is no long-lived task
to own; the child lives while a subscription is open and ends when the last one closes
(its stdin closes) or when the daemon dies (the same EOF). A child that dies fails every
open subscription with `DriverUnavailable`, so the supervisor restarts those drivers as it
would a sensor that went away, and the next subscription starts a new child.

Flow control: a subscription grants the child `WINDOW` readings and tops the grant up
each time half of it has been taken, so the child never runs further ahead than that.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncGenerator

from drivers.base import DriverUnavailable

FRAME_SIZE = 9                   # simulator.feed.FRAME: "<IBI"
READING, END, ERROR = 0, 1, 2
WINDOW = 128                     # readings the child may make ahead of a subscription
_ROOT = str(Path(__file__).resolve().parents[1])   # where the `simulator` package lives


class _Gone:
    """Put in a queue when the child ended: the reason."""

    def __init__(self, why: str) -> None:
        self.why = why


class FeedProcess:
    """The child process and its subscriptions, for one event loop."""

    _per_loop: dict[asyncio.AbstractEventLoop, FeedProcess] = {}

    @classmethod
    def for_loop(cls) -> FeedProcess:
        loop = asyncio.get_running_loop()
        feed = cls._per_loop.get(loop)
        if feed is None or feed.proc is None:
            for old in [lp for lp in cls._per_loop if lp.is_closed()]:
                del cls._per_loop[old]
            feed = cls._per_loop[loop] = cls(loop)
        return feed

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)}
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "simulator.feed"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, close_fds=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buf = bytearray()
        self.queues: dict[int, asyncio.Queue[Any]] = {}
        self.next_sub = 1
        loop.add_reader(self.fd, self._readable)

    def _send(self, **cmd: Any) -> None:
        try:
            self.stdin.write(json.dumps(cmd).encode() + b"\n")
            self.stdin.flush()
        except (BrokenPipeError, ValueError):     # the child is gone; the reader says so
            pass

    def open(self, sensor: str, settings: dict[str, Any]) -> int:
        sub, self.next_sub = self.next_sub, self.next_sub + 1
        self.queues[sub] = asyncio.Queue()
        self._send(op="open", sub=sub, sensor=sensor, settings=settings)
        self._send(op="credit", sub=sub, n=WINDOW)
        return sub

    def credit(self, sub: int, n: int) -> None:
        self._send(op="credit", sub=sub, n=n)

    def close(self, sub: int) -> None:
        if self.queues.pop(sub, None) is not None:
            self._send(op="close", sub=sub)
        if not self.queues:
            self._stop()

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        if not data:
            self._gone("the simulated sensors' process ended")
            return
        self.buf += data
        pos = 0
        while len(self.buf) - pos >= FRAME_SIZE:
            sub = int.from_bytes(self.buf[pos:pos + 4], "little")
            kind = self.buf[pos + 4]
            n = int.from_bytes(self.buf[pos + 5:pos + 9], "little")
            if len(self.buf) - pos - FRAME_SIZE < n:
                break
            payload = bytes(self.buf[pos + FRAME_SIZE:pos + FRAME_SIZE + n])
            pos += FRAME_SIZE + n
            q = self.queues.get(sub)
            if q is None:
                continue                          # closed meanwhile
            if kind == READING:
                q.put_nowait(pickle.loads(payload))
            elif kind == END:
                q.put_nowait(None)
            else:
                q.put_nowait(_Gone(payload.decode(errors="replace")))
        del self.buf[:pos]

    def _gone(self, why: str) -> None:
        for q in self.queues.values():
            q.put_nowait(_Gone(why))
        self.queues.clear()
        self._stop()

    def _stop(self) -> None:
        """Close the child's stdin (it ends) and reap it without blocking the loop."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if not self.loop.is_closed():
            self.loop.remove_reader(self.fd)
        try:
            self.stdin.close()
        except BrokenPipeError:
            pass
        assert proc.stdout is not None
        proc.stdout.close()
        self._reap(proc, 50)

    def _reap(self, proc: subprocess.Popen[bytes], tries: int) -> None:
        if proc.poll() is not None:
            return
        if tries <= 0 or self.loop.is_closed():
            proc.kill()
            proc.wait()          # killed: returns at once
            return
        self.loop.call_later(0.1, self._reap, proc, tries - 1)


async def subscribe(sensor: str, settings: dict[str, Any]) -> AsyncGenerator[tuple[float, Any], None]:
    """(arrival time, reading) for one driver, until the source plays out; raises
    DriverUnavailable when it cannot be played or the child died."""
    feed = FeedProcess.for_loop()
    sub = feed.open(sensor, settings)
    q = feed.queues[sub]
    taken = 0
    try:
        while True:
            item = await q.get()
            if item is None:
                return
            if isinstance(item, _Gone):
                raise DriverUnavailable(item.why)
            yield item
            taken += 1
            if taken == WINDOW // 2:
                feed.credit(sub, taken)
                taken = 0
    finally:
        feed.close(sub)
