"""HLK-LD2410 frames: published frames decode exactly; presence comes from the state byte.

The basic and engineering report, read-parameters, enter-config and firmware frames below
are the ones Tasmota's driver quotes from real modules (xsns_102_ld2410.ino comments) and
the examples of the HLK serial protocol manual; the command frames are that manual's byte
layouts.
"""

from __future__ import annotations

import pytest

from drivers.ld2410 import protocol as P
from drivers.ld2410.driver import Settings, presence_from_report
from drivers.ld2410.parser import LD2410Parser


def h(s: str) -> bytes:
    return bytes.fromhex(s)


# (frame, state, moving cm, moving energy, still cm, still energy, detect cm)
REAL_BASIC = [
    ("F4 F3 F2 F1 0D 00 02 AA 00 00 00 00 00 00 37 00 00 55 00 F8 F7 F6 F5", 0, 0, 0, 0, 0x37, 0),
    ("F4 F3 F2 F1 0D 00 02 AA 00 45 00 3E 00 00 3A 00 00 55 00 F8 F7 F6 F5", 0, 0x45, 0x3E, 0, 0x3A, 0),
    ("F4 F3 F2 F1 0D 00 02 AA 03 46 00 34 00 00 3C 00 00 55 00 F8 F7 F6 F5", 3, 0x46, 0x34, 0, 0x3C, 0),
    ("F4 F3 F2 F1 0D 00 02 AA 02 54 00 00 00 00 64 00 00 55 00 F8 F7 F6 F5", 2, 0x54, 0, 0, 0x64, 0),
    ("F4 F3 F2 F1 0D 00 02 AA 02 96 00 00 00 00 36 00 00 55 00 F8 F7 F6 F5", 2, 0x96, 0, 0, 0x36, 0),
    ("F4 F3 F2 F1 0D 00 02 AA 03 2A 00 64 00 00 64 00 00 55 00 F8 F7 F6 F5", 3, 0x2A, 0x64, 0, 0x64, 0),
]


@pytest.mark.parametrize("frame,state,md,me,sd,se,dd", REAL_BASIC)
def test_real_basic_reports_decode_field_by_field(frame, state, md, me, sd, se, dd):
    p = LD2410Parser()
    (r,) = p.feed(h(frame))
    assert isinstance(r, P.Report) and not r.engineering
    assert (r.state, r.moving_distance_cm, r.moving_energy, r.still_distance_cm,
            r.still_energy, r.detection_distance_cm) == (state, md, me, sd, se, dd)
    assert p.stats["reports"] == 1 and p.stats["bytes_discarded"] == 0


def test_presence_comes_from_state_byte_not_energies():
    # second real frame: moving 69 cm at energy 62 and still energy 58, yet state 0
    (r,) = LD2410Parser().feed(h(REAL_BASIC[1][0]))
    assert r.moving_energy > 0 and r.still_energy > 0
    reading = presence_from_report("s", 1.0, r)
    assert reading.present is False and reading.distance_m is None
    (both,) = LD2410Parser().feed(h(REAL_BASIC[2][0]))
    reading = presence_from_report("s", 1.0, both)
    assert reading.present and reading.moving and reading.distance_m == pytest.approx(0.70)
    (still,) = LD2410Parser().feed(h(REAL_BASIC[3][0]))
    reading = presence_from_report("s", 1.0, still)
    assert reading.present and reading.moving is False


def test_engineering_report_manual_example():
    # the HLK serial protocol manual's engineering-mode example
    frame = h("F4 F3 F2 F1 23 00 01 AA 03 1E 00 3C 00 00 39 00 00 08 08 3C 22 05 03 03 04 03"
              " 06 05 00 00 39 10 13 06 06 08 04 03 05 55 00 F8 F7 F6 F5")
    (r,) = LD2410Parser().feed(frame)
    assert r.engineering and r.state == 3 and r.present and r.moving and r.still
    assert (r.moving_distance_cm, r.moving_energy, r.still_distance_cm, r.still_energy,
            r.detection_distance_cm) == (30, 60, 0, 57, 0)
    assert (r.max_moving_gate, r.max_still_gate) == (8, 8)
    assert r.moving_gate_energy == (0x3C, 0x22, 5, 3, 3, 4, 3, 6, 5)
    assert r.still_gate_energy == (0, 0, 0x39, 0x10, 0x13, 6, 6, 8, 4)
    assert (r.light, r.out_pin) == (3, True)  # the two trailing bytes ("retain data")


def test_engineering_report_real_device_no_target_with_energies():
    # a real module (quoted in Tasmota's driver): state 0 although distances and gate
    # energies are non-zero; light level 0x62, OUT pin low
    frame = h("F4 F3 F2 F1 23 00 01 AA 00 1E 00 00 1E 00 0D 00 00 08 08 13 0E 07 02 05 07 03"
              " 04 05 00 00 0D 06 05 05 05 05 05 62 00 55 00 F8 F7 F6 F5")
    (r,) = LD2410Parser().feed(frame)
    assert r.state == 0 and not r.present
    assert (r.moving_distance_cm, r.still_distance_cm, r.still_energy) == (30, 30, 13)
    assert r.moving_gate_energy == (0x13, 0x0E, 7, 2, 5, 7, 3, 4, 5)
    assert r.still_gate_energy == (0, 0, 0x0D, 6, 5, 5, 5, 5, 5)
    assert (r.light, r.out_pin) == (0x62, False)
    assert presence_from_report("s", 0.0, r).present is False
    assert P.encode_report(r) == frame  # our encoder writes the same bytes back


