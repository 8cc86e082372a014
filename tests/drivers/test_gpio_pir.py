"""gpio_pir driver against a fake gpiod whose request fd really wakes the event loop."""

from __future__ import annotations

import asyncio
import enum

import pytest

from drivers import gpio_pir
from drivers.base import DriverUnavailable, SensorInfo
from drivers.gpio_pir import GpioPirDriver, Settings
from sensordata.readings import Motion
from tests.support.doubles import fake_gpiod

CHIP = "/dev/gpiochip0"
SENSOR = SensorInfo("hall_pir", "hall", "gpio_pir")


@pytest.fixture
def gpio(monkeypatch):
    g = fake_gpiod.FakeGpio()
    g.add_chip(CHIP)
    monkeypatch.setattr(gpio_pir, "import_gpiod", g.module)
    return g


async def drive(gpio, line, waveform) -> None:
    """Play (delay s, physical level) steps on the pin."""
    for delay, level in waveform:
        await asyncio.sleep(delay)
        gpio.set_level(CHIP, line, level)


async def collect(driver, duration: float) -> list[Motion]:
    out: list[Motion] = []

    async def run() -> None:
        async for r in driver.readings():
            out.append(r)

    try:
        await asyncio.wait_for(run(), duration)
    except asyncio.TimeoutError:
        pass
    return out


async def test_motion_start_and_end_with_glitches_debounced(gpio):
    drv = GpioPirDriver(SENSOR, Settings(line=17, debounce_s=0.05))
    await drv.connect()
    try:
        waveform = [
            (0.02, True), (0, False),                # a spike (both edges at once): not motion
            (0.10, True),                            # motion starts ...
            (0, False), (0, True),                   # ... ringing right after the edge
            (0.20, False),                           # motion ends
        ]
        driver_task = asyncio.create_task(collect(drv, 1.0))
        await drive(gpio, 17, waveform)
        readings = await driver_task
    finally:
        await drv.disconnect()
    assert [r.active for r in readings] == [True, False]
    assert all(r.sensor == "hall_pir" for r in readings)
    # the start is stamped at its first edge, not when the debounce settled
    gap = readings[1].t - readings[0].t
    assert 0.19 <= gap <= 0.6
    assert drv.stats["edges"] == 6 and drv.stats["changes"] == 2


async def test_active_low_sensor_and_line_name(gpio):
    gpio.set_level(CHIP, 4, True)  # idle high
    drv = GpioPirDriver(SENSOR, Settings(line="GPIO4", active_low=True, debounce_s=0.02))
    await drv.connect()
    try:
        assert drv.level is False  # baseline: idle, and not reported as an event
        task = asyncio.create_task(collect(drv, 0.3))
        await drive(gpio, 4, [(0.02, False), (0.1, True)])
        readings = await task
    finally:
        await drv.disconnect()
    assert [r.active for r in readings] == [True, False]


async def test_restart_reports_no_event_for_the_current_level(gpio):
    gpio.set_level(CHIP, 17, True)
    drv = GpioPirDriver(SENSOR, Settings(line=17, debounce_s=0.02))
    await drv.connect()
    try:
        assert await collect(drv, 0.15) == []
    finally:
        await drv.disconnect()


async def test_missing_chip_busy_line_and_missing_module_are_clear(gpio, monkeypatch):
    with pytest.raises(DriverUnavailable, match="no GPIO chip /dev/gpiochip9"):
        await GpioPirDriver(SENSOR, Settings(chip="/dev/gpiochip9", line=17)).connect()
    first = GpioPirDriver(SENSOR, Settings(line=17))
    await first.connect()
    try:
        with pytest.raises(DriverUnavailable, match="in use by another program"):
            await GpioPirDriver(SENSOR, Settings(line=17)).connect()
    finally:
        await first.disconnect()
    monkeypatch.setattr(gpio_pir, "import_gpiod",
                        lambda: gpio_pir.require_module("gpiod_missing_xyz", "gpio_pir", "hint"))
    with pytest.raises(DriverUnavailable, match="gpiod_missing_xyz"):
        await GpioPirDriver(SENSOR, Settings(line=17)).connect()


def test_fake_mirrors_the_real_gpiod_names():
    real = pytest.importorskip("gpiod")
    fake = fake_gpiod.FakeGpio().module()
    for group in ("Direction", "Edge", "Bias", "Value"):
        real_enum: type[enum.Enum] = getattr(real.line, group)
        fake_enum = getattr(fake.line, group)
        assert {m.name: m.value for m in real_enum} == {m.name: m.value for m in fake_enum}
    assert {m.name for m in real.EdgeEvent.Type} == {m.name for m in fake.EdgeEvent.Type}
    for attr in ("fd", "offsets", "get_value", "read_edge_events", "release"):
        assert hasattr(real.LineRequest, attr)
    import inspect
    real_params = set(inspect.signature(real.LineSettings).parameters)
    assert {"direction", "edge_detection", "bias", "active_low", "debounce_period"} <= real_params
