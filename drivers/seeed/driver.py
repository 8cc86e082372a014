"""`seeed_mr60fda2` and `seeed_mr60fda1`: Seeed 60 GHz fall-detection radars on 115200 8N1.

Both modules decide falls themselves; the gateway needs their fall flag and presence, and
it needs them configured for the room: a module that believes it hangs at 2.2 m while it
hangs at 2.8 m misjudges heights and so falls. At connect each driver writes install
height, fall threshold (FDA2 only) and sensitivity, reads them back and fails with a clear
message on any difference, refusal or silence.

The MR60FDA1 setting commands are NOT confirmed by a vendor document (see
drivers/seeed/fda1.py); its driver writes them only when configured and names that
uncertainty in every error, and `verify = false` lets an installer skip the read-back if a
module turns out to answer differently.

Readings: `FallFlag` when the flag changes, `Presence` when presence or movement changes
and again every `keepalive_s` while the module keeps talking. A module that reports only
on change is asked a harmless question after `keepalive_s` of quiet (FDA2: read
parameters; FDA1: presence query), so a healthy module in an empty room stays visibly
alive and a dead one falls silent for the gateway's timeout to report.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import time
from typing import Any, AsyncIterator, Callable, Iterator

from pydantic import Field, model_validator

from drivers.base import Driver, DriverSettings, SensorInfo
from drivers.seeed import fda1, fda2
from drivers.seeed.presets import FallRadarSettings, load_preset
from drivers.serial_io import ByteStream, await_frame, is_file, open_stream
from sensordata.readings import FallFlag, Presence, Reading

log = logging.getLogger(__name__)


class SeeedConfigError(RuntimeError):
    """The module refused, ignored or did not keep a setting."""


class _SeeedBase(Driver[Any]):
    """Shared link handling, answer waiting and the change/keepalive emitter."""

    settings: Any

    def __init__(self, sensor: SensorInfo, settings: DriverSettings) -> None:
        super().__init__(sensor, settings)
        self._link: ByteStream | None = None
        self._parser: Any = None
        self._last: dict[str, tuple[Any, ...]] = {}
        self._last_emit: dict[str, float] = {}

    def _new_parser(self) -> Any:
        raise NotImplementedError

    async def connect(self) -> None:
        self._parser = self._new_parser()
        self._last.clear()
        self._last_emit.clear()
        self._link = await open_stream(self.settings.port, self.settings.baud, driver_type=self.type_name)
        if self.settings.configure and not is_file(self.settings.port):
            await self._configure()

    async def disconnect(self) -> None:
        if self._link is not None:
            await self._link.close()
            self._link = None

    async def _configure(self) -> None:
        raise NotImplementedError

    def _feed(self, chunk: bytes) -> list[Any]:
        frames: list[Any] = self._parser.feed(chunk)
        self.stats.update(self._parser.stats)
        return frames

    async def _request(self, frame: bytes, match: Callable[[Any], bool], what: str) -> Any:
        """Write `frame`, return the first received frame for which `match` is true."""
        assert self._link is not None
        await self._link.write(frame)
        try:
            return await await_frame(self._link, self._feed, match,
                                     self.settings.command_timeout_s, what)
        except TimeoutError:
            raise SeeedConfigError(
                f"{self.type_name} on {self.settings.port} did not answer {what} within "
                f"{self.settings.command_timeout_s:g} s{self._uncertainty()}") from None
        except ConnectionError:
            raise ConnectionError(f"{self.type_name} port {self.settings.port} closed during {what}") from None

    def _uncertainty(self) -> str:
        return ""

    def _changed(self, key: str, value: tuple[Any, ...], now: float) -> bool:
        """True when `value` differs from the last emitted one."""
        if self._last.get(key) != value:
            self._last[key] = value
            self._last_emit[key] = now
            return True
        return False

    def _readings_from(self, frame: Any, now: float) -> Iterator[Reading]:
        raise NotImplementedError

    def _probe(self) -> bytes:
        """A harmless request whose answer proves the module alive (see `readings`)."""
        return b""

    def _keepalive(self, now: float) -> Iterator[Reading]:
        """Repeat the last presence when due: the module is talking, so say so."""
        value = self._last.get("presence")
        if value is not None and now - self._last_emit["presence"] >= self.settings.keepalive_s:
            self._last_emit["presence"] = now
            yield Presence(self.sensor.id, now, *value)

    async def readings(self) -> AsyncIterator[Reading]:
        """Frames -> readings. A module may report presence only on change, so after
        `keepalive_s` of quiet the driver sends `_probe()`; any answer counts as a sign of
        life and repeats the current presence. A module that answers nothing produces
        nothing, and the gateway's silence timeout reports it."""
        assert self._link is not None, "connect() first"
        live = not is_file(self.settings.port)
        while True:
            try:
                chunk = await asyncio.wait_for(self._link.read(), self.settings.keepalive_s
                                               if live else None)
            except asyncio.TimeoutError:
                probe = self._probe()
                if probe:
                    self.count("probes")
                    await self._link.write(probe)
                continue
            if not chunk:
                if not live:
                    return
                raise ConnectionError(f"{self.type_name} port {self.settings.port} closed")
            now = time.time()
            frames = self._feed(chunk)
            for frame in frames:
                for r in self._readings_from(frame, now):
                    yield r
            for r in self._after_chunk(now):
                yield r
            if frames:
                for r in self._keepalive(now):
                    yield r

    def _after_chunk(self, now: float) -> Iterator[Reading]:
        """Readings that depend on several frames of one burst (FDA1 presence + motion)."""
        return iter(())


