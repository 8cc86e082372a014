"""The TI mmWave data-port parser decodes each TLV and SDK variant exactly, and recovers
every complete frame from streams that start mid-frame, end truncated, pad with any byte
and restart. Frames here are built by hand with struct from the published layouts, not
with the simulator's encoder, so the parser is checked against the facts, not itself."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from drivers.ti_mmwave.parser import FrameParser

MAGIC = bytes.fromhex("0201040306050807")


def build(frame_no: int, tlvs: list[tuple[int, bytes]], *, version: int = 0x03060000,
          platform: int = 0xA6843, nobj: int = 0, sub: int = 0, cycles: int = 123456,
          pad: bytes = b"\x0f", align: int = 32) -> bytes:
    body = b"".join(struct.pack("<II", t, len(p)) + p for t, p in tlvs)
    hlen = 36 if platform & 0xFFFF == 0x1443 else 40
    total = hlen + len(body)
    total += (-total) % align
    fields = [version, total, platform, frame_no, cycles, nobj, len(tlvs)]
    if hlen == 40:
        fields.append(sub)
    head = MAGIC + struct.pack(f"<{len(fields)}I", *fields)
    npad = total - hlen - len(body)
    return head + body + (pad * (npad + 1))[:npad]


def sdk3_points(pts: list[tuple[float, float, float, float]]) -> bytes:
    return b"".join(struct.pack("<4f", *p) for p in pts)


def sdk2_points(objs: list[tuple[int, int, int, int, int, int]], q: int) -> bytes:
    return struct.pack("<HH", len(objs), q) + b"".join(struct.pack("<HhHhhh", *o) for o in objs)


def oob3(n: int, npts: int, pad: bytes = b"\x0f") -> bytes:
    pts = [(0.1 * i, 1.0 + i, 0.5, -0.25) for i in range(npts)]
    side = b"".join(struct.pack("<hh", 100 + i, 30) for i in range(npts))
    return build(n, [(1, sdk3_points(pts)), (7, side), (6, struct.pack("<6I", *range(6)))],
                 nobj=npts, pad=pad)


def oob2(n: int, npts: int, pad: bytes = b"\x0f") -> bytes:
    objs = [(i, -i, 500, 64 * i, 128, -64) for i in range(npts)]
    return build(n, [(1, sdk2_points(objs, 7))], version=0x02010004, platform=0xA1642,
                 nobj=npts, pad=pad)


def decode_all(data: bytes, chunk: int | None = None) -> tuple[list, FrameParser]:
    p = FrameParser()
    out = []
    step = chunk or max(1, len(data))
    for i in range(0, len(data), step):
        out += p.feed(data[i:i + step])
    out += p.finish()
    return out, p


# -- exact decoding ------------------------------------------------------------------
def test_sdk3_header_points_side_info_stats_temperature_and_range_profile():
    pts = [(0.5, 1.25, -0.75, 0.125), (-2.0, 3.5, 1.0, -1.5)]
    side = struct.pack("<hhhh", 123, 45, -10, 300)
    stats = struct.pack("<6I", 11, 22, 33, 44, 55, 66)
    temp = struct.pack("<iI10h", 1, 777, *range(30, 40))
    prof = struct.pack("<4H", 1, 2, 3, 65535)
    data = build(42, [(1, sdk3_points(pts)), (7, side), (6, stats), (9, temp), (2, prof)],
                 nobj=2, sub=3, cycles=999)
    (f,), p = decode_all(data)
    h = f.header
    assert (h.version, h.platform, h.frame_number, h.time_cpu_cycles, h.num_detected_obj,
            h.num_tlvs, h.sub_frame_number, h.header_len) == (0x03060000, 0xA6843, 42, 999, 2,
                                                               5, 3, 40)
    assert h.total_packet_len == len(data) and len(data) % 32 == 0
    assert f.points.fmt == "float"
    np.testing.assert_array_equal(f.points.xyz, np.array([p[:3] for p in pts], np.float32))
    np.testing.assert_array_equal(f.points.velocity, np.array([0.125, -1.5], np.float32))
    np.testing.assert_allclose(f.points.snr_db, [12.3, -1.0], atol=1e-5)
    np.testing.assert_allclose(f.points.noise_db, [4.5, 30.0], atol=1e-5)
    assert list(f.stats.values()) == [11, 22, 33, 44, 55, 66]
    assert f.temperature["valid"] == 1 and f.temperature["time_ms"] == 777
    assert [f.temperature[f"t{i}"] for i in range(10)] == list(range(30, 40))
    assert f.range_profile.tolist() == [1, 2, 3, 65535]
    assert p.stats["frames_decoded"] == 1 and p.stats["bytes_discarded"] == 0
    assert f.warnings == []


def test_sdk2_q_format_points_on_xwr16xx():
    q = 9
    objs = [(10, -3, 1500, 256, 1024, -512), (200, 7, 42, -1, 32767, 0)]
    data = build(7, [(1, sdk2_points(objs, q))], version=0x02010004, platform=0xA1642, nobj=2)
    (f,), _ = decode_all(data)
    pts = f.points
    assert pts.fmt == "q" and pts.xyz_q_format == q
    np.testing.assert_allclose(pts.xyz, [[0.5, 2.0, -1.0], [-1 / 512, 32767 / 512, 0.0]])
    assert pts.range_idx.tolist() == [10, 200]
    assert pts.doppler_idx.tolist() == [-3, 7]
    assert pts.peak.tolist() == [1500, 42]
    assert np.isnan(pts.velocity).all()  # only a bin index: m/s needs the chirp config


def test_iwr1443_has_a_36_byte_header_without_subframe():
    objs = [(1, 1, 100, 128, 256, 384)]
    data = build(5, [(1, sdk2_points(objs, 7))], version=0x01020003, platform=0xA1443, nobj=1)
    (f,), _ = decode_all(data)
    assert f.header.header_len == 36 and f.header.sub_frame_number == 0
    assert f.header.frame_number == 5 and f.header.num_tlvs == 1
    np.testing.assert_allclose(f.points.xyz, [[1.0, 2.0, 3.0]])


def test_points_format_follows_length_consistency_when_version_disagrees():
    # SDK 3.x version but a Q-format payload of 3 objects (40 B: not a multiple of 16)
    objs = [(1, 0, 1, 128, 128, 128)] * 3
    data = build(1, [(1, sdk2_points(objs, 7))], version=0x03060000, nobj=3)
    (f,), p = decode_all(data)
    assert f.points.fmt == "q" and len(f.points) == 3
    assert p.stats["format_mismatch"] == 1
    # SDK 2.x version, float payload whose first u16 is 0: Q-format would need 4 bytes
    data = build(2, [(1, sdk3_points([(0.0, 1.0, 2.0, 3.0)]))], version=0x02010004, nobj=1)
    (f,), p = decode_all(data)
    assert f.points.fmt == "float"
    np.testing.assert_array_equal(f.points.xyz, [[0.0, 1.0, 2.0]])
    assert p.stats["format_mismatch"] == 1


def test_ambiguous_16_byte_points_payload_follows_the_version():
    # one SDK 2.x object is 4 + 12 = 16 bytes, the size of one SDK 3.x point
    objs = [(3, 1, 9, 128, 256, 0)]
    data = build(1, [(1, sdk2_points(objs, 7))], version=0x02000000, nobj=1)
    (f,), p = decode_all(data)
    assert f.points.fmt == "q" and p.stats["format_mismatch"] == 0
    np.testing.assert_allclose(f.points.xyz, [[1.0, 2.0, 0.0]])


def test_people_tracking_targets_heights_index_compressed_points_occupancy():
    def target(tid, base):
        vals = [base + k for k in range(9)] + [0.0] * 16 + [2.5, 0.75]
        return struct.pack("<I27f", tid, *vals)
    tgt = target(4, 1.0) + target(9, 20.0)
    hgt = struct.pack("<Iff", 9, 1.75, 0.25) + struct.pack("<Iff", 4, 0.5, 0.0)
    units = (0.01, 0.02, 0.05, 0.0025, 0.1)
    cpts = struct.pack("<5f", *units) + struct.pack("<bbhHH", 0, 50, -10, 800, 150) \
        + struct.pack("<bbhHH", 30, 0, 4, 400, 20)
    idx = bytes([4, 255])
    data = build(77, [(1020, cpts), (1010, tgt), (1012, hgt), (1011, idx),
                      (1030, struct.pack("<I", 0b101))], nobj=2)
    (f,), _ = decode_all(data)
    t4, t9 = f.targets
    assert t4.tid == 4 and t4.pos == (1.0, 2.0, 3.0) and t4.vel == (4.0, 5.0, 6.0)
    assert t4.acc == (7.0, 8.0, 9.0) and t4.gating_gain == 2.5 and t4.confidence == 0.75
    assert (t4.max_z, t4.min_z) == (0.5, 0.0) and (t9.max_z, t9.min_z) == (1.75, 0.25)
    assert t9.pos == (20.0, 21.0, 22.0)
    assert f.target_index.tolist() == [4, 255] and f.occupancy == 5
    pts = f.points
    assert pts.fmt == "compressed"
    r0, az0 = 800 * 0.0025, 50 * 0.02
    r1, el1 = 400 * 0.0025, 30 * 0.01
    expect = [[r0 * math.sin(az0), r0 * math.cos(az0), 0.0],
              [0.0, r1 * math.cos(el1), r1 * math.sin(el1)]]
    np.testing.assert_allclose(pts.xyz, expect, atol=1e-5)
    np.testing.assert_allclose(pts.velocity, [-0.5, 0.2], atol=1e-6)
    np.testing.assert_allclose(pts.snr_db, [15.0, 2.0], atol=1e-5)


def test_unknown_tlvs_are_kept_and_bad_sizes_warn_without_losing_the_frame():
    data = build(3, [(5, b"\x01\x02\x03\x04"), (6, b"\x00" * 20), (1040, b"vitals")])
    (f,), p = decode_all(data)
    assert f.other == {5: b"\x01\x02\x03\x04", 1040: b"vitals"}
    assert f.stats is None and len(f.warnings) == 1 and p.stats["tlv_errors"] == 1


# -- stream recovery -----------------------------------------------------------------
@pytest.mark.parametrize("make", [oob2, oob3], ids=["sdk2", "sdk3"])
def test_capture_starting_mid_frame_and_ending_truncated_recovers_every_complete_frame(make):
    frames = [make(1000 + k, 1 + (k * 7) % 13) for k in range(20)]
    stream = b"".join(frames)
    head_cut = len(frames[0]) // 2
    tail_cut = len(frames[-1]) // 3
    capture = stream[head_cut:len(stream) - len(frames[-1]) + tail_cut]
    for chunk in (None, 1, 97):
        got, p = decode_all(capture, chunk)
        nums = [f.header.frame_number for f in got]
        assert nums == list(range(1001, 1019))
        assert [len(f.points) for f in got] == [f.header.num_detected_obj for f in got]
        assert [f.header.num_detected_obj for f in got] == [1 + (k * 7) % 13 for k in range(1, 19)]
        assert p.stats["frames_decoded"] == 18 and p.stats["frames_dropped"] == 1
        assert p.stats["bytes_discarded"] == (len(frames[0]) - head_cut) + tail_cut
        assert p.stats["restarts"] == 0 and p.stats["frames_missed"] == 0


@pytest.mark.parametrize("pad", [b"\x00", b"\xff", b"\x02\x01\x04", b"\x07\x08\x02"])
def test_padding_of_any_value_is_skipped_by_length(pad):
    stream = b"".join(oob3(n, 3, pad=pad) for n in range(1, 6))
    got, p = decode_all(stream, 5)
    assert [f.number for f in got] == [1, 2, 3, 4, 5]
    assert p.stats["bytes_discarded"] == 0 and p.stats["frames_dropped"] == 0


def test_frame_cut_short_by_the_next_one_is_dropped_and_neighbours_kept():
    a, b, c = oob3(1, 4), oob3(2, 5), oob3(3, 6)
    cut_b = b[:60]  # header + part of the points TLV
    got, p = decode_all(a + cut_b + c)
    assert [f.number for f in got] == [1, 3]
    assert p.stats["frames_dropped"] == 1 and p.stats["bytes_discarded"] == 60
    assert p.stats["frames_missed"] == 1


def test_frame_that_lost_only_padding_is_still_decoded():
    a, b = oob3(1, 3), oob3(2, 2)
    tlv_end = 40 + (8 + 48) + (8 + 12) + (8 + 24)  # header, points, side info, stats
    assert len(a) > tlv_end
    for keep in (tlv_end, tlv_end + 1, len(a) - 3, len(a) - 1):
        got, p = decode_all(a[:keep] + b, 1)
        assert [f.number for f in got] == [1, 2], keep
        assert p.stats["frames_dropped"] == 0


def test_restart_is_counted_when_frame_numbers_go_back():
    stream = b"".join(oob3(n, 1) for n in (500, 501, 502, 1, 2, 4))
    got, p = decode_all(stream)
    assert [f.number for f in got] == [500, 501, 502, 1, 2, 4]
    assert p.stats["restarts"] == 1 and p.stats["frames_missed"] == 1


def test_false_magic_word_with_impossible_header_is_skipped():
    junk = MAGIC + struct.pack("<8I", 0x03060000, 12, 0xA6843, 9, 0, 0, 1, 0)  # len < header
    junk2 = MAGIC + struct.pack("<8I", 0x03060000, 4000, 0xA6843, 9, 0, 0, 1, 0) + b"\x55" * 10
    stream = junk + oob3(1, 2) + junk2 + oob3(2, 2)
    got, p = decode_all(stream, 7)
    assert [f.number for f in got] == [1, 2]
    assert p.stats["bytes_discarded"] == len(junk) + len(junk2)


def test_simulator_encoder_round_trips_through_the_parser():
    from simulator.emulators import ti_mmwave as E
    xyzv = np.array([[0.25, 1.5, -0.5, 0.75], [1.0, 2.0, 0.5, -0.25]])
    stream = (E.oob_frame(1, xyzv, snr_db=[10.0, 20.5]) + E.oob_frame(2, xyzv, sdk=2)
              + E.tracking_frame(3, [E.EncTarget(2, (0.5, 2.0, 0.9), max_z=1.6)], xyzv[:, :3]))
    f1, f2, f3 = decode_all(stream)[0]
    np.testing.assert_allclose(f1.points.xyz, xyzv[:, :3], atol=1e-6)
    np.testing.assert_allclose(f1.points.snr_db, [10.0, 20.5], atol=1e-5)
    np.testing.assert_allclose(f2.points.xyz, xyzv[:, :3], atol=2 ** -9)
    np.testing.assert_allclose(f3.points.xyz, xyzv[:, :3], atol=0.03)
    assert f3.targets[0].tid == 2 and f3.targets[0].max_z == pytest.approx(1.6)


def test_tlv_lengths_that_include_the_tlv_header_are_recognised_and_counted():
    pts = sdk3_points([(1.0, 2.0, 3.0, 0.5)])
    stats = struct.pack("<6I", *range(6))
    body = struct.pack("<II", 1, 8 + len(pts)) + pts + struct.pack("<II", 6, 8 + 24) + stats
    total = 40 + len(body) + (-(40 + len(body))) % 32
    data = MAGIC + struct.pack("<8I", 0x03060000, total, 0xA6843, 9, 0, 1, 2, 0) + body
    data += b"\x0f" * (total - len(data))
    # followed by a normal frame, which must still be read the normal way
    (f, g), p = decode_all(data + oob3(10, 2))
    np.testing.assert_array_equal(f.points.xyz, [[1.0, 2.0, 3.0]])
    assert list(f.stats.values()) == list(range(6)) and len(g.points) == 2
    assert p.stats["tlv_len_includes_header"] == 1


def test_room_frame_points_survive_emulator_encoding_and_driver_conversion():
    """Simulator trace (room frame) -> radar bytes (sensor frame) -> readings (room frame)."""
    from drivers.ti_mmwave.chirp import Mounting
    from drivers.ti_mmwave.convert import FrameConverter
    from simulator.emulators import ti_mmwave as E

    room = np.array([[0.5, 2.0, 0.3], [-1.0, 4.0, 1.6], [0.0, 1.0, 0.0]])
    for height, tilt in ((2.0, 15.0), (2.6, 90.0), (1.2, 0.0)):
        data = E.frame_from_readings(5, room, [E.EncTarget(3, (0.5, 2.0, 0.8))],
                                     mounting=(height, tilt))
        (f,), _ = decode_all(data)
        conv = FrameConverter("r", Mounting(height, tilt), tracking=True)
        pts, tg = conv.readings(f, 0.0)
        np.testing.assert_allclose(pts.points[:, :3], room, atol=0.05)
        assert tg.targets[0].x == 0.5 and tg.targets[0].z == pytest.approx(0.8)
