"""The real hlk_ld2410 driver end to end through a pty pair fed by the LD2410 emulator."""

from __future__ import annotations

import asyncio
import json

import pytest

from drivers.base import SensorInfo
from drivers.ld2410 import protocol as P
from drivers.ld2410.driver import LD2410ConfigError, LD2410Driver, Settings
from drivers.ld2410.presets import load_preset
from simulator.emulators.ld2410 import LD2410Device, LD2410Emulator, presence_trace
from tests.support.drivers_util import first_readings

SENSOR = SensorInfo("bedroom_radar", "bedroom", "hlk_ld2410")


async def collect(driver, n: int, timeout: float = 5.0) -> list:
    return await first_readings(driver, n, timeout)


async def test_configures_from_preset_then_streams_presence_changes():
    trace = presence_trace([0] * 4 + [1] * 4 + [2] * 4 + [0] * 4)
    with LD2410Emulator(trace, period_s=0.02, garbage_first=b"\x13\xF4\xF3noise") as emu:
        drv = LD2410Driver(SENSOR, Settings(port=emu.path, preset="bedroom_wall",
                                            keepalive_s=60))
        await drv.connect()
        try:
            # what the module holds now equals the preset, proven by its own read-back
            want = load_preset("bedroom_wall").radar
            assert emu.device.params.max_moving_gate == want.max_moving_gate
            assert emu.device.params.moving_sensitivity == tuple(want.moving_sensitivity)
            assert emu.device.params.still_sensitivity == tuple(want.still_sensitivity)
            assert emu.device.params.no_one_duration_s == want.no_one_duration_s
            assert not emu.device.config_mode
            sent = [c.command for c in emu.device.commands]
            assert sent[0] == P.CMD_ENTER_CONFIG and sent[-1] == P.CMD_LEAVE_CONFIG
            assert sent.count(P.CMD_SET_GATE_SENSITIVITY) == 9
            assert drv.firmware == "V1.07.22091516"
            readings = await collect(drv, 4)
        finally:
            await drv.disconnect()
    states = [(r.present, r.moving) for r in readings]
    assert states == [(False, False), (True, True), (True, False), (False, False)]
    assert readings[1].distance_m == pytest.approx(1.5)
    assert all(r.sensor == "bedroom_radar" for r in readings)
    assert emu.error is None


async def test_keepalive_repeats_state_while_reports_flow():
    with LD2410Emulator(presence_trace([2]), period_s=0.02) as emu:
        drv = LD2410Driver(SENSOR, Settings(port=emu.path, configure=False, keepalive_s=0.15))
        await drv.connect()
        try:
            readings = await collect(drv, 3)
        finally:
            await drv.disconnect()
    assert [r.present for r in readings] == [True, True, True]
    gaps = [b.t - a.t for a, b in zip(readings, readings[1:], strict=False)]
    assert all(g >= 0.14 for g in gaps)


async def test_silent_radar_yields_nothing_so_silence_is_visible():
    with LD2410Emulator(presence_trace([2]), period_s=0.02, repeat_last=False) as emu:
        drv = LD2410Driver(SENSOR, Settings(port=emu.path, configure=False, keepalive_s=0.05))
        await drv.connect()
        try:
            first = await collect(drv, 1)
            with pytest.raises(asyncio.TimeoutError):
                await collect(drv, 1, timeout=0.4)
        finally:
            await drv.disconnect()
    assert first[0].present


async def test_engineering_mode_is_switched_on_when_asked():
    with LD2410Emulator(presence_trace([1]), period_s=0.02) as emu:
        drv = LD2410Driver(SENSOR, Settings(port=emu.path, engineering=True))
        await drv.connect()
        try:
            await collect(drv, 1)
        finally:
            await drv.disconnect()
        assert emu.device.engineering
    assert drv.stats["reports"] >= 1 and drv.stats["malformed"] == 0


async def test_refused_command_is_a_clear_error_and_config_mode_is_left():
    device = LD2410Device(fail={P.CMD_SET_GATE_SENSITIVITY})
    with LD2410Emulator(presence_trace([0]), device=device, period_s=0.02) as emu:
        drv = LD2410Driver(SENSOR, Settings(port=emu.path, preset="hallway_wall"))
        with pytest.raises(LD2410ConfigError, match="refused 'set gate sensitivity'"):
            await drv.connect()
        await asyncio.sleep(0.1)
        await drv.disconnect()
        assert not emu.device.config_mode  # the driver left config mode on its way out


