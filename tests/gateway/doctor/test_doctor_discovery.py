"""`safehome discover`: real pty radars are recognised from their own bytes, BLE wearables
from their advertisements (fake bleak), and every snippet printed is a valid config."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from drivers.ble import common
from drivers.ble.button import ITAG_SERVICE
from drivers.ble.heart_rate import HEART_RATE_SERVICE
from drivers.ble.polar import PMD_SERVICE
from drivers.ld2410 import protocol as LP
from gateway.cli import main
from simulator.emulators import ti_mmwave as TI
from simulator.emulators.ld2410 import FIRMWARE_ACK_DATA, LD2410Emulator, presence_trace
from simulator.emulators.pty import PtyDevice, PtyPort
from simulator.emulators.seeed import FDA1Emulator, FDA2Emulator
from tests.support.doubles.fake_bleak import FakePeripheral, FakeWorld

HEADER = textwrap.dedent("""\
    gateway_id = "gw-new-01"
    site_id = "site-new"
    [[rooms]]
    id = "living"
    """)


def discover(capsys, *args: str) -> dict:
    assert main(["discover", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def config_check_accepts(capsys, tmp_path: Path, snippets: str) -> None:
    cfg = tmp_path / "home.toml"
    cfg.write_text(HEADER + "\n" + snippets)
    rc = main(["config", "check", str(cfg)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "OK" in out


def start_streaming(emu: TI.TiRadarEmulator) -> None:
    """What the radar's firmware needs before it talks on the data port."""
    fd = os.open(emu.cli_path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"sensorStart\n")
    finally:
        os.close(fd)


def tracking_frames() -> list[bytes]:
    return TI.walking_then_fall(200, fps=20.0)


def test_finds_a_pty_ld2410_and_a_ti_data_stream_and_prints_valid_snippets(capsys, tmp_path):
    with LD2410Emulator(presence_trace([2]), period_s=0.05) as ld, \
            TI.TiRadarEmulator(tracking_frames(), fps=20.0) as ti:
        start_streaming(ti)
        report = discover(capsys, "--no-ble", "--timeout", "1", "--port", ld.path,
                          "--port", ti.data_path)
    found = {r["port"]: r["found"] for r in report["serial"]}
    assert found[ld.path]["type"] == "hlk_ld2410" and found[ld.path]["baud"] == 256000
    assert found[ld.path]["frames"] >= 2
    assert found[ti.data_path]["type"] == "ti_mmwave" and found[ti.data_path]["baud"] == 921600
    assert found[ti.data_path]["tracking"] is True
    snippets = report["snippets"]
    assert f'port = "{ld.path}"' in snippets and f'data_port = "{ti.data_path}"' in snippets
    assert 'config = "iwr6843aop_ceiling"' in snippets  # tracking TLVs: the tracking config
    # never a guessed CLI port that is live: a chirp config must not go to the wrong device
    assert "\ncli_port" not in snippets and "# cli_port" in snippets
    assert report["ble"]["available"] is None  # --no-ble
    config_check_accepts(capsys, tmp_path, snippets)


def test_ld2410_firmware_is_read_only_when_asked(capsys):
    with LD2410Emulator(presence_trace([1]), period_s=0.05) as ld:
        report = discover(capsys, "--no-ble", "--timeout", "0.8", "--port", ld.path,
                          "--query-ld2410")
        sent = [c.command for c in ld.device.commands]
    [r] = [r for r in report["serial"] if r["port"] == ld.path]
    assert r["found"]["firmware"] == LP.decode_firmware(FIRMWARE_ACK_DATA)
    assert sent == [LP.CMD_ENTER_CONFIG, LP.CMD_FIRMWARE_VERSION, LP.CMD_LEAVE_CONFIG]
    assert "firmware V1.07" in report["snippets"]


class Chatter(PtyDevice):
    """A serial device that is none of ours (a modem printing text)."""

    def __init__(self) -> None:
        self.port = PtyPort("chatter")
        super().__init__(self.port)
        self._next = 0.0

    def on_read(self, port, data):
        pass

    def on_tick(self, now):
        if now >= self._next:
            self._next = now + 0.05
            self.port.write(b"AT+CSQ\r\nOK\r\n" + bytes(range(256)))


def test_a_port_of_an_unknown_device_is_reported_as_unrecognised(capsys):
    with Chatter() as dev:
        rc = main(["discover", "--no-ble", "--timeout", "0.4", "--port", dev.port.path])
    out = capsys.readouterr().out
    assert rc == 0
    line = next(ln for ln in out.splitlines() if dev.port.path in ln)
    assert "nothing recognised" in line and "bytes at 921600" in line
    assert "[[sensors]]" not in out


