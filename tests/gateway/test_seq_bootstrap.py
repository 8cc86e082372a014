"""Where numbering starts (gateway/seq_bootstrap.py), against a real SQLite store: above
every number given out before, after a crash, a clean stop, or a store that cannot write."""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.seq_bootstrap import SEQ_BLOCK, SEQ_CLOCK_EPOCH, first_seq, seq_floor_from_clock
from gateway.store import SeqReservation, Store


async def start(path: Path, clock: float | None = None) -> tuple[Store, SeqReservation, int]:
    store = Store(path)
    await store.open()
    seqs = SeqReservation(store, SEQ_BLOCK)
    if clock is None:
        seq = await first_seq(store, seqs)
    else:
        seq = await first_seq(store, seqs, clock=lambda: clock)
    return store, seqs, seq


async def test_a_fresh_store_numbers_from_one_with_a_block_reserved_before_any_number(tmp_path):
    store, seqs, seq = await start(tmp_path / "e.db")
    assert seq == 0 and seqs.reserved == 1 + SEQ_BLOCK
    await store.close()
    # A crash now (no clean stop): the next start is above the whole reserved block.
    store, _, seq = await start(tmp_path / "e.db")
    assert seq == 1 + SEQ_BLOCK
    await store.close()


async def test_after_a_clean_stop_numbering_goes_on_without_a_gap(tmp_path):
    store, seqs, seq = await start(tmp_path / "e.db")
    for n in range(seq + 1, seq + 8):
        seqs.used(n)  # seven numbers given out
    store.release_seq(seq + 7)
    await store.close()
    store, _, seq = await start(tmp_path / "e.db")
    assert seq == 7
    await store.close()


async def test_a_store_that_cannot_keep_the_reservation_numbers_from_the_wall_clock(tmp_path, caplog):
    path = tmp_path / "e.db"
    path.write_bytes(b"this is not a database" * 100)
    now = SEQ_CLOCK_EPOCH + 3 * 86400.0
    with caplog.at_level(logging.WARNING, logger="safehome.daemon"):
        store, seqs, seq = await start(path, clock=now)
    assert store.failed
    assert seq == seq_floor_from_clock(now) == 3 * 86400 * 1000
    assert seqs.reserved == seq + 1 + SEQ_BLOCK
    assert "numbering from" in caplog.text and "no seq is ever given out twice" in caplog.text
    await store.close()


async def test_a_wall_clock_behind_2026_never_lowers_the_numbering(tmp_path, caplog):
    path = tmp_path / "e.db"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="safehome.daemon"):
        store, _, seq = await start(path, clock=SEQ_CLOCK_EPOCH - 3600.0)
    assert store.failed and seq == 0
    assert "numbering from" not in caplog.text
    await store.close()
