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


async def _played(batch_s: float, seconds: float) -> list[tuple[float, float]]:
    """(loop time it arrived, its sensor time) of what the demo's radar plays in `seconds`
    of wall time at ten times real time."""
    import asyncio
    import contextlib

    from drivers.base import SensorInfo
    from simulator.live import SimulatedDriver, SimulatedSettings
    sensor = SensorInfo("radar-living", "living", "simulated", "wall")
    driver = SimulatedDriver(sensor, SimulatedSettings(scenario="demo", sensors=["radar-living"],
                                                       speed=10, batch_s=batch_s))
    loop = asyncio.get_running_loop()
    got: list[tuple[float, float]] = []

    async def play() -> None:
        async for reading in driver.readings():
            if not got:           # play time counts from the first reading: the feed
                # process's start-up (seconds on a loaded CI runner) is not play
                budget.reschedule(loop.time() + seconds)
            got.append((loop.time(), float(reading.t)))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds + 30.0) as budget:
            await play()
    return got


async def test_readings_come_in_batches_with_their_own_times():
    # the idle demo home's CPU was one wake-up per reading (issue 25): batched, the same
    # readings with the same sensor times arrive together, each at most batch_s late
    each = await _played(0.0, 1.6)
    batched = await _played(0.5, 1.6)
    n = min(len(each), len(batched)) - 5       # 160 frames due; 110 or more handed over
    assert n > 80
    rel = [[t - run[0][1] for _, t in run[:n]] for run in (each, batched)]
    assert rel[0] == rel[1]
    def wakeups(run: list[tuple[float, float]]) -> int:   # arrivals after a pause
        return 1 + sum(1 for (a, _), (b, _) in zip(run, run[1:], strict=False) if b - a > 0.005)
    assert wakeups(each) > 60                  # a frame each 10 ms, most on their own
    assert wakeups(batched) <= 5               # 1.6 s: four batches, a fifth at most
    start = batched[0][0] - rel[1][0] / 10
    late = [at - (start + r / 10) for (at, _), r in zip(batched[:n], rel[1], strict=True)]
    assert min(late) >= -0.02 and max(late) <= 0.5 + 0.15   # never early; a loaded CI runner
