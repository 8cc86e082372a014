"""Core loops are owned: a detector bug is contained and reported, and a core loop that
dies stops the gateway with a non-zero exit code so that systemd restarts it."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path
from typing import Any

import pytest

from gateway.config import parse_config
from gateway.daemon import EXIT_CORE_FAILURE, Daemon
from gateway.pipeline import Pipeline
from sensordata.readings import FallFlag
from tests.support.broker import unreachable_port

T0 = 1_790_000_000.0


class BrokenTicker:
    """A detector double whose `tick` always raises (a bug in a detector's timer path)."""

    def feed(self, readings: Any) -> list[Any]:
        return []

    def tick(self, now: float) -> list[Any]:
        raise ZeroDivisionError("bug in tick")


def home(tmp: Path | None = None) -> Any:
    data: dict[str, Any] = {
        "gateway_id": "gw-1", "site_id": "site-1",
        "rooms": [{"id": "bath"}],
        "sensors": [{"id": "radar", "type": "demo", "room": "bath",
                     "settings": {"sos_after": None, "heart_rate": False}}],
        "alarm": {"cancel_window": 30},
    }
    if tmp is not None:
        data["mqtt"] = {"url": f"mqtt://127.0.0.1:{unreachable_port()}", "reconnect_min": 0.2,
                        "reconnect_max": 1}
        data["storage"] = {"path": str(tmp / "e.db")}
    return parse_config(data, env={})


def test_a_detector_that_raises_in_tick_is_contained_counted_and_reported_once(caplog):
    ids = (f"id-{i}" for i in itertools.count(1))
    p = Pipeline(home(), clock=lambda: T0, id_factory=lambda: next(ids))
    p.detectors["broken"] = BrokenTicker()
    p.feed([FallFlag("radar", T0, True)])
    with caplog.at_level(logging.ERROR, logger="safehome.pipeline"):
        events = p.tick(T0 + 10) + p.tick(T0 + 20) + p.tick(T0 + 31)
    kinds = [e.type for e in events]
    assert kinds.count("detector_failure") == 1, "reported once, not once per second"
    assert "fall" in kinds, "time still moves for the others: the cancel window closes"
    assert p.detector_failures == {"broken": 3}
    assert sum("detector broken failed" in r.getMessage() for r in caplog.records) == 1
    failure = next(e for e in events if e.type == "detector_failure")
    assert "broken" in failure.text["en"] and failure.evidence == {}


@pytest.mark.parametrize("loop", ["tick", "feed"])
async def test_a_core_loop_that_dies_stops_the_gateway_with_a_failure_exit_code(
        tmp_path, monkeypatch, loop):
    def bug(self: Pipeline, *args: Any) -> Any:
        raise RuntimeError(f"bug in {loop}")

    monkeypatch.setattr(Pipeline, loop, bug)
    daemon = Daemon(home(tmp_path))
    rc = await asyncio.wait_for(daemon.run(), timeout=30)
    assert rc == EXIT_CORE_FAILURE


async def test_an_event_the_store_cannot_hold_still_goes_out_from_memory(tmp_path):
    import time

    from gateway.events import Event, new_event_id
    daemon = Daemon(home(tmp_path))
    await daemon.store.open()
    now = time.time()
    odd = Event(new_event_id(), 1, "sos", "critical", now, now, {"en": "x"},
                evidence={"why": object()})  # type: ignore[dict-item]
    fine = Event(new_event_id(), 2, "sos", "critical", now, now, {"en": "y"})
    try:
        await asyncio.wait_for(daemon.emit([odd, fine]), 5)  # before the fix: waited forever
        assert set(daemon.outbox.entries) == {odd.id, fine.id}
        assert await asyncio.wait_for(daemon.store.insert(
            Event(new_event_id(), 3, "sos", "critical", now, now, {"en": "z"})), 5) is True
    finally:
        await daemon.store.close()
