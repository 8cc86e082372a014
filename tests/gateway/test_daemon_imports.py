"""The daemon stays lean (issue 25: the demo home's RSS): what `safehome run` imports at
start, and what its hot path imports while running, leave out the heavy optional parts.

Each check runs in a fresh interpreter (this one has imported half the world), and each
names a module that the daemon once loaded or could easily load again by a top-level
import: recording and trace files (mcap, zstd), evaluation and reports, plotting, the
radio drivers, numpy's optional subpackages. Import them where they are used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Heavy and optional for a running gateway: never in the import closure at start.
NOT_AT_START = [
    "numpy.ma", "numpy.fft", "numpy.polynomial", "numpy.random",   # numpy.random: the simulator's, lazily
    "mcap", "zstandard", "lz4",                                     # trace files
    "gateway.trace.recorder", "sensordata.trace.writer", "sensordata.trace.reader",
    "gateway.evaluation.runner", "gateway.report.data", "gateway.care_report",
    "matplotlib", "scipy", "rich", "cryptography", "segno", "bleak", "serial",
    # the other commands (gateway/cli.py imports only the one it runs) and --version's lookup
    "gateway.commands.demo", "gateway.commands.evaluate", "gateway.commands.centre",
    "gateway.commands.trace", "gateway.commands.replay", "gateway.version",
    "aiohttp", "gateway.console",                                   # loaded when first opened
]

START = """
import json, sys, tempfile
from pathlib import Path
import gateway.cli
gateway.cli.build_parser("run")                 # what `safehome run` imports first
import gateway.commands.run
from gateway.config import StorageConfig, load_config
from gateway.daemon import Daemon
cfg = load_config(sys.argv[1])
cfg = cfg.model_copy(update={"storage": StorageConfig.model_validate(
    {**cfg.storage.model_dump(), "path": Path(tempfile.mkdtemp()) / "e.db"})})
Daemon(cfg)                                     # drivers, pipeline and detectors built
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(code: str, *args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_daemon_start_leaves_out_the_heavy_optional_modules() -> None:
    mods = modules_after(START, str(REPO / "examples" / "demo-home.toml"))
    assert "gateway.commands.run" in mods
    assert {"gateway.daemon", "detectors.radar_fall", "simulator.live", "numpy"} <= mods  # it ran
    loaded = sorted(m for m in mods if m in NOT_AT_START or m.split(".")[0] in NOT_AT_START)
    assert loaded == [], f"imported at daemon start: {loaded}"


def test_radar_fall_detection_does_not_import_numpy_ma() -> None:
    # np.median's NaN check imported numpy.ma (1.3 MB) into the running daemon at the
    # first fall candidate; the detector's _median gives the same value without it
    code = """
import json, sys
from tests.support.home_stream import of_type, run
from tests.detectors.test_radar_fall import FALL, frames, make
assert of_type(run(make(), frames(FALL)), "fall_suspected")
print(json.dumps(sorted(sys.modules)))
"""
    mods = modules_after(code)
    assert "detectors.radar_fall" in mods and "numpy.ma" not in mods


def test_simulated_sensors_render_in_their_own_process_not_the_daemon() -> None:
    # the demo home's scenario is rendered by simulator/feed.py (issue 25: 7.5 MiB of the
    # daemon's 66 was the render: numpy.random, the engine, its temporaries); the daemon
    # gets the readings, never the simulator
    code = """
import asyncio, json, sys
from drivers.base import SensorInfo
from simulator.live import SimulatedDriver, SimulatedSettings

async def main():
    driver = SimulatedDriver(SensorInfo("radar-living", "living", "simulated", "wall"),
                             SimulatedSettings(scenario="demo", sensors=["radar-living"],
                                               speed=100))
    n = 0
    async for _ in driver.readings():
        n += 1
        if n == 300:
            return n
print(asyncio.run(main()), file=sys.stderr)
print(json.dumps(sorted(sys.modules)))
"""
    mods = modules_after(code)
    assert "simulator.live" in mods and "sensordata.readings" in mods
    leaked = sorted(m for m in mods if m.startswith(("numpy.random", "simulator.engine",
                                                     "simulator.scenario", "simulator.routine")))
    assert leaked == [], f"the simulator ran in the daemon's process: {leaked}"
