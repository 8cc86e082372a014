"""Reconnecting after broker outages: every outage starts with a fresh, short backoff.

A gateway that lived through five outages must come back as fast after the sixth as
after the first: the backoff protects a broker from a hammering gateway during one
outage, it is not a memory of old ones. Each outage is told once (one WARNING when it
starts, one INFO "reconnected" when it ends). A real mosquitto is stopped and started
again on the same port.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from gateway.config import HomeConfig, parse_config
from gateway.outbox import Outbox
from gateway.store import Store
from gateway.uplink import Uplink
from tests.support.broker import Mosquitto

OUTAGES = 6
OUTAGE_S = 1.5
BACK_WITHIN_S = 2.0 + 1.0   # the 2 s, plus slack for a loaded CI machine


def home(broker: Mosquitto, tmp: Path, **mqtt: float) -> HomeConfig:
    return parse_config({"gateway_id": "gw-rc", "site_id": "site-rc",
                         "mqtt": {"url": broker.url, **mqtt},
                         "storage": {"path": str(tmp / "rc.db")}}, env={})


async def test_backoff_starts_fresh_after_every_successful_session(mosquitto, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="safehome.uplink")
    # The old defaults (1 s doubling to 30 s): without a reset the 4th outage waits ~8 s.
    cfg = home(mosquitto, tmp_path, reconnect_min=1.0, reconnect_max=30.0)
    store = Store(cfg.storage.path)
    await store.open()
    uplink = Uplink(cfg, Outbox(), store, health=dict)
    task = asyncio.create_task(uplink.run())
    delays: list[float] = []
    try:
        await asyncio.wait_for(uplink.connected.wait(), 10)
        for _ in range(OUTAGES):
            connects = uplink.connects
            await asyncio.to_thread(mosquitto.stop)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(mosquitto.start)
            back = time.monotonic()
            deadline = back + 20
            while uplink.connects == connects or not uplink.connected.is_set():
                assert time.monotonic() < deadline, f"no reconnect in 20 s; delays so far {delays}"
                await asyncio.sleep(0.01)
            delays.append(time.monotonic() - back)
    finally:
        await uplink.stop()
        await asyncio.wait_for(task, 10)
        await store.close()
    print("reconnect delays after each outage (s):", [round(d, 2) for d in delays])
    assert max(delays) <= BACK_WITHIN_S, f"reconnect delays {[round(d, 2) for d in delays]}"
    records = [r for r in caplog.records if r.name == "safehome.uplink"]
    warnings = [r for r in records if r.levelno == logging.WARNING and "lost" in r.getMessage()]
    reconnected = [r for r in records if r.levelno == logging.INFO
                   and "reconnected" in r.getMessage()]
    assert len(warnings) == OUTAGES, [r.getMessage() for r in warnings]
    assert len(reconnected) == OUTAGES, [r.getMessage() for r in reconnected]
