"""A fake `gpiod` (libgpiod 2.x Python bindings) for tests, faithful where drivers touch it.

`FakeGpio` holds chips and lines; `module()` returns an object shaped like the gpiod
module: `request_lines(path, config, consumer)`, `LineSettings`, `EdgeEvent.Type`,
`line.Direction/Edge/Bias/Value`; an output request's `set_value` drives the line and
records when (`FakeLine.driven`). A request has a real file descriptor (a pipe) that
becomes readable when edge events are queued, exactly as the kernel's line request fd
does, so the driver's event-loop wiring is exercised, not bypassed. `set_level()` plays a
waveform: every change queues one edge event stamped with CLOCK_MONOTONIC like the
kernel. Kernel debouncing is not emulated (it is a chip feature); the driver's own
debounce is what the tests check.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any


class Direction(enum.Enum):
    AS_IS = 1
    INPUT = 2
    OUTPUT = 3


class Edge(enum.Enum):
    NONE = 1
    RISING = 2
    FALLING = 3
    BOTH = 4


class Bias(enum.Enum):
    AS_IS = 1
    UNKNOWN = 2
    DISABLED = 3
    PULL_UP = 4
    PULL_DOWN = 5


class Value(enum.Enum):
    INACTIVE = 0
    ACTIVE = 1


class _EdgeType(enum.Enum):
    RISING_EDGE = 1
    FALLING_EDGE = 2


@dataclass(frozen=True)
class EdgeEvent:
    Type = _EdgeType
    event_type: _EdgeType
    timestamp_ns: int
    line_offset: int
    global_seqno: int = 0
    line_seqno: int = 0


@dataclass
class LineSettings:
    direction: Direction = Direction.AS_IS
    edge_detection: Edge = Edge.NONE
    bias: Bias = Bias.AS_IS
    active_low: bool = False
    debounce_period: timedelta = timedelta(0)
    output_value: Value = Value.INACTIVE


@dataclass
class FakeLine:
    offset: int
    name: str
    physical: bool = False  # electrical level (before active_low)
    requested_by: Any = None
    driven: list[tuple[float, bool]] = field(default_factory=list)  # (monotonic s, physical) as output


class FakeLineRequest:
    def __init__(self, gpio: "FakeGpio", line: FakeLine, settings: LineSettings) -> None:
        self._gpio = gpio
        self.line = line
        self.settings = settings
        self.offsets = [line.offset]
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        self._events: list[EdgeEvent] = []
        self.released = False

    @property
    def fd(self) -> int:
        return self._r

    def fileno(self) -> int:
        return self._r

    def _logical(self, physical: bool) -> bool:
        return physical != self.settings.active_low

    def get_value(self, offset: int) -> Value:
        assert offset == self.line.offset
        return Value.ACTIVE if self._logical(self.line.physical) else Value.INACTIVE

    def set_value(self, offset: int, value: Value) -> None:
        """An output line driven by the request (a buzzer): recorded with its time."""
        if self.released:
            raise RuntimeError("request released")
        assert offset == self.line.offset
        assert self.settings.direction == Direction.OUTPUT, "set_value on an input line"
        self.line.physical = (value == Value.ACTIVE) != self.settings.active_low
        self.line.driven.append((time.monotonic(), self.line.physical))

    def _edge(self, physical: bool) -> None:
        active = self._logical(physical)
        edge = self.settings.edge_detection
        if edge == Edge.NONE or (edge == Edge.RISING and not active) or (
                edge == Edge.FALLING and active):
            return
        self._events.append(EdgeEvent(
            _EdgeType.RISING_EDGE if active else _EdgeType.FALLING_EDGE,
            time.monotonic_ns(), self.line.offset, len(self._events) + 1))
        os.write(self._w, b"\x01")

    def read_edge_events(self, max_events: int | None = None) -> list[EdgeEvent]:
        if self.released:
            raise RuntimeError("request released")
        try:
            os.read(self._r, 4096)
        except BlockingIOError:
            pass
        events, self._events = self._events, []
        return events

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.line.requested_by = None
            os.close(self._r)
            os.close(self._w)


@dataclass
class FakeGpio:
    chips: dict[str, list[FakeLine]] = field(default_factory=dict)

    def add_chip(self, path: str, n_lines: int = 28) -> None:
        self.chips[path] = [FakeLine(i, f"GPIO{i}") for i in range(n_lines)]

    def _line(self, path: str, key: int | str) -> FakeLine:
        if path not in self.chips:
            raise FileNotFoundError(2, "No such file or directory", path)
        for line in self.chips[path]:
            if line.offset == key or line.name == key:
                return line
        raise ValueError(f"line {key!r} not found on {path}")

    def set_level(self, path: str, key: int | str, physical: bool) -> None:
        """Drive the pin electrically; an attached request sees an edge on change."""
        line = self._line(path, key)
        if line.physical == physical:
            return
        line.physical = physical
        if line.requested_by is not None:
            line.requested_by._edge(physical)

    def module(self) -> SimpleNamespace:
        gpio = self

        def request_lines(path: str, config: dict, consumer: str | None = None,
                          **_: Any) -> FakeLineRequest:
            ((key, settings),) = config.items()
            line = gpio._line(path, key)
            if line.requested_by is not None:
                raise OSError(16, "Device or resource busy")
            req = FakeLineRequest(gpio, line, settings or LineSettings())
            line.requested_by = req
            if req.settings.direction == Direction.OUTPUT:
                req.set_value(line.offset, req.settings.output_value)
            return req

        return SimpleNamespace(
            request_lines=request_lines, LineSettings=LineSettings, EdgeEvent=EdgeEvent,
            line=SimpleNamespace(Direction=Direction, Edge=Edge, Bias=Bias, Value=Value),
        )
