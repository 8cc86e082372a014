"""Hostile input: whatever bytes a UART delivers, the TI parser never raises, and every
valid frame buried in garbage (including fake magic words and magic-word fragments) is
recovered, in order, whatever the chunking."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.ti_mmwave.parser import FrameParser
from simulator.emulators import ti_mmwave as E

MAGIC = E.MAGIC
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _feed(data: bytes, cuts: list[int]) -> tuple[list, FrameParser]:
    p = FrameParser()
    out, prev = [], 0
    for c in sorted({min(c, len(data)) for c in cuts} | {len(data)}):
        out += p.feed(data[prev:c])
        prev = c
    out += p.finish()
    return out, p


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=20))
def test_arbitrary_bytes_never_raise(data, cuts):
    frames, p = _feed(data, cuts)
    assert p.pending == 0
    assert p.stats["bytes_discarded"] <= len(data)
    assert all(v >= 0 for v in p.stats.values())


@SETTINGS
@given(st.binary(max_size=400), st.lists(st.integers(0, 500), max_size=10))
def test_arbitrary_bytes_after_a_magic_word_never_raise(tail, cuts):
    frames, p = _feed(MAGIC + tail + MAGIC + tail[::-1], cuts)
    assert p.pending == 0


def _frame(kind: int, n: int, npts: int, pad: int) -> bytes:
    rng = np.random.default_rng(n)
    xyzv = rng.uniform(-3, 3, size=(npts, 4))
    if kind == 0:
        return E.oob_frame(n, xyzv, sdk=3, pad=pad)
    if kind == 1:
        return E.oob_frame(n, xyzv, sdk=2, pad=pad, platform=E.PLATFORM_6843)
    if kind == 2:
        return E.oob_frame(n, xyzv, sdk=2, pad=pad, platform=E.PLATFORM_1443)
    tg = [E.EncTarget(k, tuple(rng.uniform(-2, 2, 3))) for k in range(npts % 3)]
    xyz = np.abs(xyzv[:, :3]) + [0, 0.5, 0]  # in front of the radar
    return E.tracking_frame(n, tg, xyz, pad=pad)


_fake_header = st.builds(
    lambda total, ntlv, rest: MAGIC + struct.pack("<8I", 0x03060000, total, 0xA6843, 7, 0, 0,
                                                  ntlv, 0) + rest,
    st.integers(0, 5000), st.integers(0, 5), st.binary(max_size=64))
_garbage = st.one_of(
    st.binary(max_size=120),
    st.builds(lambda a, k, b: a + MAGIC[:k] + b, st.binary(max_size=30), st.integers(1, 7),
              st.binary(max_size=30)),
    _fake_header,
)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(0, 255),
                          _garbage), min_size=1, max_size=8),
       _garbage, st.lists(st.integers(0, 20000), max_size=15))
def test_valid_frames_buried_in_garbage_are_all_recovered(specs, lead, cuts):
    stream = bytearray(lead)
    expect = []
    for k, (kind, npts, pad, garbage) in enumerate(specs):
        n = 100 + k
        stream += _frame(kind, n, npts, pad) + garbage
        expect.append((n, npts))
    frames, p = _feed(bytes(stream), cuts)
    got = [(f.header.frame_number, len(f.points) if f.points is not None else 0)
           for f in frames]
    it = iter(got)  # every real frame, in order (fake headers may add frames of their own)
    assert all(e in it for e in expect), (expect, got)
    if bytes(stream).count(MAGIC) == len(specs):  # no fake magic word anywhere
        assert got == expect
        assert p.stats["frames_dropped"] == 0
