"""The event store: SQLite in WAL mode, written by exactly one task, in batches.

Why this shape:
- One writer task owns the connection, so there is never "database is locked".
- Writes are batched (all that waits, lingering `batch_ms`, at most 500 per transaction): an SD card
  sees one commit where a naive design would do hundreds, and throughput stays high.
- `synchronous=FULL`: a committed alarm survives a power cut, not only a crash.
- `insert()` resolves only after the batch holding the event is committed, so the
  caller (and the uplink) never sends an alarm the store could still lose.
- When the database fails (corrupt, read-only, disk full) the store logs one clear line,
  calls `on_failure` once (the gateway raises a `storage_failure` event) and answers
  "not durable" from then on; alarms keep flowing from memory, and every write is tried
  again on the next batch so the store recovers by itself when space returns. Nothing
  asked of a failed store is dropped: inserts, sent marks and acks wait in memory and are
  written, in order, by the first commit that succeeds.
- The WAL stays small (checkpointed at about 1 MiB and cut back to it), and on a failure
  it is checkpointed and truncated, so on a full disk it does not hold the space the
  database needs; a store that could not even open tries again every 10 s.
- `seq` never goes back: the store keeps a high-water mark (`meta.seq_reserved`) a block
  ahead of the numbers in use. Numbers given out while the store cannot write are inside
  the block, so a restart starts above them (see `reserve_seq`).
- The writer task survives anything: an event that cannot be serialised fails its own
  `insert()`, an unexpected error fails the batch's waiters, and the loop goes on.
- "Failed" is a property of the disk, never of one row (issue 26: an ack whose `by` was
  a JSON object switched the store off for good, because the refused update was retried
  with every later batch). A statement SQLite refuses because of the values in it
  (a type it cannot bind, an integer beyond 64 bits, text that is not UTF-8, a
  constraint) drops that one write, logged at most once a minute per kind, and the rest
  of the transaction commits. A store that did fail probes the disk every
  PROBE_EVERY_S while it is failed, so the backlog is written, and the store recovers,
  when the disk works again, also when nothing new is asked of it.

One job per file: operations.py (what can be asked, as frozen dataclasses), schema.py
(tables, migrations, rows), statements.py (the SQL of each write), writer.py (the one
writer task: batches, transactions, failure and recovery), store.py (the facade the
gateway calls). The writer's timings (PROBE_EVERY_S, REOPEN_EVERY_S) live in writer.py:
patch them there.
"""

from gateway.store.schema import ACKNOWLEDGED, EXPIRED, PENDING, SCHEMA_VERSION, SENT
from gateway.store.store import SeqReservation, Store, StoredEvent
from gateway.store.writer import WAL_LIMIT_BYTES

__all__ = ["ACKNOWLEDGED", "EXPIRED", "PENDING", "SCHEMA_VERSION", "SENT", "WAL_LIMIT_BYTES",
           "SeqReservation", "Store", "StoredEvent"]
