"""Store operations are typed (gateway/store/operations.py): what the writer cannot
dispatch is refused when it is queued, each kind of update reaches its own SQL, and
updates asked of a failed store wait in memory once per key, the latest ask winning."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time

import pytest

from gateway.events import Event, new_event_id
from gateway.store import Store
from gateway.store.operations import (
    OPERATIONS,
    UPDATES,
    Flush,
    MarkAcked,
    MarkExpired,
    MarkSent,
    ReserveSeq,
    SaveDetectorState,
    check,
    update_key,
)
from tests.support.db_files import crash_copy


def _alarm(seq: int) -> Event:
    now = time.time()
    return Event(id=new_event_id(), seq=seq, type="sos", severity="critical", occurred_at=now,
                 detected_at=now, text={"fi": "a", "sv": "b", "en": "c"}, room="hall")


def _rows(path) -> dict[str, tuple[object, ...]]:
    with crash_copy(path) as copy, sqlite3.connect(copy) as db:
        return {r[0]: r[1:] for r in db.execute("SELECT id, state, attempts, acked_by FROM events")}


@pytest.mark.parametrize("bad", [("sent", ("id", 1, True, 0.0), None), "flush", None, {"op": "acked"}],
                         ids=["old-tuple", "string", "none", "dict"])
async def test_anything_but_an_operation_is_a_type_error_when_queued(tmp_path, bad) -> None:
    store = Store(tmp_path / "e.db")
    await store.open()
    try:
        with pytest.raises(TypeError, match="the store's writer takes Insert, MarkSent"):
            store.submit(bad)
        assert await store.insert(_alarm(1)) is True, "the writer goes on"
        assert store.writer_errors == 0
    finally:
        await store.close()


def test_operations_are_frozen_and_each_kind_is_named_once() -> None:
    op = MarkSent("e1", 1, True, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.attempts = 2  # type: ignore[misc]
    kinds = [t.kind for t in OPERATIONS]
    assert len(kinds) == len(set(kinds))
    # the log's kinds of refused writes are the ones the store always used
    assert [t.kind for t in UPDATES] == ["sent", "acked", "expired", "dstate", "reserve"]
    assert check(op) is op


def test_updates_with_one_key_replace_each_other() -> None:
    assert update_key(MarkSent("e1", 1, True, 0.0)) == update_key(MarkSent("e1", 2, True, 5.0))
    assert update_key(MarkSent("e1", 1, True, 0.0)) != update_key(MarkAcked("e1", "op", 0.0))
    assert update_key(MarkSent("e1", 1, True, 0.0)) != update_key(MarkSent("e2", 1, True, 0.0))
    assert update_key(ReserveSeq(10)) == update_key(ReserveSeq(5, release=True))
    assert update_key(SaveDetectorState("fall", "{}", 0.0)) == ("dstate", "fall")


async def test_each_update_reaches_its_own_sql(tmp_path) -> None:
    store = Store(tmp_path / "e.db", batch_ms=1)
    await store.open()
    try:
        sent, acked, expired = _alarm(1), _alarm(2), _alarm(3)
        for ev in (sent, acked, expired):
            assert await store.insert(ev)
        store.submit(MarkSent(sent.id, 3, True, time.time()))
        store.submit(MarkAcked(acked.id, "op-9", time.time()))
        store.submit(MarkExpired(expired.id))
        store.submit(SaveDetectorState("inactivity", '{"since":1}', time.time()))
        store.submit(ReserveSeq(500))
        await store.flush()
        assert _rows(tmp_path / "e.db") == {sent.id: ("sent", 3, None),
                                            acked.id: ("acknowledged", 0, "op-9"),
                                            expired.id: ("expired", 0, None)}
        assert await store.load_detector_state() == {"inactivity": {"since": 1}}
        assert await store.last_seq() == 500
        store.submit(ReserveSeq(7, release=True))  # a clean stop gives the block back
        await store.flush()
        assert await store.last_seq() == 7
    finally:
        await store.close()


async def test_a_refused_update_is_logged_with_its_kind_and_subject(tmp_path, caplog) -> None:
    store = Store(tmp_path / "e.db", batch_ms=1)
    await store.open()
    try:
        ev = _alarm(1)
        assert await store.insert(ev)
        with caplog.at_level(logging.ERROR, logger="safehome.store"):
            store.mark_acked(ev.id, {"not": "text"}, time.time())  # type: ignore[arg-type]
            await store.flush()
        assert store.rows_refused == 1 and store.failed is None
        assert any(r.getMessage().startswith(f"event store refused acked {ev.id} (")
                   for r in caplog.records)
    finally:
        await store.close()


async def test_updates_asked_of_a_failed_store_wait_once_per_key_latest_last(tmp_path) -> None:
    store = Store(tmp_path / "e.db", batch_ms=1)
    await store.open()
    try:
        ev = _alarm(1)
        assert await store.insert(ev)
        assert store._db is not None
        await store._db.execute("PRAGMA query_only=ON")  # SQLite answers as on a read-only mount
        store.mark_sent(ev.id, 1, True)
        store.mark_sent(ev.id, 2, True)
        store.mark_acked(ev.id, "op-1", time.time())
        await store.flush()
        assert store.failed
        waiting = list(store.writer._unapplied.values())
        assert [type(u) for u in waiting] == [MarkSent, MarkAcked]
        assert waiting[0] == MarkSent(ev.id, 2, True, waiting[0].at)  # type: ignore[union-attr]
        await store._db.execute("PRAGMA query_only=OFF")
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        store.submit(Flush(fut))
        assert await fut is True
        assert store.failed is None
        assert _rows(tmp_path / "e.db")[ev.id] == ("acknowledged", 2, "op-1")
    finally:
        await store.close()


async def test_a_reservation_never_lowers_the_seq_mark(tmp_path) -> None:
    """Reserving 500 and then 100 keeps 500: the mark is compared as a number, not as
    text against a number (which SQLite orders after every number)."""
    store = Store(tmp_path / "e.db", batch_ms=1)
    await store.open()
    try:
        store.submit(ReserveSeq(500))
        await store.flush()
        store.submit(ReserveSeq(100))
        await store.flush()
        assert await store.last_seq() == 500
        store.submit(ReserveSeq(9000))
        await store.flush()
        assert await store.last_seq() == 9000
    finally:
        await store.close()
