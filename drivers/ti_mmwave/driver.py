"""The `ti_mmwave` driver: configure a TI mmWave radar over its CLI port, read its data port.

At `connect()` the driver opens the data port (921600 baud) first, so no frame after
`sensorStart` is lost, then sends the chirp config line by line over the CLI port
(115200 baud). The firmware echoes each line and answers `Done`; an answer containing
`Error` or `not recognized`, or no `Done` within the timeout, stops the start with an
error naming the config line, because a half-configured radar streams nonsense or
nothing. The chirp config was already validated when the home config was loaded
(`chirp.py`), so a misspelt command never reaches the device.

`readings()` yields per frame a `RadarPoints` (room-frame point cloud) and, for a
people-tracking config, a `RadarTargets` (possibly empty: "nobody tracked" is news too).
Times: live frames are stamped with the wall clock when their last byte arrives;
replayed captures (`data_port = "file:PATH"`) with the replay start plus frame number
times the configured frame period, so detectors see the device's own cadence.

Example home-config entry:

    [[sensors]]
    id = "radar_living"
    type_name = "ti_mmwave"
    [sensors.settings]
    cli_port = "/dev/ttyUSB0"
    data_port = "/dev/ttyUSB1"
    config = "iwr6843aop_ceiling"
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import AsyncIterator

from pydantic import Field, model_validator

from drivers.base import Driver, DriverSettings, SensorInfo
from drivers.serial_io import ByteStream, is_file, open_stream
from drivers.ti_mmwave import chirp
from drivers.ti_mmwave.convert import FrameConverter
from drivers.ti_mmwave.parser import FrameParser
from sensordata.readings import Reading

_PROMPT = re.compile(r"^\S*:/>\s*")


class RadarConfigError(RuntimeError):
    """The radar refused or did not answer a config line."""


class TiMmwaveSettings(DriverSettings):
    cli_port: str | None = Field(
        None, title="CLI port (e.g. /dev/ttyUSB0) the chirp config is sent to; "
                    "leave out when replaying a capture or when the radar is configured elsewhere")
    data_port: str | None = Field(
        None, title="Data port (e.g. /dev/ttyUSB1), or file:PATH to read a capture")
    port: str | None = Field(None, title="Shorthand for data_port (e.g. file:capture.bin)")
    config: str = Field(title="Chirp config: a name in firmware_configs/ "
                              "(e.g. iwr6843aop_ceiling) or a path to a .cfg file")
    sensor_height_m: float | None = Field(
        None, gt=0, le=10, title="Radar height above the floor in metres (overrides the config)")
    elevation_tilt_deg: float | None = Field(
        None, ge=-90, le=90, title="Downward tilt in degrees, 90 = looking straight down "
                                   "(overrides the config)")
    azimuth_tilt_deg: float | None = Field(
        None, ge=-180, le=180, title="Azimuth tilt in degrees (overrides the config)")
    extra_commands: list[str] = Field(
        default_factory=list, title="CLI commands your firmware knows beyond the standard ones")
    cli_baud: int = Field(115200, title="CLI port baud rate")
    data_baud: int = Field(921600, title="Data port baud rate")
    command_timeout_s: float = Field(2.0, gt=0, title="Seconds to wait for each config answer")
    replay_realtime: bool = Field(
        False, title="Pace a capture replay at the data port's byte rate instead of full speed")

    @model_validator(mode="after")
    def _check(self) -> "TiMmwaveSettings":
        if not (self.data_port or self.port):
            raise ValueError("set data_port (or port = \"file:PATH\" for a capture)")
        if self.data_port and self.port and self.data_port != self.port:
            raise ValueError("give data_port or port, not both")
        cfg = chirp.load(self.config, set(self.extra_commands))  # ChirpConfigError is a ValueError
        if self.mounting(cfg) is None:
            raise ValueError(
                f"chirp config {cfg.path.name} does not say how high the radar hangs: add "
                f"'% height_m:' to its header or set sensor_height_m")
        return self

    @property
    def data(self) -> str:
        return self.data_port or self.port  # type: ignore[return-value]

    def room_mounting(self) -> chirp.Mounting | None:
        """The mounting this driver puts point clouds in the room frame with (for the
        gateway's sensor list: a detector that measures the real mounting undoes this one)."""
        return self.mounting(chirp.load(self.config, set(self.extra_commands)))

    def mounting(self, cfg: chirp.ChirpConfig) -> chirp.Mounting | None:
        base = cfg.mounting
        if base is None and self.sensor_height_m is None:
            return None
        return chirp.Mounting(
            self.sensor_height_m if self.sensor_height_m is not None
            else (base.height_m if base else 0.0),
            self.elevation_tilt_deg if self.elevation_tilt_deg is not None
            else (base.elevation_tilt_deg if base else 0.0),
            self.azimuth_tilt_deg if self.azimuth_tilt_deg is not None
            else (base.azimuth_tilt_deg if base else 0.0),
            base.kind if base else None)


class TiMmwaveDriver(Driver[TiMmwaveSettings]):
    type_name = "ti_mmwave"
    Settings = TiMmwaveSettings
    expected_rate_hz = 18.0  # the shipped configs run 55 ms frames; instances use their own

    def __init__(self, sensor: SensorInfo, settings: TiMmwaveSettings) -> None:
        super().__init__(sensor, settings)
        self.cfg = chirp.load(settings.config, set(settings.extra_commands))
        self.mount = settings.mounting(self.cfg)
        period = self.cfg.frame_period_s
        self.frame_period_s = period
        if period:
            self.expected_rate_hz = 1.0 / period  # type: ignore[misc]
        self._data: ByteStream | None = None
        self._replay = is_file(settings.data)
        #: the config lines the radar acknowledged in the last connect()
        self.acknowledged: list[str] = []

    # -- connect -------------------------------------------------------------------
    async def connect(self) -> None:
        s = self.settings
        self._data = await open_stream(s.data, s.data_baud, driver_type=self.type_name,
                                       realtime=s.replay_realtime)
        if s.cli_port and not self._replay:
            try:
                await self._configure(s.cli_port)
            except BaseException:
                await self.disconnect()
                raise

    async def disconnect(self) -> None:
        if self._data is not None:
            await self._data.close()
            self._data = None

    async def _configure(self, port: str) -> None:
        s = self.settings
        cli = await open_stream(port, s.cli_baud, driver_type=self.type_name)
        self.acknowledged = []
        buf = bytearray()
        try:
            await self._drain(cli, buf, 0.2)  # a stale prompt or boot banner
            buf.clear()
            for lineno, line in self.cfg.lines:
                timeout = s.command_timeout_s * (3 if line.startswith("sensorStart") else 1)
                await cli.write((line + "\n").encode("ascii"))
                echo = await self._await_done(cli, buf, lineno, line, timeout)
                if not echo:
                    self.count("cli_echo_missing")
                self.acknowledged.append(line)
        finally:
            await cli.close()

    async def _await_done(self, cli: ByteStream, buf: bytearray, lineno: int, sent: str,
                          timeout: float) -> bool:
        where = f"{self.cfg.path.name}:{lineno}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        echo = False
        while True:
            answer = await self._line(cli, buf, deadline - loop.time())
            if answer is None:
                raise RadarConfigError(
                    f"radar did not answer Done to {where} {sent!r} within {timeout:.1f} s "
                    f"(wrong CLI port, or firmware not running?)")
            if answer == sent:
                echo = True
            elif answer.lower().startswith("done"):
                return echo
            elif "error" in answer.lower() or "not recognized" in answer.lower():
                raise RadarConfigError(f"radar rejected {where} {sent!r}: {answer}")

    @staticmethod
    async def _line(cli: ByteStream, buf: bytearray, timeout: float) -> str | None:
        """Next non-empty answer line with the prompt stripped, or None on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            i = buf.find(b"\n")
            if i >= 0:
                raw = bytes(buf[:i]).decode("ascii", "replace").strip()
                del buf[: i + 1]
                text = _PROMPT.sub("", raw).strip()
                if text:
                    return text
                continue
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                data = await asyncio.wait_for(cli.read(1024), left)
            except asyncio.TimeoutError:
                return None
            if not data:
                return None
            buf += data

    @staticmethod
    async def _drain(cli: ByteStream, buf: bytearray, quiet: float) -> None:
        while True:
            try:
                data = await asyncio.wait_for(cli.read(1024), quiet)
            except asyncio.TimeoutError:
                return
            if not data:
                return
            buf += data

    # -- readings ------------------------------------------------------------------
    async def readings(self) -> AsyncIterator[Reading]:
        if self._data is None:
            raise RuntimeError("readings() before connect()")
        parser = FrameParser()
        conv = FrameConverter(self.sensor.id, self.mount, tracking=self.cfg.tracking,
                              doppler_resolution_mps=self.cfg.doppler_resolution_mps)
        period = self.frame_period_s or 0.05
        base: tuple[float, int] | None = None  # replay: (time of frame, its number)
        last_t = 0.0
        while True:
            data = await self._data.read(8192)
            if not data:
                parser.finish()
                self._sync_stats(parser)
                if self._replay:
                    return
                raise ConnectionError(f"data port {self._data.name} closed")
            now = time.time()
            frames = parser.feed(data)
            self._sync_stats(parser)
            for frame in frames:
                n = frame.header.frame_number
                if self._replay:
                    if base is None or n < base[1]:
                        base = (max(now, last_t + period), n)
                    t = base[0] + (n - base[1]) * period
                else:
                    t = max(now, last_t)
                last_t = t
                for r in conv.readings(frame, t):
                    yield r

    def _sync_stats(self, parser: FrameParser) -> None:
        for k, v in parser.stats.items():
            self.stats[k] = v
