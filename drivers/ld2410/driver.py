"""`hlk_ld2410`: HLK-LD2410 presence radar on a 256000-baud UART.

At connect the driver puts the module in config mode, writes the gate limits, no-one
duration and per-gate sensitivities (from a preset in firmware_configs/ and/or explicit
settings), reads the parameters back and compares, then leaves config mode. Any missing or
negative answer is an error that says which command failed, because a module left with
factory settings reports people in the next room and nobody would notice.

Readings: `Presence` from the report's state byte only (energies are not presence: real
modules report them with state 0). The module reports about ten times a second; the driver
emits a reading when presence or movement changes, and otherwise repeats the current state
every `keepalive_s` while reports keep arriving, so a radar that goes silent falls silent
here too and the gateway's silence timeout notices it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, AsyncIterator

from pydantic import Field, field_validator, model_validator

from drivers.base import Driver, DriverSettings, SensorInfo
from drivers.ld2410 import protocol as P
from drivers.ld2410.parser import LD2410Parser
from drivers.ld2410.presets import RadarSettings, _gate_list, load_preset
from drivers.serial_io import ByteStream, await_frame, is_file, open_stream
from sensordata.readings import Presence, Reading

log = logging.getLogger(__name__)


class LD2410ConfigError(RuntimeError):
    """The module refused, ignored or did not keep a configuration command."""


class LD2410Timeout(LD2410ConfigError):
    """No answer in time (wiring, baud rate, or a module still booting)."""


class LD2410Settings(DriverSettings):
    port: str = Field(title="Serial device (e.g. /dev/ttyUSB0) or file:PATH of a raw capture")
    baud: int = Field(256000, title="UART speed (module default 256000)")
    preset: str | None = Field(None, title="Preset in firmware_configs/ld2410_<name>.toml")
    max_moving_gate: int | None = Field(None, ge=1, le=8, title="Farthest moving gate (overrides preset)")
    max_still_gate: int | None = Field(None, ge=1, le=8, title="Farthest still gate (overrides preset)")
    no_one_duration_s: int | None = Field(None, ge=0, le=65535, title="No-one duration s (overrides preset)")
    moving_sensitivity: list[int] | None = Field(None, title="9 moving thresholds 0-100 (overrides preset)")
    still_sensitivity: list[int] | None = Field(None, title="9 still thresholds 0-100 (overrides preset)")
    engineering: bool = Field(False, title="Ask for engineering reports (gate energies)")
    configure: bool = Field(True, title="Write and verify the settings at start")
    keepalive_s: float = Field(5.0, gt=0, title="Repeat the current state this often while reports flow")
    command_timeout_s: float = Field(1.0, gt=0, title="How long to wait for each command's answer")

    _gates = field_validator("moving_sensitivity", "still_sensitivity")(_gate_list)

    @model_validator(mode="after")
    def _preset_exists(self) -> "LD2410Settings":
        if self.preset is not None:
            load_preset(self.preset)  # raises ValueError naming the available presets
        return self

    def radar(self) -> RadarSettings | None:
        """The settings to write: the preset overlaid with explicit values; None if none."""
        base = load_preset(self.preset).radar.model_dump() if self.preset else {}
        for key in RadarSettings.model_fields:
            value = getattr(self, key)
            if value is not None:
                base[key] = value
        if not base:
            return None
        missing = [k for k in RadarSettings.model_fields if k not in base]
        if missing:
            raise LD2410ConfigError(
                f"LD2410 settings incomplete without a preset: missing {', '.join(missing)}")
        return RadarSettings.model_validate(base)


Settings = LD2410Settings  # the name tests and older plugins import


class LD2410Driver(Driver[LD2410Settings]):
    type_name = "hlk_ld2410"
    Settings = LD2410Settings
    expected_rate_hz = None  # change-driven plus keepalive; see keepalive_s

    def __init__(self, sensor: SensorInfo, settings: LD2410Settings) -> None:
        super().__init__(sensor, settings)
        self._link: ByteStream | None = None
        self._parser = LD2410Parser()
        self.firmware: str | None = None
        self.params: P.Params | None = None

    # ------------------------------------------------------------------ lifecycle
    async def connect(self) -> None:
        self._parser = LD2410Parser()
        self._link = await open_stream(self.settings.port, self.settings.baud, driver_type=self.type_name)
        if self.settings.configure and not is_file(self.settings.port):
            try:
                await self._configure()
            except BaseException:
                await self._best_effort_leave()
                raise

    async def disconnect(self) -> None:
        if self._link is not None:
            await self._link.close()
            self._link = None

    # ------------------------------------------------------------------ config
    async def _command(self, frame: bytes, command: int) -> P.Ack:
        """Send one command and wait for its ack; reports arriving meanwhile are dropped."""
        assert self._link is not None
        await self._link.write(frame)
        name = P.COMMAND_NAMES.get(command, hex(command))
        try:
            f = await await_frame(self._link, self._feed,
                                  lambda f: isinstance(f, P.Ack) and f.command == command,
                                  self.settings.command_timeout_s, f"'{name}'")
        except TimeoutError:
            raise LD2410Timeout(
                f"LD2410 on {self.settings.port} did not answer '{name}' within "
                f"{self.settings.command_timeout_s:g} s (check TX/RX wiring and "
                f"{self.settings.baud} baud)") from None
        except ConnectionError:
            raise ConnectionError(f"LD2410 port {self.settings.port} closed during '{name}'") from None
        if not f.ok:
            raise LD2410ConfigError(
                f"LD2410 on {self.settings.port} refused '{name}' (status {f.status})")
        ack: P.Ack = f
        return ack

    async def _configure(self) -> None:
        # a module powered up with the Pi ignores commands for about a second after boot
        # (Tasmota's notes), so the first command gets two more chances
        for attempt in range(3):
            try:
                await self._command(P.enter_config(), P.CMD_ENTER_CONFIG)
                break
            except LD2410Timeout:
                self.count("enter_config_retries")
                if attempt == 2:
                    raise
        want = self.settings.radar()
        if want is not None:
            await self._command(P.set_max_gates(want.max_moving_gate, want.max_still_gate,
                                                want.no_one_duration_s), P.CMD_SET_MAX_GATES)
            for gate in range(P.N_GATES):
                await self._command(P.set_gate_sensitivity(
                    gate, want.moving_sensitivity[gate], want.still_sensitivity[gate]),
                    P.CMD_SET_GATE_SENSITIVITY)
        await self._command(P.engineering(self.settings.engineering),
                            P.CMD_ENGINEERING_ON if self.settings.engineering
                            else P.CMD_ENGINEERING_OFF)
        try:
            fw = await self._command(P.encode_command(P.CMD_FIRMWARE_VERSION),
                                     P.CMD_FIRMWARE_VERSION)
            self.firmware = P.decode_firmware(fw.data)
        except LD2410ConfigError as exc:  # informative only; older firmware may not answer
            log.info("LD2410 firmware version unavailable: %s", exc)
        ack = await self._command(P.read_params(), P.CMD_READ_PARAMS)
        self.params = P.decode_params(ack.data)
        if self.params is None:
            raise LD2410ConfigError(f"LD2410 parameters answer malformed: {ack.data.hex(' ')}")
        if want is not None:
            self._verify(want, self.params)
        await self._command(P.leave_config(), P.CMD_LEAVE_CONFIG)
        log.info("LD2410 %s configured (firmware %s): %s", self.sensor.id, self.firmware,
                 self.params)

    def _verify(self, want: RadarSettings, got: P.Params) -> None:
        diffs = []
        pairs = [("max_moving_gate", want.max_moving_gate, got.max_moving_gate),
                 ("max_still_gate", want.max_still_gate, got.max_still_gate),
                 ("no_one_duration_s", want.no_one_duration_s, got.no_one_duration_s),
                 ("moving_sensitivity", tuple(want.moving_sensitivity), got.moving_sensitivity),
                 ("still_sensitivity", tuple(want.still_sensitivity), got.still_sensitivity)]
        for name, w, g in pairs:
            if w != g:
                diffs.append(f"{name}: wrote {w}, module reports {g}")
        if diffs:
            raise LD2410ConfigError(f"LD2410 on {self.settings.port} did not keep its settings: "
                                    + "; ".join(diffs))

    async def _best_effort_leave(self) -> None:
        if self._link is not None and not is_file(self.settings.port):
            try:
                await self._link.write(P.leave_config())
            except Exception:  # noqa: BLE001 - best effort: the device may be gone
                pass

    # ------------------------------------------------------------------ readings
    def _feed(self, chunk: bytes) -> list[Any]:
        frames = self._parser.feed(chunk)
        self.stats.update(self._parser.stats)
        return frames

    async def readings(self) -> AsyncIterator[Reading]:
        assert self._link is not None, "connect() first"
        last_key: tuple[Any, ...] | None = None
        last_emit = float("-inf")
        while True:
            chunk = await self._link.read()
            if not chunk:
                if is_file(self.settings.port):
                    return
                raise ConnectionError(f"LD2410 port {self.settings.port} closed")
            now = time.time()
            for f in self._feed(chunk):
                if not isinstance(f, P.Report):
                    continue
                reading = presence_from_report(self.sensor.id, now, f)
                key = (reading.present, reading.moving)
                if key != last_key or now - last_emit >= self.settings.keepalive_s:
                    last_key, last_emit = key, now
                    yield reading


def presence_from_report(sensor: str, t: float, r: P.Report) -> Presence:
    """Presence from the state byte; distance of the target kind the module reports."""
    if not r.present:
        return Presence(sensor, t, False, False, None)
    if r.detection_distance_cm:
        cm = r.detection_distance_cm
    else:
        cm = r.moving_distance_cm if r.moving else r.still_distance_cm
    return Presence(sensor, t, True, r.moving, cm / 100.0)
