"""How an event leaves the gateway (gateway/emit_policy.py), against a real SQLite store:
committed before anything may send it, one commit per batch with the cancel window it
changed, and what changes while the store cannot write (a full disk, made with SQLite's
own page limit)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Iterable

from gateway.config import StorageConfig
from gateway.emit_policy import EmitPolicy
from gateway.events import Event, new_event_id
from gateway.outbox import Outbox
from gateway.pipeline import ALARM_FLOW_STATE, Pipeline
from tests.gateway.test_daemon_core_loops import home


def event(seq: int, type_name: str = "sos", severity: str = "critical") -> Event:
    now = time.time()
    return Event(new_event_id(), seq, type_name, severity, now, now, {"en": f"event {seq}"})


class WatchedOutbox(Outbox):
    """The real outbox, noting how many commits the store had made when each event came."""

    def __init__(self) -> None:
        super().__init__(ack_timeout=30, expire_after=3600, escalate_after=90)
        self.policy: EmitPolicy | None = None
        self.commits_at_add: dict[str, int] = {}

    def add(self, ev: Event, attempts: int = 0) -> None:
        assert self.policy is not None
        self.commits_at_add[ev.id] = self.policy.store.commits
        super().add(ev, attempts=attempts)


async def policy_for(tmp_path: Path, cancel_window: float = 30.0,
                     pipeline: bool = True) -> tuple[EmitPolicy, WatchedOutbox]:
    outbox = WatchedOutbox()
    policy = EmitPolicy(StorageConfig(path=tmp_path / "e.db"), outbox, cancel_window)
    outbox.policy = policy
    await policy.store.open()
    if pipeline:
        policy.start(Pipeline(home(tmp_path)))
    return policy, outbox


async def fill_the_disk(policy: EmitPolicy) -> None:
    db = policy.store._db
    assert db is not None
    size = (await (await db.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
    await db.execute(f"PRAGMA max_page_count={size}")


async def free_the_disk(policy: EmitPolicy) -> None:
    assert policy.store._db is not None
    await policy.store._db.execute("PRAGMA max_page_count=1073741823")


async def test_an_event_is_committed_before_it_is_queued_and_a_batch_shares_one_commit(tmp_path):
    policy, outbox = await policy_for(tmp_path)
    before = policy.store.commits
    batch = [event(1), event(2, "sensor_restored", "info")]
    await policy.emit(batch)
    assert policy.store.commits == before + 1, "one commit for the batch"
    assert all(outbox.commits_at_add[e.id] == before + 1 for e in batch), "queued after the commit"
    assert [s.event.id for s in await policy.store.undelivered()] == [e.id for e in batch]
    await policy.store.close()


async def test_the_cancel_window_it_changed_is_in_the_same_commit_as_the_events(tmp_path):
    policy, _ = await policy_for(tmp_path)
    assert policy.pipeline is not None
    policy.pipeline.flow.changed = True
    before = policy.store.commits
    await policy.emit([event(1)])
    assert policy.store.commits == before + 1 and not policy.pipeline.flow.changed
    assert ALARM_FLOW_STATE in await policy.store.load_detector_state()
    await policy.store.close()


async def test_silenced_events_are_dropped_and_the_others_reach_every_follower(tmp_path, caplog):
    policy, outbox = await policy_for(tmp_path)
    calls: dict[str, list[Any]] = {"second": [], "mirror": [], "prompt": []}

    class Silence:
        def filter(self, events: Iterable[Event]) -> list[Event]:
            return [e for e in events if e.type != "sensor_silent"]

    class Second:
        def add(self, e: Event) -> None:
            calls["second"].append(e.type)

    class Mirror:
        def alarm(self, e: Event) -> None:
            calls["mirror"].append(e.type)

    class BrokenPrompt:
        def notice(self, events: Iterable[Event]) -> None:
            calls["prompt"].append([e.type for e in events])
            raise RuntimeError("speaker unplugged")

    policy.commands, policy.second_path = Silence(), Second()
    policy.alarm_mirror, policy.prompt = Mirror(), BrokenPrompt()
    with caplog.at_level(logging.ERROR, logger="safehome.daemon"):
        await policy.emit([event(1), event(2, "sensor_silent", "warning"),
                           event(3, "sensor_restored", "info")])
    assert calls == {"second": ["sos", "sensor_restored"], "mirror": ["sos"],
                     "prompt": [["sos", "sensor_restored"]]}
    assert sorted(e.event.type for e in outbox.entries.values()) == ["sensor_restored", "sos"]
    assert "local prompt failed; the alarm flow is not affected" in caplog.text
    await policy.store.close()


async def test_a_full_disk_is_reported_once_takes_the_cancel_window_and_gives_it_back(tmp_path):
    policy, outbox = await policy_for(tmp_path, cancel_window=30.0)
    assert policy.pipeline is not None
    flow = policy.pipeline.flow
    await policy.emit([event(1)])
    await fill_the_disk(policy)
    await policy.emit([event(n) for n in range(2, 300)])
    await policy.emit([event(300)])
    assert policy.store.failed and flow.cancel_window == 0.0
    owed = [e.event.type for e in outbox.entries.values()]
    assert owed.count("storage_failure") == 1, "one report per failure, not one per write"
    assert len(owed) == 301, "every event goes on from memory"
    await free_the_disk(policy)
    await policy.emit([event(301)])
    assert policy.store.failed is None and flow.cancel_window == 30.0
    stored = [s.event.type for s in await policy.store.undelivered()]
    assert stored.count("storage_failure") == 1, "the report is written once the store works"
    await fill_the_disk(policy)
    await policy.emit([event(n) for n in range(302, 600)])
    owed = [e.event.type for e in outbox.entries.values()]
    assert owed.count("storage_failure") == 2, "a new failure is reported again"
    await policy.store.close()


async def test_a_store_failed_at_open_is_reported_by_the_start_up_events_once(tmp_path):
    (tmp_path / "e.db").write_bytes(b"this is not a database" * 100)
    policy, outbox = await policy_for(tmp_path, pipeline=False)
    assert policy.store.failed and not outbox.entries, "nothing raised before the pipeline"
    pipeline = Pipeline(home(tmp_path))
    policy.start(pipeline)
    assert pipeline.flow.cancel_window == 0.0, "no cancel window without a store"
    report = policy.startup_report()
    assert [e.type for e in report] == ["storage_failure"]
    assert policy.startup_report() == []
    await policy.emit(report)
    policy.storage_failed("still not a database")  # the store's callback, again
    assert [e.event.type for e in outbox.entries.values()] == ["storage_failure"]
    await policy.store.close()
