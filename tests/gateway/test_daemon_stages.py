"""The daemon as a lifecycle Component (gateway/lifecycle.py): parts attached from outside
(the console) are contained both ways, and a step that hangs at shutdown is cut off at
its stage's timeout while the later stages (the store's close) still run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from gateway.daemon import ATTACHED, SHUTDOWN_STAGES, Daemon
from gateway.lifecycle import Stage
from tests.gateway.test_daemon_core_loops import home


@contextlib.asynccontextmanager
async def hangs_at_stop(seen: list[str]) -> AsyncIterator[None]:
    seen.append("entered")
    yield
    seen.append("stopping")
    await asyncio.sleep(3600)


@contextlib.asynccontextmanager
async def fails_to_start() -> AsyncIterator[None]:
    raise OSError("port taken")
    yield  # pragma: no cover


async def test_attached_parts_are_contained_and_a_hung_one_is_cut_off_at_its_stage(tmp_path, caplog):
    daemon = Daemon(home(tmp_path))
    daemon.stages = tuple(Stage(ATTACHED.name, 0.5) if s is ATTACHED else s for s in SHUTDOWN_STAGES)
    seen: list[str] = []
    daemon.attach("broken", fails_to_start())
    daemon.attach("hung", hangs_at_stop(seen))
    asyncio.get_running_loop().call_later(1.0, daemon.stop_requested.set)
    with caplog.at_level(logging.INFO):
        assert await asyncio.wait_for(daemon.run(), 30) == 0
    assert seen == ["entered", "stopping"]
    assert "broken failed to start; the gateway runs on without it" in caplog.text
    assert "shutdown stage 'attached parts' overran its 0.5 s; step 'hung' cancelled" in caplog.text
    assert "stopped cleanly" in caplog.text
    assert daemon.store._db is None, "the final stage closed the store"
