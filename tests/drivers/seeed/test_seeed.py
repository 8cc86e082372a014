"""Seeed MR60FDA2 / MR60FDA1: frames decode exactly, drivers configure and verify over a pty.

FDA2 vectors: the command frames ESPHome's seeed_mr60fda2 component sends (header checksum
F0 for install height, F6 for read parameters, CF for reset) checked byte for byte.
FDA1 vector: the reset frame in Seeed's MR60FDA1 library.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

from drivers.base import SensorInfo
from drivers.seeed import fda1, fda2
from drivers.seeed.driver import (
    FDA1Settings,
    FDA2Settings,
    MR60FDA1Driver,
    MR60FDA2Driver,
    SeeedConfigError,
)
from sensordata.readings import FallFlag, Presence
from simulator.emulators.seeed import FDA1Device, FDA1Emulator, FDA2Device, FDA2Emulator
from tests.support.drivers_util import first_readings

h = bytes.fromhex


# ------------------------------------------------------------------ FDA2 frames

def test_fda2_checksum_is_not_of_xor():
    assert fda2.checksum(h("01 00 00 00 04 0E 04")) == 0xF0
    assert fda2.checksum(b"") == 0xFF


def test_fda2_published_command_frames():
    assert fda2.read_params() == h("01 00 00 00 00 0E 06 F6")
    assert fda2.encode(fda2.Frame(fda2.TYPE_RESET)) == h("01 00 00 00 00 21 10 CF")
    frame = fda2.set_install_height(2.4)
    assert frame[:8] == h("01 00 00 00 04 0E 04 F0")
    assert frame[8:12] == struct.pack("<f", 2.4)  # little-endian float in the data
    assert frame[12] == fda2.checksum(frame[8:12])
    assert fda2.set_fall_threshold(0.5)[:8] == h("01 00 00 00 04 0E 08 FC")
    assert fda2.set_sensitivity(15)[:8] == h("01 00 00 00 04 0E 0A FE")
    assert fda2.set_sensitivity(15)[8:12] == h("0F 00 00 00")


def test_fda2_reports_and_params_decode():
    fall = fda2.encode(fda2.Frame(fda2.TYPE_FALL, b"\x01", id=7))
    presence = fda2.encode(fda2.Frame(fda2.TYPE_PRESENCE, b"\x00"))
    params = fda2.encode(fda2.Frame(fda2.TYPE_PARAMS, struct.pack("<ffI", 2.6, 0.3, 30)))
    p = fda2.FDA2Parser()
    a, b, c = p.feed(fall + presence + params)
    assert (a.type, a.data, a.id) == (fda2.TYPE_FALL, b"\x01", 7)
    assert (b.type, b.data) == (fda2.TYPE_PRESENCE, b"\x00")
    got = fda2.decode_params(c.data)
    assert got.install_height_m == pytest.approx(2.6) and got.sensitivity == 30
    assert got.fall_threshold_m == pytest.approx(0.3)
    assert p.stats == {"frames": 3, "checksum_errors": 0, "bad_frames": 0, "bytes_discarded": 0}


def test_fda2_checksum_errors_counted_and_stream_resyncs():
    good = fda2.encode(fda2.Frame(fda2.TYPE_PRESENCE, b"\x01"))
    bad_head = bytearray(good)
    bad_head[7] ^= 0xFF
    bad_data = bytearray(good)
    bad_data[-1] ^= 0x55
    p = fda2.FDA2Parser()
    out = p.feed(bytes(bad_head) + bytes(bad_data) + good)
    assert out == [fda2.Frame(fda2.TYPE_PRESENCE, b"\x01")]
    # each damaged frame counts at least once (stray 0x01 bytes inside it may count too)
    assert p.stats["checksum_errors"] >= 2


def test_fda2_truncated_frame_then_good_frame():
    good = fda2.encode(fda2.Frame(fda2.TYPE_FALL, b"\x01"))
    p = fda2.FDA2Parser()
    out = p.feed(b"\xAB\xCD" + good[:9] + good)
    assert out == [fda2.Frame(fda2.TYPE_FALL, b"\x01")]


# ------------------------------------------------------------------ FDA1 frames

def test_fda1_published_reset_frame_and_sum8():
    assert fda1.reset() == h("53 59 01 02 00 01 0F BF 54 43")
    (f,) = fda1.FDA1Parser().feed(h("53 59 01 02 00 01 0F BF 54 43"))
    assert (f.control, f.command, f.data) == (0x01, 0x02, b"\x0F")


def test_fda1_reports_decode():
    stream = FDA1Device().report(True, False, fda1.MOTION_STILL) + fda1.encode(
        fda1.Frame(0x80, 0x03, b"\x21")) + fda1.encode(fda1.Frame(0x83, 0x05, b"\x01"))
    frames = fda1.FDA1Parser().feed(stream)
    assert [(f.control, f.command, f.data) for f in frames] == [
        (0x80, 0x01, b"\x01"), (0x80, 0x02, b"\x01"), (0x83, 0x01, b"\x00"),
        (0x80, 0x03, b"\x21"), (0x83, 0x05, b"\x01")]


def test_fda1_checksum_and_tail_errors_counted():
    good = fda1.encode(fda1.Frame(0x83, 0x01, b"\x01"))
    bad_sum = bytearray(good)
    bad_sum[-3] ^= 1
    bad_tail = bytearray(good)
    bad_tail[-1] = 0
    p = fda1.FDA1Parser()
    assert p.feed(bytes(bad_sum) + bytes(bad_tail) + good) == [fda1.Frame(0x83, 0x01, b"\x01")]
    assert p.stats["checksum_errors"] == 1 and p.stats["bad_frames"] == 1


# ------------------------------------------------------------------ drivers over a pty

SENSOR = SensorInfo("bath_fall", "bathroom", "seeed_mr60fda2")


async def take(driver, n: int, timeout: float = 5.0) -> list:
    return await first_readings(driver, n, timeout)


async def test_fda2_driver_writes_preset_reads_back_and_reports():
    trace = [(False, False)] * 3 + [(True, False)] * 3 + [(True, True)] * 3 + [(True, False)]
    with FDA2Emulator(trace, period_s=0.02) as emu:
        drv = MR60FDA2Driver(SENSOR, FDA2Settings(port=emu.path, preset="bathroom_ceiling",
                                                  keepalive_s=60))
        await drv.connect()
        try:
            assert emu.device.install_height_m == pytest.approx(2.4)
            assert emu.device.fall_threshold_m == pytest.approx(0.5)
            assert emu.device.sensitivity == 15  # level 2
            assert drv.params.install_height_m == pytest.approx(2.4)
            got = await take(drv, 5)
        finally:
            await drv.disconnect()
    kinds = [(type(r).__name__, getattr(r, "present", getattr(r, "fall", None))) for r in got]
    assert kinds == [("Presence", False), ("FallFlag", False), ("Presence", True),
                     ("FallFlag", True), ("FallFlag", False)]
    assert emu.error is None


async def test_fda2_readback_mismatch_is_a_clear_error():
    with FDA2Emulator([], device=FDA2Device(height_offset_m=0.2)) as emu:
        drv = MR60FDA2Driver(SENSOR, FDA2Settings(port=emu.path, install_height_m=2.5,
                                                  fall_threshold_m=0.4, sensitivity=1))
        with pytest.raises(SeeedConfigError, match=r"install height: wrote 2.5 m, module reports 2.700"):
            await drv.connect()
        await drv.disconnect()


async def test_fda2_refusal_and_silence_are_errors():
    with FDA2Emulator([], device=FDA2Device(refuse={fda2.TYPE_SENSITIVITY})) as emu:
        drv = MR60FDA2Driver(SENSOR, FDA2Settings(port=emu.path, preset="bedroom_ceiling"))
        with pytest.raises(SeeedConfigError, match="refused sensitivity"):
            await drv.connect()
        await drv.disconnect()
    with FDA2Emulator([], device=FDA2Device(ignore={fda2.TYPE_FALL_THRESHOLD})) as emu:
        drv = MR60FDA2Driver(SENSOR, FDA2Settings(port=emu.path, preset="bedroom_ceiling",
                                                  command_timeout_s=0.3))
        with pytest.raises(SeeedConfigError, match="did not answer fall threshold"):
            await drv.connect()
        await drv.disconnect()


def test_fda2_unknown_preset_rejected_at_load():
    with pytest.raises(ValueError, match="unknown MR60FDA2 preset"):
        FDA2Settings(port="/dev/null", preset="bathroom")


async def test_fda1_driver_configures_and_reports_presence_motion_fall():
    trace = [(False, False)] * 2 + [(True, False, fda1.MOTION_ACTIVE)] * 2 + \
            [(True, False, fda1.MOTION_STILL)] * 2 + [(True, True, fda1.MOTION_STILL)]
    with FDA1Emulator(trace, period_s=0.02) as emu:
        drv = MR60FDA1Driver(SensorInfo("hall", "hall", "seeed_mr60fda1"),
                             FDA1Settings(port=emu.path, install_height_m=2.7, sensitivity=2,
                                          fall_confirm_s=20, keepalive_s=60))
        await drv.connect()
        try:
            assert (emu.device.install_height_cm, emu.device.sensitivity,
                    emu.device.fall_confirm_s) == (270, 2, 20)
            got = await take(drv, 5)
        finally:
            await drv.disconnect()
    pres = [(r.present, r.moving) for r in got if isinstance(r, Presence)]
    falls = [r.fall for r in got if isinstance(r, FallFlag)]
    # presence and motion frames of one burst make one reading
    assert pres == [(False, False), (True, True), (True, False)]
    assert falls == [False, True]


async def test_fda1_silent_module_error_names_the_uncertainty():
    with FDA1Emulator([], device=FDA1Device(silent=True)) as emu:
        drv = MR60FDA1Driver(SensorInfo("hall", "hall", "seeed_mr60fda1"),
                             FDA1Settings(port=emu.path, install_height_m=2.7,
                                          command_timeout_s=0.2))
        with pytest.raises(SeeedConfigError, match="unconfirmed"):
            await drv.connect()
        await drv.disconnect()
    # with verification off the same module is usable
    with FDA1Emulator([(True, False)], device=FDA1Device(silent=True), period_s=0.02) as emu:
        drv = MR60FDA1Driver(SensorInfo("hall", "hall", "seeed_mr60fda1"),
                             FDA1Settings(port=emu.path, install_height_m=2.7, verify=False))
        await drv.connect()
        try:
            got = await take(drv, 2)
        finally:
            await drv.disconnect()
        assert [r.present for r in got if isinstance(r, Presence)] == [True]
        assert emu.device.received[0] == fda1.Frame(0x06, 0x02, struct.pack(">H", 270))


# ------------------------------------------------------------------ safehome decode

def test_decode_cli_for_ld2410_and_seeed_captures(tmp_path, capsys):
    import json

    from drivers.ld2410 import protocol as LP
    from gateway.cli import main
    from simulator.emulators.ld2410 import LD2410Device, presence_trace

    ld = LD2410Device()
    cap = tmp_path / "ld2410.bin"
    cap.write_bytes(b"\x00" * 5 + LP.encode_ack(LP.CMD_ENTER_CONFIG, 0, h("01 00 40 00"))
                    + b"".join(ld.report(*a) for a in presence_trace([0, 2, 3])) + b"\xF4\xF3\xF2")
    assert main(["decode", "--driver", "hlk_ld2410", "--json", str(cap)]) == 0
    out, err = capsys.readouterr()
    recs = [json.loads(line) for line in out.splitlines()]
    assert recs[0] == {"kind": "ack", "command": "enter config", "status": 0}
    assert [(r["present"], r["moving"], r["still"]) for r in recs[1:]] == [
        (False, False, False), (True, False, True), (True, True, True)]
    assert "frames decoded: 4, frames dropped: 0, bytes discarded: 8" in err

    f2 = tmp_path / "fda2.bin"
    bad = bytearray(FDA2Device.report(True, False))
    bad[-1] ^= 0xFF  # damaged fall frame
    f2.write_bytes(FDA2Device.report(False, False) + bytes(bad) + fda2.encode(
        fda2.Frame(fda2.TYPE_PARAMS, struct.pack("<ffI", 2.4, 0.5, 15))))
    assert main(["decode", "--driver", "seeed_mr60fda2", "--json", str(f2)]) == 0
    out, err = capsys.readouterr()
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["kind"] for r in recs] == ["presence", "fall", "presence", "params"]
    assert recs[3]["install_height_m"] == pytest.approx(2.4) and recs[3]["sensitivity"] == 15
    # the damaged frame is dropped; stray 0x01 bytes inside it may count as false starts too
    import re
    dropped = int(re.search(r"frames dropped: (\d+)", err).group(1))
    assert err.startswith("frames decoded: 4,") and dropped >= 1
    assert "checksum errors: 1" in err

    f1 = tmp_path / "fda1.bin"
    f1.write_bytes(FDA1Device().report(True, True) + b"\x53\x59\x80")
    assert main(["decode", "--driver", "seeed_mr60fda1", str(f1)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["kind=presence value=1", "kind=motion value=2", "kind=fall value=1"]
    assert "frames decoded: 3, frames dropped: 0, bytes discarded: 3" in err


async def test_quiet_module_is_probed_and_answers_keep_presence_alive():
    # one presence report, then the module only answers questions: each probe's answer
    # repeats the presence reading, so the gateway does not call a healthy module silent
    with FDA2Emulator([(True, False)], period_s=0.02, repeat_last=False) as emu:
        drv = MR60FDA2Driver(SENSOR, FDA2Settings(port=emu.path, configure=False,
                                                  keepalive_s=0.15))
        await drv.connect()
        try:
            got = await take(drv, 4)
        finally:
            await drv.disconnect()
        probes = [f for f in emu.device.received if f.type == fda2.TYPE_PARAMS]
    pres = [r for r in got if isinstance(r, Presence)]
    assert [r.present for r in pres] == [True] * 3
    assert all(b.t - a.t >= 0.14 for a, b in zip(pres, pres[1:], strict=False))
    assert len(probes) >= 2 and drv.stats["probes"] >= 2


async def test_module_that_answers_nothing_yields_nothing():
    with FDA2Emulator([(True, False)], device=FDA2Device(ignore={fda2.TYPE_PARAMS}),
                      period_s=0.02, repeat_last=False) as emu:
        drv = MR60FDA2Driver(SENSOR, FDA2Settings(port=emu.path, configure=False,
                                                  keepalive_s=0.1))
        await drv.connect()
        try:
            first = await take(drv, 2)
            with pytest.raises(asyncio.TimeoutError):
                await take(drv, 1, timeout=0.5)
        finally:
            await drv.disconnect()
    assert [type(r) for r in first] == [Presence, FallFlag]
    assert drv.stats["probes"] >= 3


def test_seeed_emulator_trace_from_readings():
    from simulator.emulators.seeed import trace_from_readings

    recorded = [Presence("s", 10.0, True), FallFlag("s", 10.2, True), FallFlag("s", 10.4, False),
                Presence("s", 10.5, False)]
    assert trace_from_readings(recorded, 0.1) == [
        (True, False), (True, False), (True, True), (True, True), (True, False), (False, False)]


@pytest.mark.slow
async def test_daemon_end_to_end_fda2_fall_flag_becomes_a_fall_alarm(mosquitto, tmp_path):
    """The real `safehome run` with a seeed_mr60fda2 on the emulator's pty: the driver
    configures the module from its preset, the module raises its fall flag, and the fall
    alarm reaches the centre with texts in three languages."""
    import signal

    from tests.support.gateway_proc import GatewayProcess, Listener, write_home

    trace = [(True, False)] * 40 + [(True, True)] * 40 + [(True, False)]
    with FDA2Emulator(trace, period_s=0.05) as emu:
        cfg = write_home(tmp_path, mosquitto.url, f"""\
            gateway_id = "gw-fda2"
            site_id = "site-test"
            [[rooms]]
            id = "bathroom"
            [[sensors]]
            id = "fall_bath"
            type = "seeed_mr60fda2"
            room = "bathroom"
            timeout = 60
            [sensors.settings]
            port = "{emu.path}"
            preset = "bathroom_ceiling"
        """, extra="""\
            [alarm]
            cancel_window = 0
        """)
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            gw = GatewayProcess(cfg).start()
            try:
                alarm = (await centre.wait_for("alarm", 1, timeout=30))[0]
            finally:
                gw.signal(signal.SIGTERM)
                assert gw.wait() == 0, gw.output()
        assert emu.error is None
        assert emu.device.install_height_m == pytest.approx(2.4)
        assert emu.device.sensitivity == 15
    assert alarm["type"] == "fall", alarm
    assert set(alarm["text"]) == {"fi", "sv", "en"}
    assert "fall_bath" in str(alarm)


async def test_quiet_fda1_in_an_empty_room_is_probed_and_not_reported_silent():
    # An MR60FDA1 reports presence on change: in an empty room it says "nobody" once and
    # then nothing. Its presence query (80 81) must be sent after keepalive_s of quiet,
    # and each answer repeats "nobody here", so the gateway does not call it silent.
    with FDA1Emulator([(False, False)], period_s=0.02, repeat_last=False) as emu:
        drv = MR60FDA1Driver(SensorInfo("bath", "bath", "seeed_mr60fda1"),
                             FDA1Settings(port=emu.path, keepalive_s=0.15))
        await drv.connect()
        try:
            got = await take(drv, 4)
        finally:
            await drv.disconnect()
        probes = [f for f in emu.device.received
                  if (f.control, f.command) == (fda1.CTRL_PRESENCE,
                                                fda1.CMD_PRESENCE | fda1.QUERY_BIT)]
    pres = [r for r in got if isinstance(r, Presence)]
    assert [(r.present, r.moving) for r in pres] == [(False, False)] * 3
    assert all(b.t - a.t >= 0.14 for a, b in zip(pres, pres[1:], strict=False))
    assert len(probes) >= 2 and drv.stats["probes"] >= 2
