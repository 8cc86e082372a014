"""Does the installer's console slow the alarm path? Alarm latency with the console off,
on but idle, and on under load from another process.

A real mosquitto on a free port and the real daemon in this process; alarms (SOS presses)
and 20 Hz radar frames of 100 points are injected as readings, so the console's reading
tap sees a radar's load. Latency = PUBACK received minus the moment the pipeline made the
event (as in benchmarks/latency.py). The load is a separate process: "pages" is two open
pages (live streams, events every 2 s, the checklist every 5 s); "flood" is 4 live streams
and 4 clients asking /api/sensors, /api/radar, /api/events and /api/doctor as fast as they
are answered (the console refuses what exceeds its request budget with 429).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401
import numpy as np
from _util import percentile

from gateway.config import parse_config
from gateway.console.attach import attach_console
from gateway.daemon import Daemon
from sensordata.readings import Button, RadarPoints

LOAD = r'''
import asyncio, sys, time
import aiohttp
base, seconds, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
count = {"answers": 0, "refused": 0, "stream_bytes": 0}
async def poll(s, path, every=0.0):
    end = time.monotonic() + seconds
    while time.monotonic() + every < end:
        await asyncio.sleep(every)
        async with s.get(base + path) as r:
            await r.read()
            count["answers" if r.status == 200 else "refused"] += 1
            if r.status == 429:
                await asyncio.sleep(0.01)
async def stream(s):
    try:
        async with s.get(base + "/api/stream", timeout=aiohttp.ClientTimeout(total=seconds)) as r:
            async for chunk in r.content.iter_any():
                count["stream_bytes"] += len(chunk)
    except asyncio.TimeoutError:
        pass
async def main():
    async with aiohttp.ClientSession() as s:
        if mode == "pages":  # two phones with the page open, one on the checklist
            await asyncio.gather(stream(s), stream(s), poll(s, "/api/events", 2.0), poll(s, "/api/doctor", 5.0))
        else:
            await asyncio.gather(*(stream(s) for _ in range(4)), *(poll(s, p) for p in
                                 ("/api/sensors", "/api/radar", "/api/events", "/api/doctor")))
asyncio.run(main())
print(f"load: {count['answers'] / seconds:.0f} API answers/s, {count['refused'] / seconds:.0f}/s refused "
      f"(429), {count['stream_bytes'] / seconds / 1024:.1f} KiB/s of live stream")
'''


async def phase(tmp: Path, broker_url: str, name: str, console: bool, load: str | None, n: int,
                rate: float) -> None:
    from tests.support.broker import free_port
    port = free_port()
    data = {"gateway_id": "gw-bench", "site_id": "site-bench", "rooms": [{"id": "hall"}],
            "sensors": [], "mqtt": {"url": broker_url, "heartbeat_interval": 60},
            "storage": {"path": str(tmp / f"{name}.db")}}
    if console:
        data["console"] = {"listen": f"127.0.0.1:{port}"}
    daemon = Daemon(parse_config(data, env={}))
    attach_console(daemon)  # as `safehome run` does; nothing when the console is off
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.uplink.connected.wait(), 10)
    seconds = n / rate
    loader = None
    if load:
        loader = subprocess.Popen([sys.executable, "-c", LOAD, f"http://127.0.0.1:{port}", str(seconds), load],
                                  stdout=subprocess.PIPE, text=True)
        await asyncio.sleep(1.0)  # streams open
    rng = np.random.default_rng(0)
    frames_per_alarm = max(1, round(20 / rate))
    for i in range(n):
        await daemon.readings.put(Button("pendant", time.time(), "sos"))
        for _ in range(frames_per_alarm):
            pts = rng.normal([0, 2, 1, 0, 20], [0.3, 0.3, 0.4, 0.2, 3], (100, 5)).astype(np.float32)
            await daemon.readings.put(RadarPoints("radar", time.time(), i, pts))
            await asyncio.sleep(1.0 / rate / frames_per_alarm)
    deadline = time.monotonic() + 10
    while len(daemon.uplink.latencies) < n + 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    daemon.stop_requested.set()
    await task
    lat = [x * 1000 for x in daemon.uplink.latencies[1:]]  # skip gateway_started
    print(f"{name:<22} alarms {len(lat)} at {rate:.0f}/s: p50 {percentile(lat, 50):.2f} ms, "
          f"p99 {percentile(lat, 99):.2f} ms, max {max(lat):.2f} ms")
    if loader is not None:
        out, _ = loader.communicate(timeout=30)
        print(f"{'':<22} {out.strip()}")


async def main(n: int, rate: float) -> None:
    import logging
    logging.basicConfig(level=logging.ERROR)
    from tests.support.broker import Mosquitto
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            for name, console, load in (("console off", False, None), ("console on, idle", True, None),
                                        ("console on, 2 pages", True, "pages"),
                                        ("console on, flooded", True, "flood")):
                await phase(Path(tmp), broker.url, name, console, load, n, rate)
        finally:
            broker.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=300, help="alarms per phase")
    ap.add_argument("--rate", type=float, default=20.0, help="alarms per second")
    a = ap.parse_args()
    asyncio.run(main(a.n, a.rate))
