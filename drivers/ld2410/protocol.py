"""HLK-LD2410 frame vocabulary: what the module reports and how commands are encoded.

Kept apart from the parser so the driver, the emulator and the tests share one
definition of every byte. Layouts (all integers little-endian):

    report   F4 F3 F2 F1 | u16 len | data | F8 F7 F6 F5
             basic data:       02 AA | state | u16 move cm | move energy | u16 still cm
                                     | still energy | u16 detect cm | 55 | check
             engineering data: 01 AA | same 9 bytes | max move gate N | max still gate M
                                     | N+1 move energies | M+1 still energies
                                     | extra (light level, OUT pin on newer firmware) | 55 | check
    command  FD FC FB FA | u16 len | u16 command word | value | 04 03 02 01
    ack      same envelope, command word | 0x0100, then u16 status (0 = success), then data

Presence comes from the state byte alone: real modules report non-zero distances and
energies while saying "no target", so energies must never be read as presence.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

REPORT_HEAD = b"\xF4\xF3\xF2\xF1"
REPORT_TAIL = b"\xF8\xF7\xF6\xF5"
CMD_HEAD = b"\xFD\xFC\xFB\xFA"
CMD_TAIL = b"\x04\x03\x02\x01"

ACK_BIT = 0x0100

CMD_ENTER_CONFIG = 0x00FF
CMD_LEAVE_CONFIG = 0x00FE
CMD_SET_MAX_GATES = 0x0060
CMD_READ_PARAMS = 0x0061
CMD_ENGINEERING_ON = 0x0062
CMD_ENGINEERING_OFF = 0x0063
CMD_SET_GATE_SENSITIVITY = 0x0064
CMD_FIRMWARE_VERSION = 0x00A0
CMD_SET_BAUD = 0x00A1
CMD_FACTORY_RESET = 0x00A2
CMD_REBOOT = 0x00A3

COMMAND_NAMES = {
    CMD_ENTER_CONFIG: "enter config",
    CMD_LEAVE_CONFIG: "leave config",
    CMD_SET_MAX_GATES: "set max gates and no-one duration",
    CMD_READ_PARAMS: "read parameters",
    CMD_ENGINEERING_ON: "engineering mode on",
    CMD_ENGINEERING_OFF: "engineering mode off",
    CMD_SET_GATE_SENSITIVITY: "set gate sensitivity",
    CMD_FIRMWARE_VERSION: "firmware version",
    CMD_SET_BAUD: "set baud rate",
    CMD_FACTORY_RESET: "factory reset",
    CMD_REBOOT: "reboot",
}

STATE_NONE, STATE_MOVING, STATE_STILL, STATE_BOTH = 0, 1, 2, 3
N_GATES = 9  # gates 0..8, 0.75 m each
ALL_GATES = 0xFFFF


@dataclass(frozen=True, slots=True)
class Report:
    """One target report. Distances in cm, energies 0-100 as the module sends them."""

    engineering: bool
    state: int
    moving_distance_cm: int
    moving_energy: int
    still_distance_cm: int
    still_energy: int
    detection_distance_cm: int
    max_moving_gate: int | None = None
    max_still_gate: int | None = None
    moving_gate_energy: tuple[int, ...] = ()
    still_gate_energy: tuple[int, ...] = ()
    light: int | None = None
    out_pin: bool | None = None

    @property
    def present(self) -> bool:
        return self.state != STATE_NONE

    @property
    def moving(self) -> bool:
        return bool(self.state & STATE_MOVING)

    @property
    def still(self) -> bool:
        return bool(self.state & STATE_STILL)


@dataclass(frozen=True, slots=True)
class Command:
    """A host-to-module command frame (seen by the emulator, or echoed on a shared line)."""

    command: int
    value: bytes = b""


@dataclass(frozen=True, slots=True)
class Ack:
    """A module-to-host answer: `command` without the ack bit, `status` 0 on success."""

    command: int
    status: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True, slots=True)
class Params:
    """The answer to read parameters (0x61)."""

    max_gate: int
    max_moving_gate: int
    max_still_gate: int
    moving_sensitivity: tuple[int, ...]
    still_sensitivity: tuple[int, ...]
    no_one_duration_s: int


# ---------------------------------------------------------------- encoding

def encode_command(command: int, value: bytes = b"") -> bytes:
    body = struct.pack("<H", command) + value
    return CMD_HEAD + struct.pack("<H", len(body)) + body + CMD_TAIL


def encode_ack(command: int, status: int = 0, data: bytes = b"") -> bytes:
    body = struct.pack("<HH", command | ACK_BIT, status) + data
    return CMD_HEAD + struct.pack("<H", len(body)) + body + CMD_TAIL


def encode_report(r: Report, check: int = 0) -> bytes:
    """Encode a report frame; engineering reports carry their gate energies and extras."""
    data = bytes([0x01 if r.engineering else 0x02, 0xAA, r.state & 0xFF])
    data += struct.pack("<HBHBH", r.moving_distance_cm, r.moving_energy, r.still_distance_cm,
                        r.still_energy, r.detection_distance_cm)
    if r.engineering:
        mg = r.max_moving_gate if r.max_moving_gate is not None else len(r.moving_gate_energy) - 1
        sg = r.max_still_gate if r.max_still_gate is not None else len(r.still_gate_energy) - 1
        data += bytes([mg, sg]) + bytes(r.moving_gate_energy) + bytes(r.still_gate_energy)
        if r.light is not None:
            data += bytes([r.light])
            if r.out_pin is not None:
                data += bytes([1 if r.out_pin else 0])
    data += bytes([0x55, check & 0xFF])
    return REPORT_HEAD + struct.pack("<H", len(data)) + data + REPORT_TAIL


def enter_config() -> bytes:
    return encode_command(CMD_ENTER_CONFIG, b"\x01\x00")


def leave_config() -> bytes:
    return encode_command(CMD_LEAVE_CONFIG)


def set_max_gates(moving_gate: int, still_gate: int, no_one_duration_s: int) -> bytes:
    """0x60: three (u16 word, u32 value) pairs: 0 max moving gate, 1 max still gate, 2 duration."""
    value = struct.pack("<HIHIHI", 0, moving_gate, 1, still_gate, 2, no_one_duration_s)
    return encode_command(CMD_SET_MAX_GATES, value)


def set_gate_sensitivity(gate: int, moving: int, still: int) -> bytes:
    """0x64: (u16 word, u32 value) pairs: 0 gate (0xFFFF = all), 1 moving, 2 still sensitivity."""
    value = struct.pack("<HIHIHI", 0, gate, 1, moving, 2, still)
    return encode_command(CMD_SET_GATE_SENSITIVITY, value)


def read_params() -> bytes:
    return encode_command(CMD_READ_PARAMS)


def engineering(on: bool) -> bytes:
    return encode_command(CMD_ENGINEERING_ON if on else CMD_ENGINEERING_OFF)


def decode_word_values(value: bytes) -> dict[int, int] | None:
    """Decode the (u16 word, u32 value) pairs of commands 0x60 and 0x64; None if malformed."""
    if len(value) % 6:
        return None
    return {w: v for w, v in struct.iter_unpack("<HI", value)}


def encode_params(p: Params) -> bytes:
    """The data of a read-parameters ack after the status word."""
    return (bytes([0xAA, p.max_gate, p.max_moving_gate, p.max_still_gate])
            + bytes(p.moving_sensitivity) + bytes(p.still_sensitivity)
            + struct.pack("<H", p.no_one_duration_s))


def decode_params(data: bytes) -> Params | None:
    """Decode read-parameters ack data (after the status word); None if malformed."""
    if len(data) < 4 or data[0] != 0xAA:
        return None
    n = data[1] + 1
    if len(data) != 4 + 2 * n + 2:
        return None
    moving = tuple(data[4:4 + n])
    still = tuple(data[4 + n:4 + 2 * n])
    (duration,) = struct.unpack_from("<H", data, 4 + 2 * n)
    return Params(data[1], data[2], data[3], moving, still, duration)


def decode_firmware(data: bytes) -> str | None:
    """Firmware version ack data: u16 type, u16 major (BCD-ish bytes), u32 minor."""
    if len(data) < 8:
        return None
    major_lo, major_hi = data[2], data[3]
    minor = data[4:8]
    return "V%x.%02x.%02x%02x%02x%02x" % (major_hi, major_lo, minor[3], minor[2], minor[1], minor[0])
