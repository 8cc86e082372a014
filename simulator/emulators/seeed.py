"""Seeed MR60FDA2 and MR60FDA1 radars on a pseudo-terminal, for end-to-end driver tests.

The `*Device` classes are the modules' protocol brains (pure: bytes in, bytes out); the
`*Emulator` classes put them on a pty (simulator/emulators/pty.py) and report a trace of
(presence, fall) states, one state per `period_s`. FDA1 settings follow the unconfirmed
convention documented in drivers/seeed/fda1.py (echo of the applied value, query with
bit 7 set), so these emulators prove our side of that assumption, not the module's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable

from drivers.seeed import fda1, fda2
from simulator.emulators.pty import PtyDevice, PtyPort


@dataclass
class FDA2Device:
    install_height_m: float = 2.2
    fall_threshold_m: float = 0.6
    sensitivity: int = 3
    #: setting types the module refuses (result byte 0), or silently ignores (no answer)
    refuse: set[int] = field(default_factory=set)
    ignore: set[int] = field(default_factory=set)
    #: pretend the module stores a different height than written (tests the read-back)
    height_offset_m: float = 0.0
    received: list[fda2.Frame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._parser = fda2.FDA2Parser()

    def receive(self, data: bytes) -> bytes:
        out = b""
        for f in self._parser.feed(data):
            self.received.append(f)
            out += self._answer(f)
        return out

    def _answer(self, f: fda2.Frame) -> bytes:
        if f.type in self.ignore:
            return b""
        ok = f.type not in self.refuse
        if f.type == fda2.TYPE_PARAMS:
            p = fda2.Params(self.install_height_m, self.fall_threshold_m, self.sensitivity)
            return fda2.encode(fda2.Frame(fda2.TYPE_PARAMS, fda2.encode_params(p)))
        if f.type in (fda2.TYPE_INSTALL_HEIGHT, fda2.TYPE_FALL_THRESHOLD, fda2.TYPE_SENSITIVITY):
            if len(f.data) != 4:
                ok = False
            elif ok and f.type == fda2.TYPE_INSTALL_HEIGHT:
                self.install_height_m = struct.unpack("<f", f.data)[0] + self.height_offset_m
            elif ok and f.type == fda2.TYPE_FALL_THRESHOLD:
                self.fall_threshold_m = struct.unpack("<f", f.data)[0]
            elif ok:
                self.sensitivity = struct.unpack("<I", f.data)[0]
            return fda2.encode(fda2.Frame(f.type, bytes([1 if ok else 0])))
        return b""

    @staticmethod
    def report(presence: bool, fall: bool) -> bytes:
        return (fda2.encode(fda2.Frame(fda2.TYPE_PRESENCE, bytes([int(presence)])))
                + fda2.encode(fda2.Frame(fda2.TYPE_FALL, bytes([int(fall)]))))


@dataclass
class FDA1Device:
    install_height_cm: int = 220
    sensitivity: int = 3
    fall_confirm_s: int = 30
    received: list[fda1.Frame] = field(default_factory=list)
    silent: bool = False  # a module that does not know the (unconfirmed) setting commands
    present: bool = False

    def __post_init__(self) -> None:
        self._parser = fda1.FDA1Parser()

    def receive(self, data: bytes) -> bytes:
        out = b""
        for f in self._parser.feed(data):
            self.received.append(f)
            if not self.silent:
                out += self._answer(f)
        return out

    def _value(self, ctrl: int, cmd: int) -> bytes | None:
        if (ctrl, cmd) == (fda1.CTRL_PRESENCE, fda1.CMD_PRESENCE):
            return bytes([int(self.present)])
        if (ctrl, cmd) == (fda1.CTRL_INSTALL, fda1.CMD_INSTALL_HEIGHT):
            return struct.pack(">H", self.install_height_cm)
        if (ctrl, cmd) == (fda1.CTRL_FALL, fda1.CMD_FALL_SENSITIVITY):
            return bytes([self.sensitivity])
        if (ctrl, cmd) == (fda1.CTRL_FALL, fda1.CMD_FALL_CONFIRM_TIME):
            return struct.pack(">I", self.fall_confirm_s)
        return None

    def _answer(self, f: fda1.Frame) -> bytes:
        if f.command & fda1.QUERY_BIT:
            v = self._value(f.control, f.command & ~fda1.QUERY_BIT)
            return b"" if v is None else fda1.encode(fda1.Frame(f.control, f.command, v))
        key = (f.control, f.command)
        if key == (fda1.CTRL_INSTALL, fda1.CMD_INSTALL_HEIGHT) and len(f.data) == 2:
            self.install_height_cm = struct.unpack(">H", f.data)[0]
        elif key == (fda1.CTRL_FALL, fda1.CMD_FALL_SENSITIVITY) and len(f.data) == 1:
            self.sensitivity = f.data[0]
        elif key == (fda1.CTRL_FALL, fda1.CMD_FALL_CONFIRM_TIME) and len(f.data) == 4:
            self.fall_confirm_s = struct.unpack(">I", f.data)[0]
        else:
            return b""
        return fda1.encode(fda1.Frame(f.control, f.command, self._value(*key) or b""))

    def report(self, presence: bool, fall: bool, motion: int | None = None) -> bytes:
        self.present = presence
        if motion is None:
            motion = fda1.MOTION_ACTIVE if presence else fda1.MOTION_NONE
        return (fda1.encode(fda1.Frame(fda1.CTRL_PRESENCE, fda1.CMD_PRESENCE, bytes([int(presence)])))
                + fda1.encode(fda1.Frame(fda1.CTRL_PRESENCE, fda1.CMD_MOTION, bytes([motion])))
                + fda1.encode(fda1.Frame(fda1.CTRL_FALL, fda1.CMD_FALL, bytes([int(fall)]))))


class _SeeedEmulator(PtyDevice):
    def __init__(self, device: FDA1Device | FDA2Device, trace: Iterable[tuple],
                 period_s: float, repeat_last: bool) -> None:
        self.port = PtyPort(type(device).__name__)
        super().__init__(self.port)
        self.device = device
        self.trace = list(trace)
        self.period_s = period_s
        self.repeat_last = repeat_last
        self._i = 0
        self._last: tuple | None = None
        self._next = 0.0

    @property
    def path(self) -> str:
        return self.port.path

    def on_read(self, port: PtyPort, data: bytes) -> None:
        answer = self.device.receive(data)
        if answer:
            port.write(answer)

    def on_tick(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.period_s
        if self._i < len(self.trace):
            self._last = self.trace[self._i]
            self._i += 1
        elif not self.repeat_last or self._last is None:
            return
        self.port.write(self.device.report(*self._last))


class FDA2Emulator(_SeeedEmulator):
    """MR60FDA2 on a pty; `trace` is a list of (presence, fall) tuples."""

    def __init__(self, trace: Iterable[tuple], device: FDA2Device | None = None,
                 period_s: float = 0.05, repeat_last: bool = True) -> None:
        super().__init__(device or FDA2Device(), trace, period_s, repeat_last)


class FDA1Emulator(_SeeedEmulator):
    """MR60FDA1 on a pty; `trace` is a list of (presence, fall[, motion]) tuples."""

    def __init__(self, trace: Iterable[tuple], device: FDA1Device | None = None,
                 period_s: float = 0.05, repeat_last: bool = True) -> None:
        super().__init__(device or FDA1Device(), trace, period_s, repeat_last)


def trace_from_readings(readings: Iterable, period_s: float = 0.1) -> list[tuple]:
    """(presence, fall) states, one per `period_s`, replaying Presence and FallFlag
    readings of a trace (duck typed on `kind`), holding each state until the next."""
    items = sorted((r for r in readings if getattr(r, "kind", None) in ("presence", "fall_flag")),
                   key=lambda r: r.t)
    if not items:
        return []
    out: list[tuple] = []
    present, fall = False, False
    i, t, end = 0, items[0].t, items[-1].t
    while t <= end + 1e-9:
        while i < len(items) and items[i].t <= t + 1e-9:
            r = items[i]
            if r.kind == "presence":
                present = bool(r.present)
            else:
                fall = bool(r.fall)
            i += 1
        out.append((present, fall))
        t += period_s
    return out
