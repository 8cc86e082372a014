"""The outbox and the store together, driven by hypothesis through any sequence of
inserts, publishes, acks, storage failures and restarts (clean, or crashes).

Invariants:
- every committed alarm is either acknowledged or owed (back in the outbox after a restart);
- no seq is ever given to two events, across failures and restarts, unless the store could
  not write the reservation covering it (a store that fails from start-up on): memory
  cannot outlive a crash;
- an acknowledgement that was written never comes back as owed after a restart.

Storage faults come from SQLite itself: `PRAGMA query_only` makes every write fail exactly
as a read-only mount does.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gateway.events import Event, new_event_id
from gateway.outbox import Outbox
from gateway.store import SeqReservation, Store

SEQ_BLOCK = 1000  # as the daemon


def make_event(seq: int, alarm: bool) -> Event:
    now = time.time()
    return Event(id=new_event_id(), seq=seq, type="sos" if alarm else "sensor_restored",
                 severity="critical" if alarm else "info", occurred_at=now, detected_at=now,
                 text={"fi": "a", "sv": "b", "en": "c"})


class OutboxAndStore(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="safehome-sm-"))
        self.runner = asyncio.Runner()
        self.ids_by_seq: dict[int, tuple[str, bool]] = {}  # seq -> (id, reservation not durable)
        self.durable_reserved = 0
        self.committed_alarms: set[str] = set()   # written to the database
        self.memory_only: dict[str, bool] = {}    # id -> is_alarm, accepted while failed
        self.acked: set[str] = set()              # acknowledged by the centre
        self.acks_unwritten: set[str] = set()     # acks not yet known to be committed
        self.acks_written: set[str] = set()
        self.failing = False
        self._open(fail=False)

    # -- plumbing ------------------------------------------------------------------------
    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.runner.run(coro)

    def _open(self, fail: bool) -> None:
        self.store = Store(self.dir / "e.db", batch_ms=0)
        self.run(self.store.open())
        self.failing = False
        if fail:
            self.run(self._query_only(True))
        self.outbox = Outbox(ack_timeout=30)
        self.backlog = self.run(self.store.undelivered())
        for item in self.backlog:
            self.outbox.add(item.event, attempts=item.attempts)
        self.seq = self.run(self.store.last_seq())
        self.durable_reserved = self.seq
        self.seqs = SeqReservation(self.store, SEQ_BLOCK)
        self.seqs.used(self.seq + 1)
        self._settled(self.run(self.store.flush()))

    async def _query_only(self, on: bool) -> None:
        assert self.store._db is not None
        await self.store._db.execute(f"PRAGMA query_only={'ON' if on else 'OFF'}")
        self.failing = on

    def _settled(self, ok: bool) -> None:
        """A commit succeeded: everything asked so far is in the database now."""
        if ok:
            self.durable_reserved = max(self.durable_reserved, self.seqs.reserved)
            self.committed_alarms |= {i for i, alarm in self.memory_only.items() if alarm}
            self.memory_only.clear()
            self.acks_written |= self.acks_unwritten
            self.acks_unwritten.clear()

    # -- rules ---------------------------------------------------------------------------
    @rule(alarm=st.booleans())
    def insert(self, alarm: bool) -> None:
        self.seq += 1
        self.seqs.used(self.seq)
        ev = make_event(self.seq, alarm)
        earlier = self.ids_by_seq.get(self.seq)
        assert earlier is None or earlier[1], f"seq {self.seq} given out twice"
        self.ids_by_seq[self.seq] = (ev.id, self.seq > self.durable_reserved)
        ok = self.run(self.store.insert(ev))
        assert ok is not self.failing
        if ok:
            if alarm:
                self.committed_alarms.add(ev.id)
        else:
            self.memory_only[ev.id] = alarm
        self._settled(ok)
        self.outbox.add(ev)

    @precondition(lambda self: bool(self.outbox.due()))
    @rule(data=st.data())
    def publish(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self.outbox.due()))
        done = self.outbox.published(entry.event.id)
        assert done is not None
        self.store.mark_sent(entry.event.id, done.attempts, entry.event.is_alarm)

    @precondition(lambda self: any(e.event.is_alarm and e.attempts > 0
                                   for e in self.outbox.entries.values()))
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        sent = sorted(i for i, e in self.outbox.entries.items() if e.event.is_alarm and e.attempts > 0)
        event_id = data.draw(st.sampled_from(sent))
        assert self.outbox.acknowledged(event_id) is not None
        self.store.mark_acked(event_id, "op", time.time())
        self.acked.add(event_id)
        self.acks_unwritten.add(event_id)

    @rule()
    def flush(self) -> None:
        self._settled(self.run(self.store.flush()))

    @precondition(lambda self: not self.failing)
    @rule()
    def storage_fails(self) -> None:
        self.run(self._query_only(True))

    @precondition(lambda self: self.failing)
    @rule()
    def storage_mends(self) -> None:
        self.run(self._query_only(False))

    @rule(clean=st.booleans(), still_failing=st.booleans())
    def restart(self, clean: bool, still_failing: bool) -> None:
        if clean:  # as the daemon's shutdown: give back the unused seqs, flush, close
            self.store.release_seq(self.seq)
            self._settled(self.run(self.store.flush()))
            self.run(self.store.close())
        else:  # SIGKILL: nothing more reaches the disk
            writer = self.store._writer
            assert writer is not None
            writer.cancel()
            self.run(asyncio.wait([writer]))
            self.store._writer = None
            self.run(self.store.close())
        # Memory is gone: what was never committed is lost with it (storage_failure said so).
        self.memory_only.clear()
        self.acks_unwritten.clear()
        self._open(fail=still_failing)
        owed = {item.event.id for item in self.backlog}
        assert not owed & self.acks_written, "an acknowledgement that was written came back"
        lost = self.committed_alarms - self.acks_written - self.acked - owed
        assert not lost, f"committed alarms neither acknowledged nor owed: {lost}"

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def every_committed_alarm_is_acked_or_owed(self) -> None:
        owed = set(self.outbox.entries)
        assert self.committed_alarms <= self.acked | owed

    @invariant()
    def no_written_ack_is_owed(self) -> None:
        assert not self.acks_written & set(self.outbox.entries)

    def teardown(self) -> None:
        try:
            self.run(self.store.close())
        finally:
            self.runner.close()
            shutil.rmtree(self.dir, ignore_errors=True)


OutboxAndStore.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestOutboxAndStore = OutboxAndStore.TestCase
