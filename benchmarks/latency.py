"""Detection-to-broker-acknowledgement latency on loopback: p50 / p99.

A real mosquitto on a free port, the real daemon (in this process), alarms injected as
readings at a steady rate. Latency = PUBACK received minus the moment the pipeline made
the event; it includes the SQLite commit (synchronous=FULL) that must precede sending.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401
from _util import percentile

from gateway.config import parse_config
from gateway.daemon import Daemon
from sensordata.readings import Button


async def measure(n: int, rate: float) -> None:
    import logging
    logging.basicConfig(level=logging.ERROR)
    from tests.support.broker import Mosquitto

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            cfg = parse_config({
                "gateway_id": "gw-bench", "site_id": "site-bench", "rooms": [{"id": "hall"}],
                "sensors": [], "mqtt": {"url": broker.url, "heartbeat_interval": 60},
                "storage": {"path": str(Path(tmp) / "bench.db")}}, env={})
            daemon = Daemon(cfg)
            task = asyncio.create_task(daemon.run())
            await asyncio.wait_for(daemon.uplink.connected.wait(), 10)
            for _ in range(n):
                await daemon.readings.put(Button("pendant", time.time(), "sos"))
                await asyncio.sleep(1.0 / rate)
            deadline = time.monotonic() + 10
            while len(daemon.uplink.latencies) < n + 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            daemon.stop_requested.set()
            await task
            lat = [x * 1000 for x in daemon.uplink.latencies[1:]]  # skip gateway_started
        finally:
            broker.stop()
    print(f"latency detection->PUBACK over {len(lat)} alarms at {rate:.0f}/s: "
          f"p50 {percentile(lat, 50):.2f} ms, p99 {percentile(lat, 99):.2f} ms, max {max(lat):.2f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="alarms per second")
    a = ap.parse_args()
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        raise SystemExit("needs mosquitto (apt install mosquitto)")
    asyncio.run(measure(a.n, a.rate))
