"""docs/writing-a-driver.md cannot rot: its example driver is extracted, installed as a
third-party plugin through the `safehome.drivers` entry-point group, validated by the
config loader and run through the real supervisor on a capture file and a pty."""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib
from pathlib import Path

import pytest

from drivers import registry
from drivers.base import SensorInfo
from gateway.config import ConfigError, parse_config
from gateway.supervisor import supervise
from simulator.emulators.pty import PtyPort

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-a-driver.md"


def example(name: str) -> str:
    """The fenced block that follows `<!-- example: NAME -->` in the doc."""
    m = re.search(rf"<!-- example: {name} -->\s*```\w+\n(.*?)```", DOC.read_text(), re.S)
    assert m, f"example {name!r} not found in {DOC}"
    return m.group(1)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The doc's driver as an installed distribution with an entry point."""
    (tmp_path / "line_motion_example.py").write_text(example("driver"))
    dist = tmp_path / "line_motion_example-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: line-motion-example\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[safehome.drivers]\nline_motion = line_motion_example:LineMotionDriver\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._entry_points.cache_clear()
    yield registry.load("line_motion")
    registry._entry_points.cache_clear()
    sys.modules.pop("line_motion_example", None)


def test_the_example_registers_and_its_config_validates(plugin, tmp_path):
    assert plugin.type_name == "line_motion" and "line_motion" in registry.known_types()
    header = 'gateway_id = "gw-1"\nsite_id = "site-1"\n[[rooms]]\nid = "hall"\n'
    cfg = parse_config(tomllib.loads(header + example("config")))
    s = cfg.sensors[0]
    assert cfg.driver_settings(s).baud == 9600
    # a misspelt key is caught at load, by the driver's own model
    bad = header + example("config").replace("baud =", "baudrate =")
    with pytest.raises(ConfigError, match="baudrate"):
        parse_config(tomllib.loads(bad))


async def run_supervised(cls, port: str, n: int) -> tuple[list, object]:
    got: list = []
    drivers: list = []
    done = asyncio.Event()

    def make():
        d = cls(SensorInfo("pir-hall", "hall", "line_motion"), cls.Settings(port=port))
        drivers.append(d)
        return d

    def deliver(r):
        got.append(r)
        if len(got) >= n:
            done.set()

    task = asyncio.create_task(supervise(make, deliver, min_delay=0.01, max_delay=0.05))
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        # Cancel until it sticks: on Python 3.11 asyncio.wait_for (used by the supervisor
        # around disconnect()) swallows a cancel that lands as its inner call finishes.
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.05)
    return got, drivers[0]


async def test_the_example_runs_under_the_supervisor_from_a_capture(plugin, tmp_path):
    capture = tmp_path / "pir.bin"
    capture.write_bytes(b"M1\r\nM0\nnoise\nM1\n")
    got, first = await run_supervised(plugin, f"file:{capture}", 3)
    assert [(r.kind, r.sensor, r.active) for r in got[:3]] == [
        ("motion", "pir-hall", True), ("motion", "pir-hall", False), ("motion", "pir-hall", True)]
    assert first.stats == {"lines": 3, "bad_lines": 1}


async def test_the_example_runs_under_the_supervisor_from_a_pty(plugin):
    port = PtyPort("line_motion")

    async def sensor() -> None:  # opening a port flushes its input, so keep talking
        while True:
            port.write(b"M1\nM0\n")
            await asyncio.sleep(0.1)

    talker = asyncio.create_task(sensor())
    try:
        got, driver = await run_supervised(plugin, port.path, 4)
    finally:
        talker.cancel()
        port.close()
    assert [r.active for r in got[:4]] == [True, False, True, False]
    assert driver.stats.get("bad_lines", 0) == 0
