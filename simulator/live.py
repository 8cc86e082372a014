"""The `simulated` driver: a scenario or a trace played in real time as if the sensors
were in the room, so the daemon, the demo and installers' dry runs exercise the very
same code path as real hardware.

Sensor times are shifted so the first reading is stamped "now" and the rest follow in
step with the wall clock (`speed` > 1 plays faster). Which sensors it plays: those named in
`sensors`; else, when the configured sensor's id is one of the scenario's, just that one
(so a config can list the scenario's sensors one by one, each `type = "simulated"`, and
get rooms, health and silence checks per sensor); else all of them, like a bridge.

Readings are handed over in batches: those due within each `batch_s` (0.5 s) go together
at the end of it, on a grid of the loop's clock that every simulated sensor and the
daemon's tick share (drivers/pacing.py). Each keeps its own timestamp, so the detectors
see the same samples; only their delivery is up to `batch_s` late, as from a bridge that
forwards in bursts. Why: one wake-up per reading (the demo's radar plays 10 frames a
second) was most of the idle demo home's CPU (issue 25). Real drivers hand each frame on
when it arrives; `batch_s = 0` plays this one that way too.

The scenario is rendered (or the trace read) in the simulated sensors' own process
(simulator/feed.py), not in the daemon: a real home's readings are made outside it too,
and the render's memory is not the daemon's (issue 25).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from importlib.resources import files
from pathlib import Path
from typing import AsyncIterator, ClassVar

from pydantic import Field, model_validator

from drivers.base import Driver, DriverSettings, DriverUnavailable
from drivers.pacing import next_tick, sleep_until
from sensordata.readings import Reading, shifted

#: Shipped scenarios: package data found through importlib.resources (works from a wheel).
SCENARIOS = Path(str(files("simulator") / "scenarios"))


class SimulatedSettings(DriverSettings):
    scenario: str | None = Field(None, title="Scenario TOML path, or the name of a shipped "
                                             "scenario such as 'demo'")
    trace: str | None = Field(None, title="Trace file to play instead of a scenario")
    seed: int = Field(0, title="Random seed for the scenario")
    speed: float = Field(1.0, gt=0, le=10000, title="Play this many times faster than real time")
    loop: bool = Field(False, title="Start again from the beginning when the end is reached")
    sensors: list[str] = Field(default_factory=list,
                               title="Only these sensor ids (default: every sensor)")
    batch_s: float = Field(0.5, ge=0, le=10, title="Hand over the readings due within each "
                           "this many seconds together (0: each one when it is due)")

    @model_validator(mode="after")
    def _one_source(self) -> "SimulatedSettings":
        if (self.scenario is None) == (self.trace is None):
            raise ValueError("give exactly one of 'scenario' or 'trace'")
        return self


def resolve_scenario(name: str) -> Path:
    p = Path(name)
    if p.exists():
        return p
    shipped = SCENARIOS / (name if name.endswith(".toml") else f"{name}.toml")
    if shipped.exists():
        return shipped
    raise DriverUnavailable(f"scenario {name!r} not found (shipped: "
                            f"{', '.join(s.stem for s in sorted(SCENARIOS.glob('*.toml')))})")


class SimulatedDriver(Driver[SimulatedSettings]):
    type_name: ClassVar[str] = "simulated"
    Settings = SimulatedSettings

    async def readings(self) -> AsyncIterator[Reading]:
        from simulator.feed_client import subscribe
        s = self.settings
        loop = asyncio.get_running_loop()
        while True:
            # rendered in the simulated sensors' own process (simulator/feed.py), as
            # hardware makes its readings outside the daemon
            # closed when the driver stops, however it stops: the child then ends with
            # the daemon's last simulated sensor (staged shutdown, no stray process)
            async with aclosing(subscribe(self.sensor.id, s.model_dump())) as source:
                first: float | None = None
                wall0 = released = 0.0
                async for arrival, item in source:
                    if first is None:   # the first reading is stamped "now", however long the
                        first = arrival   # simulated sensors' process took to start
                        wall0 = released = time.time()   # due by `released`: no waiting
                    due = wall0 + (arrival - first) / s.speed
                    delay = due - time.time()
                    if due > released and delay > 0:
                        if s.batch_s > 0:   # wake at the grid point after `due`, with the rest
                            at = loop.time() + delay   # `due` on the loop's clock
                            when = next_tick(s.batch_s, at)
                            released = due + (when - at)
                            await sleep_until(when)
                        else:
                            await asyncio.sleep(delay)
                    self.count("readings")
                    yield shifted(item, wall0 - first)
            if not s.loop:
                # A played-out source is a quiet sensor, not a broken one: real sensors do
                # not end, and ending would make the supervisor warn "stopped: reading
                # stream ended" and play the scenario again (a PIR that never fires in the
                # demo would do so at every start). The silence watchdog still applies.
                await asyncio.Event().wait()
