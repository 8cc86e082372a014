"""Trace format v3's columns (sensordata/trace/batches.py): sample times come back to the
bit through float32 offsets or explicitly, and the vectorised walk over many messages
decodes exactly what the message-by-message walk does (the reader takes the one or the
other by how many messages a stream has in a chunk)."""

from __future__ import annotations

import numpy as np
import pytest

from sensordata.trace import batches
from sensordata.trace.messages import CodecError

T0 = 1_772_400_000.0


def test_times_use_exact_float32_offsets_or_fall_back_to_explicit_times() -> None:
    regular = T0 + np.arange(50) / 50.0
    f = batches.times(regular)
    assert len(f["dt"]) == 50 and len(f["t"]) == 0
    assert np.array_equal(f["t0"] + f["dt"].astype(np.float64), regular)
    late = np.concatenate([regular, [T0 - 3600.123456789]])   # an hour-old packet
    f = batches.times(late)
    assert len(f["dt"]) == 0 and np.array_equal(f["t"], late)
    with_nan = np.array([T0, np.nan])
    f = batches.times(with_nan)
    assert len(f["dt"]) == 0 and np.array_equal(f["t"], with_nan, equal_nan=True)


def _messages(rng: np.random.Generator, n: int) -> list[dict]:
    """Radar windows with 0-2 targets a frame; every fifth needs explicit times. Each
    dict also keeps the true frame times under "true_t" (not a column)."""
    out = []
    for i in range(n):
        frames = int(rng.integers(1, 12))
        count = rng.integers(0, 3, frames)
        rows = int(count.sum())
        t = T0 + i + np.arange(frames) / 10.0
        if i % 5 == 3:
            t[-1] = T0 - 1e5   # explicit times for this one
        f = batches.times(t)
        f["true_t"] = t
        f.update(frame=np.arange(frames) + 100 * i, count=count, tid=rng.integers(0, 9, rows),
                 **{k: rng.normal(0, 1, rows) for k in ("x", "y", "z", "vx", "vy", "vz")},
                 height=np.where(rng.random(rows) < 0.3, np.nan, 1.5))
        out.append(f)
    return out


@pytest.mark.parametrize("n", [1, batches.FEW - 1, batches.FEW, 3 * batches.FEW])
def test_vectorised_and_one_by_one_walks_decode_the_same(n: int) -> None:
    msgs = [batches.encode("radar_targets", f) for f in _messages(np.random.default_rng(n), n)]
    gap = b"\x07" * 13   # unaligned starts, as inside a chunk
    raw = b"".join(gap + m for m in msgs)
    starts = np.cumsum([len(gap)] + [len(m) + len(gap) for m in msgs[:-1]])
    sizes = np.array([len(m) for m in msgs])
    buf = np.frombuffer(raw, np.uint8)
    fast = batches.decode_columns("radar_targets", buf, starts, sizes) if n >= batches.FEW \
        else batches._decode_each("radar_targets", buf, starts.tolist(), sizes.tolist())
    slow = batches._decode_each("radar_targets", buf, starts.tolist(), sizes.tolist())
    for name in fast.flat:
        assert np.array_equal(fast.flat[name], slow.flat[name], equal_nan=True), name
        assert np.array_equal(fast.first[name], slow.first[name]), name
    assert np.array_equal(fast.scalar["t0"], slow.scalar["t0"])
    times = batches.sample_times(fast, fast.count("frame"))
    truth = np.concatenate([f["true_t"] for f in _messages(np.random.default_rng(n), n)])
    assert np.array_equal(times, truth)   # to the bit, offsets and explicit times alike


def test_a_message_cut_short_is_an_error_not_garbage() -> None:
    (f,) = _messages(np.random.default_rng(0), 1)
    data = batches.encode("radar_targets", f)[:-3]
    buf = np.frombuffer(data, np.uint8)
    for walk in (lambda: batches.decode_columns("radar_targets", buf, np.array([0] * batches.FEW),
                                                np.array([len(data)] * batches.FEW)),
                 lambda: batches._decode_each("radar_targets", buf, [0], [len(data)])):
        with pytest.raises(CodecError):
            walk()
