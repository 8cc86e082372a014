"""The event store: durable before sent, batched, pruned safely, honest when it fails."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from gateway.events import Event, new_event_id
from gateway.store import SCHEMA_VERSION, Store
from tests.support.db_files import crash_copy


def make_event(seq: int, type_name: str = "sos", age_s: float = 0.0) -> Event:
    now = time.time() - age_s
    return Event(id=new_event_id(), seq=seq, type=type_name, severity="critical", occurred_at=now,
                 detected_at=now, text={"fi": "a", "sv": "b", "en": "c"}, room="hall")


def states(path) -> dict[int, str]:
    """What a crash would leave on disk: the database and WAL files as they are now, read
    from a copy (the running store holds the database exclusively)."""
    with crash_copy(path) as copy, sqlite3.connect(copy) as db:
        return dict(db.execute("SELECT seq, state FROM events"))


async def test_insert_returns_only_after_the_event_is_committed(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    ev = make_event(1)
    assert await store.insert(ev) is True
    # Another connection (another process, after a crash) sees it at once.
    assert states(tmp_path / "e.db") == {1: "pending"}
    await store.close()


async def test_concurrent_inserts_share_commits(tmp_path):
    store = Store(tmp_path / "e.db", batch_ms=50)
    await store.open()
    results = await asyncio.gather(*(store.insert(make_event(i)) for i in range(1, 501)))
    assert all(results)
    assert store.commits <= 5, "500 events should take a handful of commits, not 500"
    assert len(states(tmp_path / "e.db")) == 500
    await store.close()


async def test_schema_is_versioned_and_wal(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "e.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_states_follow_sent_and_acknowledged_and_survive_reopen(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    alarm, info = make_event(1), make_event(2, "sensor_silent")
    await store.insert(alarm)
    await store.insert(info)
    store.mark_sent(alarm.id, 1, True)
    store.mark_sent(info.id, 1, False)
    await store.flush()
    await store.close()
    store = Store(tmp_path / "e.db")
    await store.open()
    owed = await store.undelivered()
    assert [(o.event.id, o.state, o.attempts) for o in owed] == [(alarm.id, "sent", 1)]
    assert owed[0].event == alarm, "the event comes back exactly as it was made"
    store.mark_acked(alarm.id, "operator-7", time.time())
    await store.flush()
    assert await store.undelivered() == []
    assert await store.last_seq() == 2
    await store.close()


async def test_pruning_never_drops_an_unsent_or_unacknowledged_alarm(tmp_path):
    store = Store(tmp_path / "e.db")
    await store.open()
    old = 40 * 86400
    pending = make_event(1, age_s=old)
    unacked = make_event(2, age_s=old)
    acked = make_event(3, age_s=old)
    delivered_info = make_event(4, "sensor_restored", age_s=old)
    fresh_acked = make_event(5)
    for e in (pending, unacked, acked, delivered_info, fresh_acked):
        await store.insert(e)
    store.mark_sent(unacked.id, 3, True)
    for e in (acked, fresh_acked):
        store.mark_sent(e.id, 1, True)
        store.mark_acked(e.id, "op", time.time())
    store.mark_sent(delivered_info.id, 1, False)
    await store.flush()
    assert await store.prune(max_age_days=30, max_size_mb=64) == 2
    assert states(tmp_path / "e.db") == {1: "pending", 2: "sent", 5: "acknowledged"}
    # A tiny size limit removes delivered events only, whatever their age.
    assert await store.prune(max_age_days=30, max_size_mb=0.0001) == 1
    assert states(tmp_path / "e.db") == {1: "pending", 2: "sent"}
    assert await store.last_seq() == 5, "seq never goes back, even after pruning"
    await store.close()


async def test_a_full_disk_degrades_to_memory_once_and_recovers(tmp_path):
    failures: list[str] = []
    recoveries: list[bool] = []
    store = Store(tmp_path / "e.db", on_failure=failures.append,
                  on_recovery=lambda: recoveries.append(True))
    await store.open()
    await store.insert(make_event(1))
    db = store._db
    assert db is not None
    size = (await (await db.execute("PRAGMA page_count")).fetchone())[0]
    await db.execute(f"PRAGMA max_page_count={size}")  # the disk is now full
    big = [make_event(i) for i in range(2, 300)]
    results = await asyncio.gather(*(store.insert(e) for e in big))
    assert not all(results)
    assert len(failures) == 1 and "full" in failures[0]
    await store.insert(make_event(300))
    assert len(failures) == 1, "one report per failure, not one per write"
    await db.execute("PRAGMA max_page_count=1073741823")  # space is back
    assert await store.insert(make_event(301)) is True
    assert recoveries == [True]
    assert len(states(tmp_path / "e.db")) == 301, "events accepted while full were written later"
    await store.close()


async def test_a_corrupt_database_is_reported_and_the_store_answers_not_durable(tmp_path):
    path = tmp_path / "e.db"
    path.write_bytes(b"this is not a database" * 100)
    failures: list[str] = []
    store = Store(path, on_failure=failures.append)
    await store.open()
    assert len(failures) == 1 and "not a database" in failures[0]
    assert await store.insert(make_event(1)) is False
    assert await store.undelivered() == []
    await store.close()


async def test_a_database_from_a_newer_gateway_is_refused_not_damaged(tmp_path):
    path = tmp_path / "e.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    failures: list[str] = []
    store = Store(path, on_failure=failures.append)
    await store.open()
    assert failures and "newer" in failures[0]
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


async def test_a_read_only_database_degrades_with_one_report(tmp_path):
    failures: list[str] = []
    store = Store(tmp_path / "e.db", on_failure=failures.append)
    await store.open()
    assert store._db is not None
    await store._db.execute("PRAGMA query_only=ON")  # SQLite answers as on a read-only mount
    assert await store.insert(make_event(1)) is False
    assert await store.insert(make_event(2)) is False
    assert len(failures) == 1 and "readonly" in failures[0].replace(" ", "").replace("-", "")
    await store.close()
