"""Stopping always stops: a task that swallowed its cancellation is cancelled again.

On Python 3.11 (Debian 12, the product's runtime) `asyncio.wait_for` returns the result
instead of raising when the cancellation comes in the same loop turn as that result.
aiomqtt waits for every PUBACK with wait_for, so the uplink's heartbeat loop, cancelled
as its PUBACK arrived, went on to its next sleep, and the session's `gather` of its
cancelled tasks waited forever: `Uplink.stop()` never ended (seen in CI as a 10 s
timeout). These tests make that race happen for real and check that every place that
stops tasks survives it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from gateway.config import parse_config
from gateway.outbox import Outbox
from gateway.store import Store
from gateway.task_cancel import cancel_and_wait
from gateway.uplink import Uplink


async def _loop_cancelled_as_its_result_arrives() -> tuple[asyncio.Task[None], list[int]]:
    """A loop like the heartbeat's: wait_for a confirmation, then sleep. Returns it
    cancelled in the very loop turn its confirmation completed."""
    confirmed = asyncio.Event()
    rounds: list[int] = []

    async def loop() -> None:
        while True:
            await asyncio.wait_for(confirmed.wait(), 5)
            rounds.append(1)
            confirmed.clear()
            await asyncio.sleep(3600)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)          # the loop now waits inside wait_for
    confirmed.set()
    await asyncio.sleep(0)          # the inner wait completes; its waiter is not released yet
    task.cancel()                   # ... and the cancellation lands in the same turn
    return task, rounds


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for no longer swallows on 3.12+")
async def test_on_311_a_plain_cancel_and_gather_can_wait_forever():
    task, rounds = await _loop_cancelled_as_its_result_arrives()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(asyncio.gather(task, return_exceptions=True)), 0.5)
    assert rounds == [1] and not task.done()   # the loop went on to its sleep
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_cancel_and_wait_ends_a_task_that_swallowed_its_cancellation():
    task, _ = await _loop_cancelled_as_its_result_arrives()
    t0 = time.monotonic()
    await asyncio.wait_for(cancel_and_wait([task]), 5)
    assert task.done() and time.monotonic() - t0 < 2


async def test_cancel_and_wait_leaves_finished_tasks_and_their_errors_alone():
    async def boom() -> None:
        raise ValueError("kept")

    failed = asyncio.create_task(boom())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(asyncio.sleep(3600))
    await cancel_and_wait([failed, waiting])
    assert isinstance(failed.exception(), ValueError)
    assert waiting.cancelled()
    await cancel_and_wait([])      # nothing to do is fine


async def test_the_uplink_stops_even_when_a_heartbeat_publish_swallows_its_cancellation(
        mosquitto, tmp_path: Path, monkeypatch, caplog):
    """The real broker and client; the heartbeat's publish behaves as 3.11's wait_for does
    when its PUBACK and the cancellation arrive together: it returns normally."""
    caplog.set_level(logging.DEBUG, logger="safehome")
    real_publish = aiomqtt.Client.publish
    swallowed: list[str] = []

    async def publish(self: aiomqtt.Client, topic: str, *a: Any, **kw: Any) -> None:
        if not topic.endswith("/heartbeat"):
            return await real_publish(self, topic, *a, **kw)
        try:
            await real_publish(self, topic, *a, **kw)
            await asyncio.sleep(3600)       # keeps the heartbeat "in flight" until cancelled
        except asyncio.CancelledError:
            swallowed.append(topic)         # ... and the cancellation is lost
        return None

    monkeypatch.setattr(aiomqtt.Client, "publish", publish)
    cfg = parse_config({"gateway_id": "gw-tc", "site_id": "site-tc",
                        "mqtt": {"url": mosquitto.url},
                        "storage": {"path": str(tmp_path / "tc.db")}}, env={})
    store = Store(cfg.storage.path)
    await store.open()
    uplink = Uplink(cfg, Outbox(), store, health=dict)
    task = asyncio.create_task(uplink.run())
    try:
        await asyncio.wait_for(uplink.connected.wait(), 10)
        await asyncio.sleep(0.3)
        await uplink.stop()
        await asyncio.wait_for(task, 10)
    finally:
        if not task.done():
            task.cancel()
        await store.close()
    assert swallowed, "the heartbeat publish was never cancelled: the test did not test"
    assert uplink.state == "stopped"
    assert "outlived their cancellation" in caplog.text