# ====================================================================== MR60FDA2

class FDA2Settings(DriverSettings):
    port: str = Field(title="Serial device or file:PATH of a raw capture")
    baud: int = Field(115200, title="UART speed")
    preset: str | None = Field(None, title="Preset in firmware_configs/mr60fda2_<name>.toml")
    install_height_m: float | None = Field(None, ge=1.0, le=4.0, title="Install height m (overrides preset)")
    fall_threshold_m: float | None = Field(None, ge=0.0, le=1.5, title="Fall threshold m (overrides preset)")
    sensitivity: int | None = Field(None, ge=1, le=3, title="Sensitivity level 1-3 (overrides preset)")
    configure: bool = Field(True, title="Write and verify the settings at start")
    keepalive_s: float = Field(5.0, gt=0, title="Repeat presence this often while frames flow")
    command_timeout_s: float = Field(2.0, gt=0, title="How long to wait for each answer")

    @model_validator(mode="after")
    def _check(self) -> "FDA2Settings":
        if self.preset is not None:
            load_preset(self.preset)
        return self

    def radar(self) -> FallRadarSettings | None:
        base = load_preset(self.preset).radar.model_dump() if self.preset else {}
        for key in FallRadarSettings.model_fields:
            if getattr(self, key) is not None:
                base[key] = getattr(self, key)
        if not base:
            return None
        missing = [k for k in FallRadarSettings.model_fields if k not in base]
        if missing:
            raise SeeedConfigError(f"MR60FDA2 settings incomplete: missing {', '.join(missing)}")
        return FallRadarSettings.model_validate(base)


