"""One failure of the store gives one `storage_failure` event, also when it shows up while
the gateway starts (first at open, then again on the first reads)."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.daemon import Daemon
from gateway.store import Store, StoredEvent
from tests.gateway.test_daemon_core_loops import home


async def test_a_store_failing_during_start_up_is_reported_once(tmp_path, monkeypatch):
    async def failing_read(self: Store) -> list[StoredEvent]:
        self._fail("disk I/O error")  # the backlog read fails after the pipeline exists
        return []

    monkeypatch.setattr(Store, "undelivered", failing_read)
    daemon = Daemon(home(tmp_path))
    asyncio.get_running_loop().call_later(1.5, daemon.stop_requested.set)
    assert await asyncio.wait_for(daemon.run(), 30) == 0
    owed: list[Any] = [e.event.type for e in daemon.outbox.entries.values()]
    assert owed.count("storage_failure") == 1, owed
