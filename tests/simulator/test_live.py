"""The live simulated driver (simulator/live.py): a sensor with nothing to say stays quiet."""

from __future__ import annotations

import pytest


async def test_a_simulated_sensor_with_nothing_to_say_stays_quiet_instead_of_ending() -> None:
    import asyncio

    from gateway.config import SensorConfig
    from simulator.live import SimulatedDriver, SimulatedSettings
    sensor = SensorConfig(id="pir-kitchen", type="simulated", room="kitchen")
    driver = SimulatedDriver(sensor, SimulatedSettings(scenario="demo", sensors=["pir-kitchen"]))

    async def first() -> object:
        async for reading in driver.readings():
            return reading
        return "ended"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(first(), timeout=3)
