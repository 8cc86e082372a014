"""A pty-emulated IWR6843AOP feeds the real `safehome run` daemon end to end: the daemon's
ti_mmwave driver configures the emulator over its CLI pty, reads people-tracking frames
of a person who walks and falls, the radar fall detector sees it, and the fall alarm
reaches the centre over a real mosquitto broker."""

from __future__ import annotations

import signal

import pytest

from simulator.emulators import ti_mmwave as E
from tests.support.gateway_proc import GatewayProcess, Listener, write_home


@pytest.mark.slow
async def test_emulated_radar_fall_reaches_the_centre_as_an_alarm(mosquitto, tmp_path):
    frames = E.walking_then_fall(200, fps=20.0, fall_at=2.0)  # 10 s of frames, then silence
    with E.TiRadarEmulator(frames, fps=20.0, loop=False) as emu:
        cfg = write_home(tmp_path, mosquitto.url, f"""\
            gateway_id = "gw-test-01"
            site_id = "site-test"
            [[rooms]]
            id = "living"
            [[sensors]]
            id = "radar_living"
            type = "ti_mmwave"
            room = "living"
            timeout = 60
            [sensors.settings]
            cli_port = "{emu.cli_path}"
            data_port = "{emu.data_path}"
            config = "iwr6843aop_wall"
            [detectors.radar_fall]
            confirm_seconds = 1.0
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
        assert emu.received_lines[0] == "sensorStop" and emu.received_lines[-1] == "sensorStart"
        assert emu.frames_sent >= 60
    assert alarm["type"] == "fall", alarm
    assert set(alarm["text"]) == {"fi", "sv", "en"}
