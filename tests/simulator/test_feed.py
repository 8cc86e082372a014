"""The simulated sensors' own process (simulator/feed.py, simulator/feed_client.py): the
daemon gets the same readings as a render in its own process would give, the child never
outlives the drivers, and a child that dies is a sensor that went away."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import signal

import numpy as np
import pytest

from drivers.base import DriverUnavailable
from simulator.feed_client import FeedProcess, subscribe
from simulator.live import SimulatedSettings


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    for f in dataclasses.fields(a):   # type: ignore[arg-type]
        v, w = getattr(a, f.name), getattr(b, f.name)
        if isinstance(v, np.ndarray):
            if not np.array_equal(v, w):
                return False
        elif v != w:
            return False
    return True


async def test_a_subscription_gets_exactly_what_the_engine_renders() -> None:
    from simulator.feed import source
    settings = SimulatedSettings(scenario="demo", sensors=["wearable", "radar-living"]).model_dump()
    want = list(itertools.islice(source("wearable", settings), 700))
    got = []
    async for item in subscribe("wearable", settings):
        got.append(item)
        if len(got) == len(want):
            break
    assert len(got) == 700 and {r.sensor for _, r in got} == {"wearable", "radar-living"}
    assert [a for a, _ in got] == [a for a, _ in want]
    assert all(_same(r, w) for (_, r), (_, w) in zip(got, want, strict=True))


async def test_the_child_ends_when_its_last_subscription_closes() -> None:
    settings = SimulatedSettings(scenario="demo", sensors=["radar-living"]).model_dump()
    source = subscribe("radar-living", settings)
    await source.__anext__()
    proc = FeedProcess.for_loop().proc
    assert proc is not None and proc.poll() is None
    await source.aclose()
    for _ in range(50):
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.1)
    assert proc.poll() == 0


async def test_a_child_that_dies_is_a_sensor_that_went_away_and_the_next_one_starts_anew() -> None:
    settings = SimulatedSettings(scenario="demo", sensors=["radar-living"]).model_dump()
    source = subscribe("radar-living", settings)
    await source.__anext__()
    proc = FeedProcess.for_loop().proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    with pytest.raises(DriverUnavailable, match="process ended"):
        async with asyncio.timeout(10):
            async for _ in source:
                pass
    again = subscribe("radar-living", settings)
    _, first = await again.__anext__()
    assert first.sensor == "radar-living" and FeedProcess.for_loop().proc is not proc
    await again.aclose()


async def test_a_scenario_that_cannot_be_played_says_why() -> None:
    settings = SimulatedSettings(scenario="no-such-scenario").model_dump()
    with pytest.raises(DriverUnavailable, match="no-such-scenario"):
        async for _ in subscribe("x", settings):
            pass


async def test_a_trace_plays_through_the_child_as_the_trace_reader_reads_it(tmp_path) -> None:
    import subprocess
    import sys

    from sensordata.trace.reader import TraceReader
    from simulator.live import SCENARIOS
    trace = tmp_path / "demo.mcap"
    subprocess.run([sys.executable, "-m", "gateway.cli", "simulate", str(SCENARIOS / "demo.toml"), "-o", str(trace),
                    "--quiet"], check=True, timeout=120)
    want = [r for r in TraceReader(str(trace)).readings() if r.sensor == "radar-living"][:400]
    settings = SimulatedSettings(trace=str(trace), sensors=["radar-living"]).model_dump()
    got = []
    async for _, reading in subscribe("radar-living", settings):
        got.append(reading)
        if len(got) == len(want):
            break
    assert len(want) == 400 and all(_same(r, w) for r, w in zip(got, want, strict=True))


async def test_a_missing_trace_is_a_sensor_that_cannot_start(tmp_path) -> None:
    settings = SimulatedSettings(trace=str(tmp_path / "nowhere.mcap")).model_dump()
    with pytest.raises(DriverUnavailable, match="nowhere.mcap not found"):
        async for _ in subscribe("x", settings):
            pass


async def test_a_driver_that_is_stopped_ends_its_subscription_and_the_child_with_it() -> None:
    # staged shutdown: the supervisor cancels the driver's task; no simulated sensors'
    # process may outlive the daemon's last simulated sensor
    from drivers.base import SensorInfo
    from simulator.live import SimulatedDriver
    driver = SimulatedDriver(SensorInfo("radar-living", "living", "simulated", "wall"),
                             SimulatedSettings(scenario="demo", sensors=["radar-living"]))
    got = asyncio.Event()

    async def consume() -> None:
        async for _ in driver.readings():
            got.set()
    task = asyncio.create_task(consume())
    await asyncio.wait_for(got.wait(), 20)
    proc = FeedProcess.for_loop().proc
    assert proc is not None and proc.poll() is None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.1)
    assert proc.poll() == 0
