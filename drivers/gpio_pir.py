"""`gpio_pir`: a PIR motion sensor on a Raspberry Pi GPIO line, via libgpiod 2.x (`gpiod`).

Why it is built this way:
- `gpiod` is imported only at connect (`import_gpiod`), so a gateway without it runs
  everything else; a missing module or chip gives a message saying what to install/check.
- Edge events, not polling: the kernel timestamps each edge (CLOCK_MONOTONIC), the request's
  file descriptor wakes the event loop, and no edge between two polls is lost.
- Debounce twice: the kernel's debounce period (where the chip supports it) and our own
  rule that a new level must stay stable for `debounce_s` before it is reported, because
  PIR outputs ring on switching and long wires pick up spikes. The reading carries the time
  of the edge that started the stable level, not the time we decided.
- The line's level at connect is the baseline, not an event: a driver restart must not
  invent a "motion started" that an inactivity detector would take for a sign of life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any, AsyncIterator, Literal

from pydantic import Field

from drivers.base import Driver, DriverSettings, DriverUnavailable, SensorInfo, require_module
from sensordata.readings import Motion, Reading

log = logging.getLogger(__name__)


def import_gpiod() -> Any:
    """The gpiod module (tests replace this function with one returning a fake)."""
    return require_module("gpiod", "gpio_pir",
                          "install libgpiod's Python bindings: pip install 'gpiod>=2.1' "
                          "(or apt install python3-libgpiod on Debian 12 with the venv's "
                          "system site packages)")


class GpioPirSettings(DriverSettings):
    chip: str = Field("/dev/gpiochip0", title="GPIO chip device (Pi 4 and Pi 5: /dev/gpiochip0 "
                                              "on current kernels)")
    line: int | str = Field(title="Line offset (BCM number, e.g. 17) or line name ('GPIO17')")
    active_low: bool = Field(False, title="True if the sensor pulls the line low on motion")
    bias: Literal["as_is", "disabled", "pull_up", "pull_down"] = Field(
        "pull_down", title="Internal resistor; most PIR modules drive the line themselves")
    debounce_s: float = Field(0.1, ge=0, le=5, title="A new level must hold this long")


Settings = GpioPirSettings  # the name tests and older plugins import


class GpioPirDriver(Driver[GpioPirSettings]):
    type_name = "gpio_pir"
    Settings = GpioPirSettings
    expected_rate_hz = None  # event driven

    def __init__(self, sensor: SensorInfo, settings: GpioPirSettings) -> None:
        super().__init__(sensor, settings)
        self._gpiod: Any = None
        self._req: Any = None
        self._wake = asyncio.Event()
        self.level: bool | None = None

    async def connect(self) -> None:
        gpiod = self._gpiod = import_gpiod()
        s = self.settings
        line_settings = gpiod.LineSettings(
            direction=gpiod.line.Direction.INPUT,
            edge_detection=gpiod.line.Edge.BOTH,
            bias=getattr(gpiod.line.Bias, s.bias.upper()),
            active_low=s.active_low,
            debounce_period=timedelta(seconds=s.debounce_s),
        )
        try:
            self._req = gpiod.request_lines(s.chip, consumer=f"safehome:{self.sensor.id}",
                                            config={s.line: line_settings})
        except FileNotFoundError as exc:
            raise DriverUnavailable(f"gpio_pir: no GPIO chip {s.chip} ({exc}); list chips with "
                                    "`gpiodetect`") from exc
        except (OSError, ValueError) as exc:
            raise DriverUnavailable(f"gpio_pir: cannot request line {s.line!r} on {s.chip}: {exc} "
                                    "(in use by another program? user in group 'gpio'?)") from exc
        self._offset = self._req.offsets[0] if getattr(self._req, "offsets", None) else s.line
        self.level = self._read_level()
        self._wake = asyncio.Event()
        asyncio.get_running_loop().add_reader(self._req.fd, self._wake.set)

    def _read_level(self) -> bool:
        value = self._req.get_value(self._offset)
        return bool(value == self._gpiod.line.Value.ACTIVE)

    async def disconnect(self) -> None:
        req, self._req = self._req, None
        if req is None:
            return
        try:
            asyncio.get_running_loop().remove_reader(req.fd)
        except Exception:  # noqa: BLE001 - the line may already be gone
            pass
        try:
            req.release()
        except Exception as exc:  # noqa: BLE001 - the line may already be gone
            log.debug("gpio_pir: release failed: %s", exc)

    @staticmethod
    def _wall_time(timestamp_ns: int) -> float:
        """Kernel CLOCK_MONOTONIC edge time -> Unix time."""
        return time.time() - (time.monotonic_ns() - timestamp_ns) / 1e9

    async def readings(self) -> AsyncIterator[Reading]:
        assert self._req is not None, "connect() first"
        rising = self._gpiod.EdgeEvent.Type.RISING_EDGE
        loop = asyncio.get_running_loop()
        pending: tuple[bool, float] | None = None  # (level, time of its first edge)
        settle_at = 0.0
        while True:
            timeout = None if pending is None else max(0.0, settle_at - loop.time())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                assert pending is not None
                level, t = pending
                pending = None
                if level != self.level:
                    self.level = level
                    self.count("changes")
                    yield Motion(self.sensor.id, t, level)
                continue
            self._wake.clear()
            if self._req is None:
                raise ConnectionError("gpio_pir: line released")
            for ev in self._req.read_edge_events():
                self.count("edges")
                level = ev.event_type == rising
                if pending is None or level != pending[0]:
                    pending = (level, self._wall_time(ev.timestamp_ns))
                settle_at = loop.time() + self.settings.debounce_s
