"""A really full disk (a small tmpfs, mounted as root): the store degrades, the WAL does not
eat what little space there is, and the store recovers - in place, and after a restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from gateway.events import Event, new_event_id
from gateway.store import WAL_LIMIT_BYTES, Store

DISK_BYTES = 8 * 1024 * 1024


def make_event(seq: int) -> Event:
    now = time.time()
    return Event(id=new_event_id(), seq=seq, type="sos", severity="critical", occurred_at=now,
                 detected_at=now, text={"fi": "x" * 1500, "sv": "y" * 1500, "en": "z" * 1500})


@pytest.fixture
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mnt)],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte with one file, as a runaway log would."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def wal_bytes(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_a_full_disk_keeps_the_wal_small_and_the_store_recovers_in_place_and_after_restart(
        small_disk):
    db = small_disk / "e.db"
    store = Store(db)
    await store.open()
    seq = 0
    for _ in range(20):
        seq += 1
        assert await store.insert(make_event(seq)) is True
    filler = fill(small_disk)
    for _ in range(200):  # alarms keep coming while the disk is full
        seq += 1
        assert await asyncio.wait_for(store.insert(make_event(seq)), 10) is False
    assert store.failed and ("full" in store.failed or "disk" in store.failed)
    assert wal_bytes(db) <= WAL_LIMIT_BYTES, "failed transactions do not pile up in the WAL"
    # Space comes back: the next commit writes everything accepted meanwhile.
    filler.unlink()
    seq += 1
    assert await store.insert(make_event(seq)) is True
    assert store.failed is None
    assert {e.event.seq for e in await store.undelivered()} == set(range(1, seq + 1))
    # Full again, and the gateway restarts (power cut) while it is full.
    filler = fill(small_disk)
    for _ in range(50):
        seq += 1
        await asyncio.wait_for(store.insert(make_event(seq)), 10)
    writer = store._writer
    assert writer is not None
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    store._writer = None
    await store.close()
    restarted = Store(db)
    await restarted.open()
    owed = {e.event.seq for e in await restarted.undelivered()}
    assert set(range(1, 222)) <= owed, "the backlog is readable on a full disk"
    filler.unlink()
    seq += 1
    assert await restarted.insert(make_event(seq)) is True, "writes work again after the restart"
    assert restarted.failed is None
    await restarted.close()
    assert wal_bytes(db) <= WAL_LIMIT_BYTES


def shrink(filler: Path, free_bytes: int) -> None:
    with open(filler, "r+b") as f:
        f.truncate(max(0, filler.stat().st_size - free_bytes))


async def test_a_disk_filled_by_the_store_itself_recovers_after_a_restart_without_another(
        small_disk, monkeypatch):
    import gateway.store.writer as store_module
    monkeypatch.setattr(store_module, "REOPEN_EVERY_S", 0.1)
    db = small_disk / "e.db"
    filler = fill(small_disk)
    shrink(filler, 6 * 1024 * 1024)  # room left that the store's own writes fill
    store = Store(db)
    await store.open()
    seq = 0
    while await asyncio.wait_for(store.insert(make_event(seq + 1)), 10):
        seq += 1
        assert seq < 10_000
    for _ in range(20):
        await asyncio.wait_for(store.insert(make_event(seq + 1)), 10)
    print(f"\n{seq} events committed in 6 MiB; WAL at the full disk: {wal_bytes(db) / 1024:.0f} KiB")
    assert wal_bytes(db) <= 1.1 * WAL_LIMIT_BYTES, "the WAL does not hold the space the database needs"
    # Power cut while the disk is full.
    writer = store._writer
    assert writer is not None
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    store._writer = None
    await store.close()
    restarted = Store(db)
    await restarted.open()  # may fail to open on a full disk: it tries again by itself
    filler.unlink()  # the runaway log is rotated away
    await asyncio.sleep(0.2)
    ok = await asyncio.wait_for(restarted.insert(make_event(10_001)), 10)
    assert ok is True and restarted.failed is None, "the store recovers in the same run"
    owed = {e.event.seq for e in await restarted.undelivered()}
    assert set(range(1, seq + 1)) <= owed, "everything committed before the full disk is still owed"
    await restarted.close()
    assert wal_bytes(db) <= WAL_LIMIT_BYTES