async def test_silent_module_times_out_naming_the_command(tmp_path):
    import os
    import pty
    import tty
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        drv = LD2410Driver(SENSOR, Settings(port=os.ttyname(slave), command_timeout_s=0.2))
        with pytest.raises(LD2410ConfigError, match="did not answer 'enter config'"):
            await drv.connect()
        await drv.disconnect()
        assert drv.stats["enter_config_retries"] == 3  # a booting module gets three tries
    finally:
        os.close(master)
        os.close(slave)


async def test_capture_file_replays_without_configuring(tmp_path):
    dev = LD2410Device()
    raw = b"\xAA" * 7 + b"".join(dev.report(*args) for args in presence_trace([0, 0, 3, 3, 2]))
    cap = tmp_path / "ld2410.bin"
    cap.write_bytes(raw[:-5])  # a capture cut short mid-frame
    drv = LD2410Driver(SENSOR, Settings(port=f"file:{cap}", preset="bedroom_wall"))
    await drv.connect()
    readings = [r async for r in drv.readings()]
    await drv.disconnect()
    assert [(r.present, r.moving) for r in readings] == [(False, False), (True, True)]
    assert drv.stats["reports"] == 4 and drv.stats["bytes_discarded"] == 7


@pytest.mark.slow
async def test_daemon_end_to_end_keepalive_then_silence_reaches_the_centre(mosquitto, tmp_path):
    """The real `safehome run` with an hlk_ld2410 sensor on the emulator's pty: a person
    lies still for 8 s (no state change, so only the driver's keepalive readings keep the
    sensor alive past its 5 s timeout), then the module falls silent; the centre gets one
    sensor_silent for it, and only after the silence began."""
    import signal
    import time

    from tests.support.gateway_proc import GatewayProcess, Listener, write_home

    with LD2410Emulator(presence_trace([2] * 160), period_s=0.05, repeat_last=False) as emu:
        cfg = write_home(tmp_path, mosquitto.url, f"""\
            gateway_id = "gw-ld2410"
            site_id = "site-test"
            [[rooms]]
            id = "bedroom"
            [[sensors]]
            id = "radar_bed"
            type = "hlk_ld2410"
            room = "bedroom"
            timeout = 5
            [sensors.settings]
            port = "{emu.path}"
            preset = "bedroom_wall"
            keepalive_s = 1.0
        """)
        async with Listener(mosquitto.host, mosquitto.port) as centre:
            started = time.monotonic()
            gw = GatewayProcess(cfg).start()
            try:
                deadline = time.monotonic() + 40
                silent: list = []
                while not silent and time.monotonic() < deadline:
                    silent = [e for e in centre.on("event") if e.get("type") == "sensor_silent"]
                    await asyncio.sleep(0.1)
                silent_after = time.monotonic() - started
            finally:
                gw.signal(signal.SIGTERM)
                assert gw.wait() == 0, gw.output()
        assert emu.error is None
        assert emu.reports_sent == 160
        commands = [c.command for c in emu.device.commands]
        assert commands[0] == P.CMD_ENTER_CONFIG and commands[-1] == P.CMD_LEAVE_CONFIG
    assert len(silent) == 1, centre.messages[-10:]
    assert "radar_bed" in json.dumps(silent[0])
    # 8 s of still presence, then the 5 s timeout: never silent while reports flowed
    assert silent_after >= 8 + 5 - 1


async def test_emulator_replays_a_trace_of_presence_readings():
    from sensordata.readings import Presence
    from simulator.emulators.ld2410 import trace_from_readings

    recorded = [Presence("r", 100.0, False, False), Presence("r", 100.3, True, True, 2.25),
                Presence("r", 100.6, True, False, 2.25), Presence("r", 100.9, False, False)]
    trace = trace_from_readings(recorded, period_s=0.1)
    assert len(trace) == 10
    with LD2410Emulator(trace, period_s=0.02, repeat_last=False) as emu:
        drv = LD2410Driver(SENSOR, Settings(port=emu.path, configure=False, keepalive_s=60))
        await drv.connect()
        try:
            got = await collect(drv, 4)
        finally:
            await drv.disconnect()
    assert [(r.present, r.moving) for r in got] == [(r.present, r.moving) for r in recorded]
    assert got[1].distance_m == pytest.approx(2.25)