def test_basic_report_manual_example():
    (r,) = LD2410Parser().feed(h("F4 F3 F2 F1 0D 00 02 AA 02 51 00 00 00 00 3B 00 00 55 00 F8 F7 F6 F5"))
    assert (r.state, r.moving_distance_cm, r.still_energy) == (2, 0x51, 0x3B)
    assert presence_from_report("s", 0.0, r).moving is False


def test_engineering_report_without_extras_from_older_firmware():
    r = P.Report(True, 1, 100, 50, 0, 0, 100, 4, 4, (1, 2, 3, 4, 5), (6, 7, 8, 9, 10))
    (back,) = LD2410Parser().feed(P.encode_report(r))
    assert back == r and back.light is None and back.out_pin is None


def test_read_parameters_ack_real_frame():
    frame = h("FD FC FB FA 1C 00 61 01 00 00 AA 08 08 08 32 32 28 1E 14 0F 0F 0F 0F 00 00 28 28"
              " 1E 1E 14 14 14 05 00 04 03 02 01")
    (ack,) = LD2410Parser().feed(frame)
    assert isinstance(ack, P.Ack) and ack.command == P.CMD_READ_PARAMS and ack.ok
    params = P.decode_params(ack.data)
    assert params == P.Params(8, 8, 8, (50, 50, 40, 30, 20, 15, 15, 15, 15),
                              (0, 0, 40, 40, 30, 30, 20, 20, 20), 5)
    assert P.encode_ack(P.CMD_READ_PARAMS, 0, P.encode_params(params)) == frame


def test_enter_config_and_firmware_acks_real_frames():
    enter, fw = LD2410Parser().feed(
        h("FD FC FB FA 08 00 FF 01 00 00 01 00 40 00 04 03 02 01"
          "FD FC FB FA 0C 00 A0 01 00 00 00 01 07 01 16 15 09 22 04 03 02 01"))
    assert enter.command == P.CMD_ENTER_CONFIG and enter.ok and enter.data == h("01 00 40 00")
    assert fw.command == P.CMD_FIRMWARE_VERSION
    assert P.decode_firmware(fw.data) == "V1.07.22091516"


def test_failed_ack_status_is_not_ok():
    (ack,) = LD2410Parser().feed(P.encode_ack(P.CMD_SET_GATE_SENSITIVITY, 1))
    assert ack.command == P.CMD_SET_GATE_SENSITIVITY and not ack.ok


def test_command_frames_byte_layout():
    assert P.enter_config() == h("FD FC FB FA 04 00 FF 00 01 00 04 03 02 01")
    assert P.leave_config() == h("FD FC FB FA 02 00 FE 00 04 03 02 01")
    assert P.read_params() == h("FD FC FB FA 02 00 61 00 04 03 02 01")
    assert P.set_max_gates(8, 8, 5) == h(
        "FD FC FB FA 14 00 60 00 00 00 08 00 00 00 01 00 08 00 00 00 02 00 05 00 00 00 04 03 02 01")
    assert P.set_gate_sensitivity(3, 40, 40) == h(
        "FD FC FB FA 14 00 64 00 00 00 03 00 00 00 01 00 28 00 00 00 02 00 28 00 00 00 04 03 02 01")
    assert P.set_gate_sensitivity(P.ALL_GATES, 40, 40)[10:14] == h("FF FF 00 00")
    (cmd,) = LD2410Parser().feed(P.set_max_gates(6, 5, 30))
    assert isinstance(cmd, P.Command) and P.decode_word_values(cmd.value) == {0: 6, 1: 5, 2: 30}


def test_split_chunks_mid_header_and_leading_junk():
    stream = b"\x00\x55\xF8" + b"".join(h(f[0]) for f in REAL_BASIC)
    p = LD2410Parser()
    out = []
    for i in range(0, len(stream), 5):
        out += p.feed(stream[i:i + 5])
    assert [r.state for r in out] == [f[1] for f in REAL_BASIC]
    assert p.stats["bytes_discarded"] == 3


def test_truncated_frame_then_good_frame_recovers_and_counts():
    good = h(REAL_BASIC[2][0])
    p = LD2410Parser()
    out = p.feed(good[:12] + good + good)
    assert len(out) == 2 and all(r.state == 3 for r in out)
    assert p.stats["bad_frames"] >= 1


def test_corrupted_length_is_rejected_without_waiting():
    p = LD2410Parser()
    out = p.feed(h("F4 F3 F2 F1 FF 7F") + h(REAL_BASIC[0][0]))
    assert len(out) == 1 and p.stats["bad_frames"] == 1


def test_invalid_state_byte_counts_as_malformed():
    bad = bytearray(h(REAL_BASIC[0][0]))
    bad[8] = 7
    p = LD2410Parser()
    assert p.feed(bytes(bad)) == []
    assert p.stats["malformed"] == 1


def test_settings_merge_preset_and_overrides_and_reject_unknown_preset():
    s = Settings(port="/dev/null", preset="bedroom_wall", max_moving_gate=5)
    radar = s.radar()
    assert radar.max_moving_gate == 5 and radar.max_still_gate == 6
    with pytest.raises(ValueError, match="unknown LD2410 preset"):
        Settings(port="/dev/null", preset="bedroom_wal")
    with pytest.raises(ValueError):
        Settings(port="/dev/null", moving_sensitivity=[10] * 8)
    with pytest.raises(ValueError):
        Settings(port="/dev/null", bogus=1)