class MR60FDA2Driver(_SeeedBase):
    type_name = "seeed_mr60fda2"
    Settings = FDA2Settings

    def __init__(self, sensor: SensorInfo, settings: DriverSettings) -> None:
        super().__init__(sensor, settings)
        self.params: fda2.Params | None = None

    def _new_parser(self) -> fda2.FDA2Parser:
        return fda2.FDA2Parser()

    async def _set(self, frame: bytes, ftype: int, what: str) -> None:
        # the module answers a setting with a frame of the same type and one result byte;
        # our own 4-byte request is never echoed, so a 1-byte data frame is the answer
        ans = await self._request(frame, lambda f: f.type == ftype and len(f.data) == 1, what)
        if not ans.data[0]:
            raise SeeedConfigError(f"MR60FDA2 on {self.settings.port} refused {what}")

    async def _configure(self) -> None:
        want = self.settings.radar()
        if want is not None:
            sens = fda2.SENSITIVITY_LEVELS[want.sensitivity]
            await self._set(fda2.set_install_height(want.install_height_m),
                            fda2.TYPE_INSTALL_HEIGHT, "install height")
            await self._set(fda2.set_fall_threshold(want.fall_threshold_m),
                            fda2.TYPE_FALL_THRESHOLD, "fall threshold")
            await self._set(fda2.set_sensitivity(sens), fda2.TYPE_SENSITIVITY, "sensitivity")
        ans = await self._request(fda2.read_params(),
                                  lambda f: f.type == fda2.TYPE_PARAMS and len(f.data) >= 12,
                                  "read parameters")
        got = fda2.decode_params(ans.data)
        self.params = got
        if want is None or got is None:
            return
        diffs = []
        if not math.isclose(got.install_height_m, want.install_height_m, abs_tol=1e-3):
            diffs.append(f"install height: wrote {want.install_height_m} m, "
                         f"module reports {got.install_height_m:.3f} m")
        if not math.isclose(got.fall_threshold_m, want.fall_threshold_m, abs_tol=1e-3):
            diffs.append(f"fall threshold: wrote {want.fall_threshold_m} m, "
                         f"module reports {got.fall_threshold_m:.3f} m")
        if got.sensitivity != fda2.SENSITIVITY_LEVELS[want.sensitivity]:
            diffs.append(f"sensitivity: wrote {fda2.SENSITIVITY_LEVELS[want.sensitivity]}, "
                         f"module reports {got.sensitivity}")
        if diffs:
            raise SeeedConfigError(f"MR60FDA2 on {self.settings.port} did not keep its "
                                   "settings: " + "; ".join(diffs))
        log.info("MR60FDA2 %s configured: %s", self.sensor.id, got)

    def _probe(self) -> bytes:
        return fda2.read_params()

    def _readings_from(self, f: fda2.Frame, now: float) -> Iterator[Reading]:
        if not f.data:
            return
        if f.type == fda2.TYPE_FALL:
            fall = f.data[0] != 0
            if self._changed("fall", (fall,), now):
                yield FallFlag(self.sensor.id, now, fall)
        elif f.type == fda2.TYPE_PRESENCE:
            present = f.data[0] != 0
            if self._changed("presence", (present, None), now):
                yield Presence(self.sensor.id, now, present)


# ====================================================================== MR60FDA1

class FDA1Settings(DriverSettings):
    port: str = Field(title="Serial device or file:PATH of a raw capture")
    baud: int = Field(115200, title="UART speed")
    install_height_m: float | None = Field(None, ge=1.0, le=4.0, title="Install height m (unconfirmed command 06 02)")
    sensitivity: int | None = Field(None, ge=1, le=3, title="Fall sensitivity 1-3 (unconfirmed command 83 0D)")
    fall_confirm_s: int | None = Field(None, ge=1, le=3600, title="Fall confirmation time s (unconfirmed 83 0C)")
    configure: bool = Field(True, title="Write the settings at start")
    verify: bool = Field(True, title="Require the module's echo and read-back to match")
    keepalive_s: float = Field(5.0, gt=0, title="Repeat presence this often while frames flow")
    command_timeout_s: float = Field(2.0, gt=0, title="How long to wait for each answer")


