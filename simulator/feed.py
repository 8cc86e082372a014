"""The simulated sensors' own process: renders scenarios and plays traces for the daemon's
`simulated` drivers (simulator/live.py), as hardware would produce readings outside it.

Why a process of its own: the simulator is a stand-in for hardware, and in a real home
the readings are made outside the daemon (a radar's DSP, a wearable's firmware). Run in
the daemon, rendering the demo home's streams cost it about 7.5 MiB of its 66 (numpy's
random generators and their tables, the render's temporaries and the simulator's own
code; issue 25): memory a real home's daemon never carries. One process serves every
simulated sensor of a daemon (simulator/feed_client.py), so the demo pays for one
simulator, not one per sensor.

    python -m simulator.feed        (started by the daemon; stdin and stdout are pipes)

Protocol (both ways little-endian, one daemon, many subscriptions):
- stdin, one JSON object a line: `{"op": "open", "sub": K, "sensor": ID, "settings":
  {...}}` starts subscription K (the `simulated` driver's settings for sensor ID; the
  same choice of sensors as simulator/live.py documents); `{"op": "credit", "sub": K,
  "n": N}` allows N more readings; `{"op": "close", "sub": K}` ends it.
- stdout, frames `<IBI` (subscription, type, length) and `length` bytes: type 0 a
  reading, the pickle of `(arrival time, reading)`; 1 the source has played out; 2 the
  source cannot be opened, the message in UTF-8.
Readings are made only against credit, so the process never runs ahead of the daemon by
more than its window, whatever the scenario's length or `speed`. End of stdin (the daemon
stopped, or was killed) ends the process.
"""

from __future__ import annotations

import json
import os
import pickle
import selectors
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO, Iterator

FRAME = struct.Struct("<IBI")
READING, END, ERROR = 0, 1, 2
BURST = 64          # readings made for one subscription before stdin is looked at again


def source(sensor: str, settings: dict[str, Any]) -> Iterator[tuple[float, Any]]:
    """(arrival time, reading) of the sensors this driver plays, Labels left out."""
    from sensordata.trace.model import Label
    from simulator.live import SimulatedSettings, resolve_scenario
    s = SimulatedSettings.model_validate(settings)
    if s.trace is not None:
        from sensordata.readings import reading_time
        from sensordata.trace.reader import TraceReader
        if not Path(s.trace).exists():
            raise LookupError(f"trace file {s.trace} not found")
        reader = TraceReader(s.trace)
        ids = {i.sensor for i in reader.streams()}
        only = set(s.sensors) or ({sensor} if sensor in ids else set())
        items: Iterator[tuple[float, Any]] = ((reading_time(r), r) for r in reader.readings())
    else:
        from simulator.engine import Simulation
        from simulator.scenario import load_scenario
        scn = load_scenario(resolve_scenario(s.scenario or ""))
        ids = {spec.id for spec in scn.sensors}
        only = set(s.sensors) or ({sensor} if sensor in ids else set())
        items = Simulation(scn, s.seed, sensors=(only & ids) if only else None).items()
    for arrival, item in items:
        if isinstance(item, Label) or (only and item.sensor not in only):
            continue
        yield arrival, item


class Feed:
    """The subscriptions and what is owed to each."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.subs: dict[int, Iterator[tuple[float, Any]]] = {}
        self.credit: dict[int, int] = {}

    def send(self, sub: int, kind: int, payload: bytes = b"") -> None:
        self.out.write(FRAME.pack(sub, kind, len(payload)) + payload)

    def command(self, line: bytes) -> None:
        cmd = json.loads(line)
        sub = int(cmd["sub"])
        if cmd["op"] == "open":
            self.subs[sub], self.credit[sub] = source(cmd["sensor"], cmd["settings"]), 0
        elif cmd["op"] == "credit" and sub in self.subs:
            self.credit[sub] += int(cmd["n"])
        elif cmd["op"] == "close":
            self.subs.pop(sub, None)
            self.credit.pop(sub, None)

    def produce(self) -> None:
        """Up to BURST readings for each subscription that has credit."""
        for sub in [k for k, c in self.credit.items() if c > 0]:
            items = self.subs[sub]
            try:
                for _ in range(min(BURST, self.credit[sub])):
                    self.send(sub, READING, pickle.dumps(next(items), protocol=5))
                    self.credit[sub] -= 1
            except StopIteration:
                self.send(sub, END)
                del self.subs[sub], self.credit[sub]
            except Exception as exc:  # noqa: BLE001 - any failure to play is told to the driver
                self.send(sub, ERROR, str(exc).encode())
                del self.subs[sub], self.credit[sub]
        self.out.flush()


def main() -> int:
    feed = Feed(sys.stdout.buffer)
    sel = selectors.DefaultSelector()
    stdin = sys.stdin.buffer.fileno()
    sel.register(stdin, selectors.EVENT_READ)
    pending = b""
    try:
        while True:
            busy = any(c > 0 for c in feed.credit.values())
            if sel.select(timeout=0 if busy else None):
                data = os.read(stdin, 65536)
                if not data:
                    return 0                      # the daemon is gone
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        feed.command(line)
            feed.produce()
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    sys.exit(main())
