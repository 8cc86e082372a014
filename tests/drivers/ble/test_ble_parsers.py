"""BLE payload decoders against hand-assembled vectors from the GATT and Polar PMD layouts.

Every vector is written out byte by byte in the test, with the field it encodes, so a
reader can check it against the specification rather than against our encoder.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.ble import parsers as PP

h = bytes.fromhex


# ---------------------------------------------------------------- Heart Rate 0x2A37

@pytest.mark.parametrize("payload,bpm,contact,energy,rr", [
    # flags 00: u8 HR, no contact support, nothing else
    ("00 48", 72, None, None, ()),
    # flags 04: contact supported but not detected
    ("04 3C", 60, False, None, ()),
    # flags 06: contact supported and detected
    ("06 3C", 60, True, None, ()),
    # flags 10: RR present (typical Polar H10): HR 75, RR 0x035C = 860/1024 s
    ("10 4B 5C 03", 75, None, None, (860 / 1024,)),
    # flags 16: contact detected, RR present, two RR intervals 0x0410 and 0x0400
    ("16 3C 10 04 00 04", 60, True, None, (1040 / 1024, 1.0)),
    # flags 19: u16 HR 300, energy expended 1000 kJ, RR 1.0 s and 0.5 s
    ("19 2C 01 E8 03 00 04 00 02", 300, None, 1000, (1.0, 0.5)),
    # flags 01: u16 HR without anything else
    ("01 50 00", 80, None, None, ()),
    # flags 08: u8 HR then energy expended
    ("08 5A 0A 00", 90, None, 10, ()),
])
def test_heart_rate_measurement_flag_variants(payload, bpm, contact, energy, rr):
    m = PP.parse_heart_rate(h(payload))
    assert (m.bpm, m.contact, m.energy_kj) == (bpm, contact, energy)
    assert m.rr_s == pytest.approx(rr)


@pytest.mark.parametrize("payload", ["", "00", "01 50", "10 4B 5C", "08 5A 0A"])
def test_heart_rate_malformed_payloads_raise_payload_error(payload):
    with pytest.raises(PP.PayloadError):
        PP.parse_heart_rate(h(payload))


def test_heart_rate_encoder_round_trips():
    data = PP.encode_heart_rate(150, contact=True, energy_kj=12, rr_1024=(400, 410))
    assert data == h("1E 96 0C 00 90 01 9A 01")
    m = PP.parse_heart_rate(data)
    assert (m.bpm, m.contact, m.energy_kj) == (150, True, 12)


def test_battery_level():
    assert PP.parse_battery(h("57")) == 87
    with pytest.raises(PP.PayloadError):
        PP.parse_battery(h("65"))  # 101 %
    with pytest.raises(PP.PayloadError):
        PP.parse_battery(b"")


# ---------------------------------------------------------------- Polar PMD

TS = 0x0851_5E8C_1A2B_3C4D  # ns since 2000-01-01 (about 2019)


def ts_bytes(ts: int = TS) -> str:
    return ts.to_bytes(8, "little").hex(" ")


def test_raw_acc_frame_type1_int16_milli_g():
    # type 02, timestamp, frame type 01, samples (x, y, z) int16 LE:
    # (1000, -20, 980)  (-1, 0, 32767)
    frame = h("02 " + ts_bytes() + " 01 E8 03 EC FF D4 03 FF FF 00 00 FF 7F")
    f = PP.parse_pmd_header(frame)
    assert (f.measurement_type, f.timestamp_ns, f.frame_type, f.compressed) == (2, TS, 1, False)
    mg = PP.acc_samples_mg(f)
    assert mg.tolist() == [[1000, -20, 980], [-1, 0, 32767]]


def test_raw_acc_frame_types_0_and_2():
    f0 = PP.parse_pmd_header(h("02 " + ts_bytes() + " 00 01 FF 40"))
    assert PP.acc_samples_mg(f0).tolist() == [[1, -1, 64]]
    # 24-bit: 0x0003E8 = 1000, 0xFFFFEC = -20, 0x7FFFFF
    f2 = PP.parse_pmd_header(h("02 " + ts_bytes() + " 02 E8 03 00 EC FF FF FF FF 7F"))
    assert PP.acc_samples_mg(f2).tolist() == [[1000, -20, 8388607]]


def test_compressed_acc_frame_delta_blocks_lsb_first():
    # frame type 0x81: delta-compressed type 1. Reference sample (1000, -20, 980) as int16,
    # then one block: width 4 bits, 2 samples; deltas (+1,-1,+2) and (+3,0,-8) packed LSB
    # first: 0001 1111 | 0010 0011 | 0000 1000 -> F1 32 80
    frame = h("02 " + ts_bytes() + " 81 E8 03 EC FF D4 03 04 02 F1 32 80")
    f = PP.parse_pmd_header(frame)
    assert f.compressed and f.frame_type == 1
    mg = PP.acc_samples_mg(f)
    assert mg.tolist() == [[1000, -20, 980], [1001, -21, 982], [1004, -21, 974]]
    # with a factor in the start answer, type-1 values are scaled by it
    assert PP.acc_samples_mg(f, factor=0.5)[0].tolist() == [500, -10, 490]


def test_compressed_two_blocks_and_encoder_agree():
    samples = [[10, 20, 30], [11, 19, 33], [15, 19, 30], [-100, 0, 0]]
    block1 = PP.encode_delta_frames(samples[:3], 16, 4)
    body = block1 + PP.encode_delta_frames(samples[2:], 16, 8)[6:]
    assert PP.decode_delta_frames(body, 3, 16) == samples


@pytest.mark.parametrize("payload", [
    "02 " + ts_bytes(),                              # no frame type
    "02 " + ts_bytes() + " 01 E8 03 EC",             # half a sample
    "02 " + ts_bytes() + " 81 E8 03",                # reference sample cut
    "02 " + ts_bytes() + " 81 E8 03 EC FF D4 03 04", # block header cut
    "02 " + ts_bytes() + " 81 E8 03 EC FF D4 03 04 02 F1", # block data cut
    "02 " + ts_bytes() + " 81 E8 03 EC FF D4 03 00 02",    # zero width
    "02 " + ts_bytes() + " 05 00 00 00",             # unknown raw frame type
    "01 " + ts_bytes() + " 01 00 00 00 00 00 00",    # not accelerometer (PPG)
])
def test_pmd_malformed_frames_raise_payload_error(payload):
    with pytest.raises(PP.PayloadError):
        PP.acc_samples_mg(PP.parse_pmd_header(h(payload)))


def test_sample_times_end_at_frame_timestamp_and_use_device_spacing():
    t = PP.sample_times(TS, 4, None, 50)
    assert t[-1] == pytest.approx(PP.POLAR_EPOCH_UNIX + TS / 1e9)
    assert np.diff(t) == pytest.approx([0.02] * 3, abs=1e-6)  # float64 Unix time: ~0.2 us steps
    # with the previous frame's timestamp, spacing comes from the device clock
    t2 = PP.sample_times(TS + 100_000_000, 4, TS, 50)
    assert np.diff(t2) == pytest.approx([0.025] * 3, abs=1e-6)
    assert t2[0] == pytest.approx(PP.POLAR_EPOCH_UNIX + (TS + 25_000_000) / 1e9)


def test_pmd_start_command_and_response():
    cmd = PP.encode_pmd_start(2, {0: 200, 1: 16, 2: 8})
    assert cmd == h("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    assert PP.encode_pmd_stop(2) == h("03 02")
    ok = PP.parse_pmd_response(h("F0 02 02 00 00 05 01 00 00 80 3F"))
    assert ok.ok and ok.opcode == 2 and PP.pmd_factor(ok.parameters) == 1.0
    half = PP.parse_pmd_response(h("F0 02 02 00 00 05 01 00 00 00 3F"))
    assert PP.pmd_factor(half.parameters) == 0.5
    bad = PP.parse_pmd_response(h("F0 02 02 08"))
    assert not bad.ok and bad.status == 8
    with pytest.raises(PP.PayloadError):
        PP.parse_pmd_response(h("02 02"))


def test_pmd_settings_answer():
    params = h("00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
    assert PP.parse_pmd_settings(params) == {0: [25, 50, 100, 200], 1: [16], 2: [2, 4, 8]}
    with pytest.raises(PP.PayloadError):
        PP.parse_pmd_settings(h("00 04 19 00"))
