"""Events committed per second to the SQLite store: one event per commit, and batched.

Both with synchronous=FULL (what the gateway uses: a committed alarm survives power loss).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401  (puts the repo on sys.path)
from _util import pi_note

from gateway.events import Event, new_event_id
from gateway.store import Store


def event(seq: int) -> Event:
    now = time.time()
    return Event(new_event_id(), seq, "sos", "critical", now, now,
                 {"fi": "Hätäpainiketta painettu (olohuone).", "sv": "Larmknappen har tryckts (vardagsrum).",
                  "en": "Emergency button pressed (living room)."}, "living_room", "pendant", 1.0,
                 {"peak_g": 3.2})


async def measure(n_single: int, n_batched: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db", batch_ms=0)
        await store.open()
        t = time.perf_counter()
        for i in range(1, n_single + 1):
            await store.insert(event(i))
        single = n_single / (time.perf_counter() - t)
        c0 = store.commits
        t = time.perf_counter()
        seq = n_single
        for _ in range(n_batched // batch):
            await asyncio.gather(*(store.insert(event(seq + j + 1)) for j in range(batch)))
            seq += batch
        batched = n_batched / (time.perf_counter() - t)
        commits = store.commits - c0
        await store.close()
    print(f"store: one event per commit : {single:10,.0f} events/s  {pi_note(single, 'events/s')}")
    print(f"store: batched ({n_batched // max(commits, 1)} per commit): {batched:10,.0f} events/s  "
          f"{pi_note(batched, 'events/s')}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--single", type=int, default=2000)
    ap.add_argument("--batched", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=200)
    a = ap.parse_args()
    asyncio.run(measure(a.single, a.batched, a.batch))