def test_ble_wearables_are_found_by_advertised_service(capsys, tmp_path):
    world = FakeWorld(
        FakePeripheral("C0:FF:EE:00:00:01", [HEART_RATE_SERVICE], rssi=-60, name="HR strap"),
        FakePeripheral("A0:9E:1A:00:00:02", [HEART_RATE_SERVICE], rssi=-70, name="Polar H10 1234"),
        FakePeripheral("10:00:00:00:00:03", [ITAG_SERVICE], rssi=-80, name="iTAG"),
        FakePeripheral("20:00:00:00:00:04", [PMD_SERVICE], rssi=-65, name=None),
        FakePeripheral("AA:AA:AA:AA:AA:AA", ["0000feaa-0000-1000-8000-00805f9b34fb"]))
    common.use_backend(world.backend())
    try:
        report = discover(capsys, "--ble-timeout", "0.1")
    finally:
        common.use_backend(None)
    ble = report["ble"]
    assert ble["available"] is True
    types = {d["address"]: d["types"] for d in ble["devices"]}
    assert types == {"C0:FF:EE:00:00:01": ["ble_heart_rate"],
                     "A0:9E:1A:00:00:02": ["polar_pmd", "ble_heart_rate"],
                     "10:00:00:00:00:03": ["ble_button"],
                     "20:00:00:00:00:04": ["polar_pmd"]}
    assert [d["address"] for d in ble["devices"]][0] == "C0:FF:EE:00:00:01"  # strongest first
    assert report["snippets"].count("[[sensors]]") == 5
    assert ("scan",) in world.calls
    config_check_accepts(capsys, tmp_path, report["snippets"])


def test_without_an_adapter_ble_is_reported_not_available(capsys, monkeypatch):
    monkeypatch.setattr("gateway.doctor.devices.bluetooth_adapters", lambda: [])
    assert main(["discover", "--timeout", "0.1", "--ble-timeout", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "BLE: not available: no Bluetooth adapter found" in out


def test_seeed_fall_radars_are_told_apart_at_115200(capsys, tmp_path):
    with FDA2Emulator([(True, False)]) as fda2, FDA1Emulator([(True, False)]) as fda1:
        report = discover(capsys, "--no-ble", "--timeout", "0.6", "--port", fda2.path,
                          "--port", fda1.path)
    found = {r["port"]: r["found"] for r in report["serial"]}
    assert found[fda2.path]["type"] == "seeed_mr60fda2" and found[fda2.path]["baud"] == 115200
    assert found[fda1.path]["type"] == "seeed_mr60fda1"
    config_check_accepts(capsys, tmp_path, report["snippets"])


MMFALL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "radar-real-dev" / "mmfall"


def capture_frames(path: Path) -> list[bytes]:
    """A raw TI capture cut at its magic words: the frames exactly as the radar sent them."""
    data = path.read_bytes()
    starts = [i for i in range(len(data)) if data.startswith(TI_MAGIC, i)] + [len(data)]
    return [data[a:b] for a, b in zip(starts, starts[1:], strict=False)]


TI_MAGIC = bytes([2, 1, 4, 3, 6, 5, 8, 7])


@pytest.mark.skipif(not MMFALL.is_dir(), reason="shared radar captures absent")
def test_listening_through_a_walk_reports_the_radars_mounting(capsys, tmp_path):
    """The real walking capture replayed fast on a pty: discover --listen measures the
    mounting the capture shows (about 1.1 m, 15 degrees; its config claims 2 m / 10)."""
    frames = capture_frames(MMFALL / "people_tracking_walking.bin")
    with TI.TiRadarEmulator(frames, fps=1500.0) as ti:
        start_streaming(ti)
        report = discover(capsys, "--no-ble", "--timeout", "0.5", "--port", ti.data_path,
                          "--listen", "6")
    [r] = [r for r in report["serial"] if r["port"] == ti.data_path]
    m = r["found"]["mounting"]
    assert m is not None, r["found"].get("mounting_note")
    assert m["height_m"] == pytest.approx(1.09, abs=0.1)
    assert m["tilt_deg"] == pytest.approx(14.9, abs=2.0)
    assert "sensorPosition" in r["found"]["mounting_note"]
    assert "measured from a walk (discover --listen): sensor_height_m = " in report["snippets"]
    config_check_accepts(capsys, tmp_path, report["snippets"])


def test_a_short_listen_says_the_mounting_is_not_measurable(capsys):
    with TI.TiRadarEmulator(tracking_frames(), fps=20.0) as ti:
        start_streaming(ti)
        rc = main(["discover", "--no-ble", "--timeout", "0.5", "--port", ti.data_path,
                   "--listen", "0.5"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "mounting: not measurable" in out and "walk across the room" in out
