"""The `simulated` driver: a scenario or a trace played in real time as if the sensors
were in the room, so the daemon, the demo and installers' dry runs exercise the very
same code path as real hardware.

Sensor times are shifted so the first reading is stamped "now" and the rest follow in
step with the wall clock (`speed` > 1 plays faster). The driver serves every sensor of
the scenario (like a bridge serving several devices) unless `sensors` names a subset;
the home's config must list those sensor ids for detectors to know their rooms.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, AsyncIterator, ClassVar, Iterator

from pydantic import Field, model_validator

from drivers.base import Driver, DriverSettings, DriverUnavailable
from gateway.readings import Reading

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class SimulatedSettings(DriverSettings):
    scenario: str | None = Field(None, title="Scenario TOML path, or the name of a shipped "
                                             "scenario such as 'demo'")
    trace: str | None = Field(None, title="Trace file to play instead of a scenario")
    seed: int = Field(0, title="Random seed for the scenario")
    speed: float = Field(1.0, gt=0, le=10000, title="Play this many times faster than real time")
    loop: bool = Field(False, title="Start again from the beginning when the end is reached")
    sensors: list[str] = Field(default_factory=list,
                               title="Only these sensor ids (default: every sensor)")

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


class SimulatedDriver(Driver):
    type: ClassVar[str] = "simulated"
    Settings = SimulatedSettings

    def _source(self) -> Iterator[tuple[float, Any]]:
        s: SimulatedSettings = self.settings  # type: ignore[assignment]
        if s.trace is not None:
            from gateway.readings import reading_time
            from gateway.trace.reader import TraceReader
            if not Path(s.trace).exists():
                raise DriverUnavailable(f"trace file {s.trace} not found")
            for r in TraceReader(s.trace).readings():
                yield reading_time(r), r
            return
        from simulator.engine import Simulation
        from simulator.scenario import load_scenario
        sim = Simulation(load_scenario(resolve_scenario(s.scenario or "")), s.seed)
        yield from sim.items()

    async def readings(self) -> AsyncIterator[Reading]:
        from gateway.trace.model import Label
        from simulator.imperfect import retime
        s: SimulatedSettings = self.settings  # type: ignore[assignment]
        only = set(s.sensors)
        while True:
            first: float | None = None
            wall0 = time.time()
            for arrival, item in self._source():
                if isinstance(item, Label) or (only and item.sensor not in only):
                    continue
                if first is None:
                    first = arrival
                due = wall0 + (arrival - first) / s.speed
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                offset = wall0 - first
                self.count("readings")
                yield retime(item, lambda x, o=offset: x + o)
            if not s.loop:
                return