class MR60FDA1Driver(_SeeedBase):
    type_name = "seeed_mr60fda1"
    Settings = FDA1Settings

    def __init__(self, sensor: SensorInfo, settings: DriverSettings) -> None:
        super().__init__(sensor, settings)
        self._present = False
        self._motion = fda1.MOTION_NONE
        self.body_movement: int | None = None
        self.residency: bool | None = None

    def _new_parser(self) -> fda1.FDA1Parser:
        self._presence_seen = False
        return fda1.FDA1Parser()

    def _after_chunk(self, now: float) -> Iterator[Reading]:
        # the module sends presence (80 01) and motion (80 02) as separate frames; emit one
        # Presence per burst so "present" and "moving" are never reported half-updated
        if not self._presence_seen:
            return
        self._presence_seen = False
        moving = self._motion == fda1.MOTION_ACTIVE
        if self._changed("presence", (self._present, moving), now):
            yield Presence(self.sensor.id, now, self._present, moving)

    def _probe(self) -> bytes:
        # presence query (80 81 0F): the family's query convention, unconfirmed for FDA1;
        # a module that ignores it still keeps its own periodic reports flowing
        return fda1.query(fda1.CTRL_PRESENCE, fda1.CMD_PRESENCE)

    def _uncertainty(self) -> str:
        return (" (the MR60FDA1 setting commands are unconfirmed by any vendor document; "
                "if the module otherwise works, set verify = false or leave the setting out)")

    async def _write_and_check(self, frame: bytes, ctrl: int, cmd: int, value: bytes,
                               what: str) -> None:
        match = lambda f: f.control == ctrl and f.command == cmd  # noqa: E731
        if not self.settings.verify:
            assert self._link is not None
            await self._link.write(frame)
            return
        echo = await self._request(frame, match, what)
        if echo.data != value:
            raise SeeedConfigError(f"MR60FDA1 answered {what} with {echo.data.hex(' ')}, "
                                   f"expected {value.hex(' ')}{self._uncertainty()}")
        qmatch = lambda f: f.control == ctrl and f.command == cmd | fda1.QUERY_BIT  # noqa: E731
        back = await self._request(fda1.query(ctrl, cmd), qmatch, f"{what} read-back")
        if back.data != value:
            raise SeeedConfigError(f"MR60FDA1 did not keep {what}: wrote {value.hex(' ')}, "
                                   f"reads {back.data.hex(' ')}{self._uncertainty()}")

    async def _configure(self) -> None:
        s = self.settings
        if s.install_height_m is not None:
            cm = round(s.install_height_m * 100)
            await self._write_and_check(fda1.set_install_height(cm), fda1.CTRL_INSTALL,
                                        fda1.CMD_INSTALL_HEIGHT, struct.pack(">H", cm),
                                        "install height")
        if s.sensitivity is not None:
            await self._write_and_check(fda1.set_fall_sensitivity(s.sensitivity), fda1.CTRL_FALL,
                                        fda1.CMD_FALL_SENSITIVITY, bytes([s.sensitivity]),
                                        "fall sensitivity")
        if s.fall_confirm_s is not None:
            await self._write_and_check(fda1.set_fall_confirm_time(s.fall_confirm_s),
                                        fda1.CTRL_FALL, fda1.CMD_FALL_CONFIRM_TIME,
                                        struct.pack(">I", s.fall_confirm_s),
                                        "fall confirmation time")

    def _readings_from(self, f: fda1.Frame, now: float) -> Iterator[Reading]:
        if not f.data:
            return
        v = f.data[0]
        if f.control == fda1.CTRL_PRESENCE:
            if f.command in (fda1.CMD_PRESENCE, fda1.CMD_PRESENCE | fda1.QUERY_BIT):
                self._present = v == 1
                if not self._present:
                    self._motion = fda1.MOTION_NONE
            elif f.command == fda1.CMD_MOTION:
                self._motion = v
                if v in (fda1.MOTION_STILL, fda1.MOTION_ACTIVE):
                    self._present = True
            elif f.command == fda1.CMD_BODY_MOVEMENT:
                self.body_movement = v
                return
            else:
                return
            self._presence_seen = True
        elif f.control == fda1.CTRL_FALL:
            if f.command == fda1.CMD_FALL:
                fall = v == 1
                if self._changed("fall", (fall,), now):
                    yield FallFlag(self.sensor.id, now, fall)
            elif f.command == fda1.CMD_RESIDENCY:
                self.residency = v == 1
                self.count("residency_reports")
