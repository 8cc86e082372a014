"""No sensor can crash the daemon; third-party drivers plug in by entry point."""

from __future__ import annotations

import asyncio
import time
from importlib.metadata import EntryPoint
from typing import AsyncIterator

import pytest

from drivers import registry
from drivers.base import Driver, DriverUnavailable, SensorInfo, require_module
from gateway.supervisor import supervise
from sensordata.readings import Motion


class Flaky(Driver):
    type_name = "flaky"
    starts = 0

    async def connect(self) -> None:
        Flaky.starts += 1
        if Flaky.starts == 2:
            raise OSError("port vanished")

    async def readings(self) -> AsyncIterator[Motion]:
        yield Motion(self.sensor.id, time.time(), True)
        raise ValueError("garbage from the device")


async def test_a_failing_driver_is_restarted_with_backoff_and_logged_once(caplog):
    got: list[Motion] = []
    info = SensorInfo("pir", "hall", "flaky")
    task = asyncio.create_task(supervise(lambda: Flaky(info, Flaky.Settings()), got.append,
                                         min_delay=0.05, max_delay=0.2))
    await asyncio.sleep(1.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert Flaky.starts >= 4 and len(got) >= 3
    warnings = [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()]
    assert sum("garbage from the device" in w for w in warnings) <= 2  # logged on change only


def test_a_missing_optional_library_names_the_fix():
    with pytest.raises(DriverUnavailable, match="pip install nothing-here"):
        require_module("no_such_module_xyz", "my_driver", "pip install nothing-here")


def test_third_party_drivers_register_through_entry_points(monkeypatch):
    ep = EntryPoint(name="acme_pir", value="tests.gateway.test_supervisor:Flaky",
                    group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: {"acme_pir": ep})
    assert registry.load("acme_pir") is Flaky
    assert "acme_pir" in registry.known_types()
    with pytest.raises(registry.UnknownDriver):
        registry.load("acme_pri")


class Ends(Driver):
    type_name = "ends"

    async def readings(self) -> AsyncIterator[Motion]:
        yield Motion(self.sensor.id, time.time(), True)

    async def disconnect(self) -> None:
        await asyncio.sleep(0.002)


@pytest.mark.parametrize("delay_ms", range(0, 30, 3))
async def test_one_cancel_stops_the_supervisor_whatever_it_is_doing(delay_ms):
    info = SensorInfo("pir", None, "ends")
    task = asyncio.create_task(supervise(lambda: Ends(info, Ends.Settings()), lambda r: None,
                                         min_delay=0.001, max_delay=0.002))
    await asyncio.sleep(delay_ms / 1000)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=1.0)
    assert task in done, "a single cancel must end the supervisor (daemon shutdown relies on it)"
