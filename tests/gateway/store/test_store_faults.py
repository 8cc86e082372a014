"""The store under faults: its writer outlives bad events, nothing asked of a failed store
is dropped, and a seq is never given out twice, across failures and restarts."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from gateway.events import Event, new_event_id
from gateway.store import Store
from tests.support.db_files import crash_copy


def make_event(seq: int, type_name: str = "sos", **evidence: object) -> Event:
    now = time.time()
    return Event(id=new_event_id(), seq=seq, type=type_name, severity="critical", occurred_at=now,
                 detected_at=now, text={"fi": "a", "sv": "b", "en": "c"}, room="hall",
                 evidence=evidence)  # type: ignore[arg-type]


def rows(path) -> dict[str, str]:
    with crash_copy(path) as copy, sqlite3.connect(copy) as db:
        return dict(db.execute("SELECT id, state FROM events"))


async def break_store(store: Store) -> None:
    """SQLite answers every write as on a read-only mount."""
    assert store._db is not None
    await store._db.execute("PRAGMA query_only=ON")


async def mend_store(store: Store) -> None:
    assert store._db is not None
    await store._db.execute("PRAGMA query_only=OFF")


async def test_an_event_that_cannot_be_serialised_fails_alone_and_the_writer_lives_on(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    bad = make_event(1, weird=object())
    good = make_event(2)
    results = await asyncio.wait_for(
        asyncio.gather(store.insert(bad), store.insert(good), return_exceptions=True), 5)
    assert isinstance(results[0], TypeError) and results[1] is True
    # Every later insert still commits (before the fix: the writer was dead, this hung).
    assert await asyncio.wait_for(store.insert(make_event(3)), 5) is True
    stored = rows(tmp_path / "e.db")
    assert good.id in stored and bad.id not in stored and len(stored) == 2
    await asyncio.wait_for(store.close(), 5)


async def test_numpy_evidence_is_stored_as_plain_numbers(tmp_path):
    np = pytest.importorskip("numpy")
    store = Store(tmp_path / "e.db")
    await store.open()
    ev = make_event(1, peak=np.float32(2.5), count=np.int64(3))
    assert await asyncio.wait_for(store.insert(ev), 5) is True
    await store.close()


async def test_acks_and_sent_marks_made_while_failed_are_written_on_recovery(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    early = make_event(1)
    assert await store.insert(early) is True
    await break_store(store)
    during = make_event(2)
    assert await store.insert(during) is False  # degraded: memory holds it
    store.mark_sent(early.id, 1, True)
    store.mark_acked(early.id, "op-1", time.time())
    store.mark_sent(during.id, 1, True)
    store.mark_acked(during.id, "op-1", time.time())
    await store.flush()
    assert store.failed
    await mend_store(store)
    assert await store.insert(make_event(3)) is True  # the first commit that succeeds
    assert not store.failed
    states = rows(tmp_path / "e.db")
    assert states[early.id] == "acknowledged" and states[during.id] == "acknowledged"
    await store.close()
    reopened = Store(tmp_path / "e.db")
    await reopened.open()
    owed = [o.event.id for o in await reopened.undelivered()]
    assert early.id not in owed and during.id not in owed, "an acked alarm is never owed again"
    await reopened.close()


async def test_a_failed_store_recovers_by_itself_when_the_disk_works_again(tmp_path, monkeypatch):
    """Issue 26: recovery must not wait for the next alarm. An idle failed store probes
    the disk and writes what it owes (the alarm, its sent mark and its ack) on its own."""
    monkeypatch.setattr("gateway.store.writer.PROBE_EVERY_S", 0.2)
    recovered: list[bool] = []
    store = Store(tmp_path / "e.db", on_recovery=lambda: recovered.append(True))
    await store.open()
    await break_store(store)
    during = make_event(1)
    assert await store.insert(during) is False
    store.mark_sent(during.id, 1, True)
    store.mark_acked(during.id, "op-1", time.time())
    await store.flush()
    assert store.failed
    await mend_store(store)   # nothing else is asked of the store from here on
    for _ in range(50):
        if not store.failed:
            break
        await asyncio.sleep(0.1)
    assert store.failed is None and recovered == [True]
    assert rows(tmp_path / "e.db")[during.id] == "acknowledged"
    await store.close()


async def test_a_restart_after_a_failure_never_goes_back_below_a_reserved_seq(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    assert await store.last_seq() == 0
    store.reserve_seq(1000)  # the daemon reserves a block ahead before numbering
    for seq in (1, 2, 3):
        assert await store.insert(make_event(seq)) is True
    await break_store(store)
    for seq in range(4, 30):  # numbered and sent from memory, never committed
        assert await store.insert(make_event(seq)) is False
    # Crash: the process dies with the store still failed (nothing more is written).
    store._writer.cancel()  # type: ignore[union-attr]
    await asyncio.gather(store._writer, return_exceptions=True)  # type: ignore[arg-type]
    store._writer = None
    await store.close()
    again = Store(tmp_path / "e.db")
    await again.open()
    assert await again.last_seq() >= 1000, "the next number is above every one given out (29)"
    again.release_seq(40)  # a clean stop at seq 40 gives the unused block back ...
    await again.flush()
    assert await again.last_seq() == 40
    again.release_seq(2)  # ... but never below what was committed
    await again.flush()
    assert await again.last_seq() == 3
    await again.close()


async def test_a_failed_store_still_reads_its_backlog_and_last_seq(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    owed = make_event(7)
    await store.insert(owed)
    await break_store(store)
    assert await store.insert(make_event(8)) is False
    assert await store.last_seq() == 7, "a read-only store still knows where seq stands"
    assert [o.event.id for o in await store.undelivered()] == [owed.id]
    await store.close()


def test_a_failed_idle_store_stops_when_cancelled_with_a_write_just_queued(tmp_path):
    """A failed store waits for work or its next probe; a write queued and a cancel (a stop,
    or a SIGKILL simulated in-process) in the same loop turn must end the writer. Python
    3.11's wait_for returned the queued item and swallowed the cancel, so the writer lived on
    and every stop that awaited it hung (found by the stateful outbox/store test)."""
    with asyncio.Runner() as runner:
        store = Store(tmp_path / "e.db", batch_ms=0)
        runner.run(store.open())
        runner.run(_make_query_only(store))
        store.mark_acked(new_event_id(), "op-1", time.time())
        runner.run(asyncio.sleep(0.2))          # that write fails: the store is failed and idle
        assert store.failed is not None
        store.mark_acked(new_event_id(), "op-1", time.time())   # queued outside the loop...
        writer = store._writer
        assert writer is not None
        writer.cancel()                                         # ...and cancelled with it
        runner.run(asyncio.wait([writer], timeout=3))
        assert writer.done(), "the writer outlived its cancellation"
        store._writer = None
        runner.run(store.close())


async def _make_query_only(store: Store) -> None:
    assert store._db is not None
    await store._db.execute("PRAGMA query_only = ON")
