"""An HLK-LD2410 that lives in a pseudo-terminal, so tests run the real driver end to end.

`LD2410Device` is the module's protocol brain: it answers command frames the way the
module does (config mode on/off, gates and duration, per-gate sensitivity, read
parameters, engineering mode, firmware version), keeps the parameters it was given and
stops reporting while in config mode. `LD2410Emulator` speaks it into the master side of a
pty (simulator/emulators/pty.py): it answers the host's commands and sends one report per `period_s` from a trace of
target states, so the driver on the slave side sees the same bytes as from a USB adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator

from drivers.ld2410 import protocol as P
from drivers.ld2410.parser import LD2410Parser
from simulator.emulators.pty import PtyDevice, PtyPort

DEFAULT_PARAMS = P.Params(
    max_gate=8, max_moving_gate=8, max_still_gate=8,
    moving_sensitivity=(50, 50, 40, 30, 20, 15, 15, 15, 15),
    still_sensitivity=(0, 0, 40, 40, 30, 30, 20, 20, 20),
    no_one_duration_s=5,
)
FIRMWARE_ACK_DATA = bytes.fromhex("0001070116150922")  # V1.07.22091516


@dataclass
class LD2410Device:
    """Answers commands like the module; `commands` records what the host sent."""

    params: P.Params = DEFAULT_PARAMS
    config_mode: bool = False
    engineering: bool = False
    commands: list[P.Command] = field(default_factory=list)
    #: command words the device answers with a failure status (to test error paths)
    fail: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._parser = LD2410Parser()

    def receive(self, data: bytes) -> bytes:
        """Feed bytes the host wrote; return the bytes the module answers with."""
        out = b""
        for frame in self._parser.feed(data):
            if isinstance(frame, P.Command):
                self.commands.append(frame)
                out += self._answer(frame)
        return out

    def _answer(self, c: P.Command) -> bytes:
        if c.command in self.fail:
            return P.encode_ack(c.command, 1)
        if c.command == P.CMD_ENTER_CONFIG:
            self.config_mode = True
            return P.encode_ack(c.command, 0, b"\x01\x00\x40\x00")  # protocol 1, buffer 64
        if not self.config_mode:
            return b""  # the module ignores commands outside config mode
        if c.command == P.CMD_LEAVE_CONFIG:
            self.config_mode = False
        elif c.command == P.CMD_SET_MAX_GATES:
            v = P.decode_word_values(c.value)
            if v is None or not {0, 1, 2} <= set(v) or v[0] > 8 or v[1] > 8 or v[2] > 0xFFFF:
                return P.encode_ack(c.command, 1)
            self.params = replace(self.params, max_moving_gate=v[0], max_still_gate=v[1],
                                  no_one_duration_s=v[2])
        elif c.command == P.CMD_SET_GATE_SENSITIVITY:
            v = P.decode_word_values(c.value)
            if v is None or not {0, 1, 2} <= set(v) or v[1] > 100 or v[2] > 100:
                return P.encode_ack(c.command, 1)
            gates = range(P.N_GATES) if v[0] == P.ALL_GATES else [v[0]]
            if v[0] != P.ALL_GATES and v[0] > 8:
                return P.encode_ack(c.command, 1)
            mov, sti = list(self.params.moving_sensitivity), list(self.params.still_sensitivity)
            for g in gates:
                mov[g], sti[g] = v[1], v[2]
            self.params = replace(self.params, moving_sensitivity=tuple(mov),
                                  still_sensitivity=tuple(sti))
        elif c.command == P.CMD_READ_PARAMS:
            return P.encode_ack(c.command, 0, P.encode_params(self.params))
        elif c.command == P.CMD_ENGINEERING_ON:
            self.engineering = True
        elif c.command == P.CMD_ENGINEERING_OFF:
            self.engineering = False
        elif c.command == P.CMD_FIRMWARE_VERSION:
            return P.encode_ack(c.command, 0, FIRMWARE_ACK_DATA)
        elif c.command not in P.COMMAND_NAMES:
            return P.encode_ack(c.command, 1)
        return P.encode_ack(c.command, 0)

    def report(self, state: int, moving_cm: int = 0, moving_energy: int = 0,
               still_cm: int = 0, still_energy: int = 0, detect_cm: int = 0) -> bytes:
        """One report frame in the current mode; empty while in config mode."""
        if self.config_mode:
            return b""
        r = P.Report(False, state, moving_cm, moving_energy, still_cm, still_energy, detect_cm)
        if self.engineering:
            mov = tuple(min(100, moving_energy if g * 75 <= moving_cm < (g + 1) * 75 else 5)
                        for g in range(P.N_GATES))
            sti = tuple(min(100, still_energy if g * 75 <= still_cm < (g + 1) * 75 else 3)
                        for g in range(P.N_GATES))
            r = replace(r, engineering=True, max_moving_gate=8, max_still_gate=8,
                        moving_gate_energy=mov, still_gate_energy=sti, light=80,
                        out_pin=state != 0)
        return P.encode_report(r)


def presence_trace(states: Iterable[int], distance_cm: int = 150) -> Iterator[tuple[Any, ...]]:
    """Turn a list of target states into report arguments with plausible distances."""
    for s in states:
        moving = 60 if s & 1 else 0
        still = 45 if s & 2 else 0
        yield (s, distance_cm if s & 1 else 0, moving, distance_cm if s & 2 else 0, still,
               distance_cm if s else 0)


class LD2410Emulator(PtyDevice):
    """An LD2410 on a pty: answers commands and sends one report per `period_s`.

    Reports follow `trace` (tuples for `LD2410Device.report`) and pause while the host
    holds the module in config mode, as on the device. After the trace ends the last
    state repeats (someone there stays reported) unless `repeat_last` is False, in which
    case the emulator falls silent like a module whose UART died.
    """

    def __init__(self, trace: Iterable[tuple], device: LD2410Device | None = None,
                 period_s: float = 0.05, repeat_last: bool = True,
                 garbage_first: bytes = b"") -> None:
        self.port = PtyPort("ld2410")
        super().__init__(self.port)
        self.device = device or LD2410Device()
        self.trace = list(trace)
        self.period_s = period_s
        self.repeat_last = repeat_last
        self.reports_sent = 0
        self._i = 0
        self._last: tuple | None = None
        self._next = 0.0
        self._garbage = garbage_first

    @property
    def path(self) -> str:
        return self.port.path

    def on_read(self, port: PtyPort, data: bytes) -> None:
        answer = self.device.receive(data)
        if answer:
            port.write(answer)

    def on_tick(self, now: float) -> None:
        if self._garbage:
            self.port.write(self._garbage)
            self._garbage = b""
        if now < self._next or self.device.config_mode:
            return
        self._next = now + self.period_s
        if self._i < len(self.trace):
            self._last = self.trace[self._i]
            self._i += 1
        elif not self.repeat_last or self._last is None:
            return
        self.port.write(self.device.report(*self._last))
        self.reports_sent += 1


def trace_from_readings(readings: Iterable, period_s: float = 0.1) -> list[tuple]:
    """Report arguments, one per `period_s`, that replay a trace's Presence readings.

    Readings are read by duck typing (`kind == "presence"`, `t`, `present`, `moving`,
    `distance_m`), so a recorded gateway trace or a simulator timeline can drive the
    emulated module; the state between readings holds, as the module's reports do.
    """
    items = sorted((r for r in readings if getattr(r, "kind", None) == "presence"),
                   key=lambda r: r.t)
    if not items:
        return []
    out: list[tuple] = []
    i, state = 0, None
    t, end = items[0].t, items[-1].t
    while t <= end + 1e-9:
        while i < len(items) and items[i].t <= t + 1e-9:
            r = items[i]
            code = P.STATE_NONE
            if r.present:
                code = P.STATE_MOVING if r.moving else P.STATE_STILL
            cm = int(round((r.distance_m or 1.5) * 100))
            state = next(presence_trace([code], cm))
            i += 1
        if state is not None:
            out.append(state)
        t += period_s
    return out
