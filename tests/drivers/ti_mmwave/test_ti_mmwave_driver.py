"""The real `ti_mmwave` driver end to end through pseudo-terminals: it sends the chirp
config line by line and checks each answer, then turns the data-port frames of an
emulated IWR6843AOP into room-frame readings. Configs with unknown commands never get
that far: they are rejected when the settings are loaded."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from pydantic import ValidationError

from drivers import registry
from drivers.base import SensorInfo
from drivers.ti_mmwave import chirp
from drivers.ti_mmwave.driver import RadarConfigError, TiMmwaveDriver, TiMmwaveSettings
from sensordata.readings import RadarPoints, RadarTargets
from simulator.emulators import ti_mmwave as E

SENSOR = SensorInfo(id="radar_living", room="living", type="ti_mmwave")


async def collect(driver: TiMmwaveDriver, n_targets: int, timeout: float = 10.0) -> list:
    out: list = []

    async def run() -> None:
        async for r in driver.readings():
            out.append(r)
            if sum(isinstance(x, RadarTargets) for x in out) >= n_targets:
                return

    await asyncio.wait_for(run(), timeout)
    return out


def make_driver(**settings) -> TiMmwaveDriver:
    cls = registry.load("ti_mmwave")
    assert cls is TiMmwaveDriver
    return cls(SENSOR, cls.Settings(**settings))


async def test_config_sent_and_acknowledged_then_readings_arrive_in_room_frame():
    frames = E.walking_then_fall(40, fps=20.0, fall_at=0.5)
    with E.TiRadarEmulator(frames, fps=100.0, loop=False) as emu:
        drv = make_driver(cli_port=emu.cli_path, data_port=emu.data_path,
                          config="iwr6843aop_wall")
        await drv.connect()
        try:
            cfg = chirp.load("iwr6843aop_wall")
            assert emu.received_lines == cfg.commands  # every line, in order, comments skipped
            assert drv.acknowledged == cfg.commands
            assert drv.stats.get("cli_echo_missing", 0) == 0
            readings = await collect(drv, 30)
        finally:
            await drv.disconnect()
        assert emu.error is None
    targets = [r for r in readings if isinstance(r, RadarTargets)]
    points = [r for r in readings if isinstance(r, RadarPoints)]
    assert [r.frame for r in targets] == list(range(1, len(targets) + 1))
    assert [r.frame for r in points] == [r.frame for r in targets]
    assert all(r.sensor == "radar_living" for r in readings)
    assert all(a.t <= b.t for a, b in zip(targets, targets[1:], strict=False))
    standing, fallen = targets[5].targets[0], targets[-1].targets[0]
    assert standing.tid == 1 and standing.height == pytest.approx(1.7)
    assert fallen.height == pytest.approx(0.4) and fallen.vy == 0.0
    # The emulator placed points in the room and expressed them in the sensor frame of a
    # radar 2.0 m up tilted 15 degrees down (the wall config): the driver must undo it.
    late = points[-1].points
    assert late.shape == (8, 5)
    np.testing.assert_allclose(np.sort(late[:, 2]), np.sort(np.tile(np.linspace(0.1, 0.4, 4), 2)),
                               atol=0.05)
    assert np.all(np.abs(late[:, 0] - 0.3) < 0.15)
    assert drv.stats["frames_decoded"] >= 30 and drv.stats["frames_dropped"] == 0


async def test_radar_error_answer_stops_the_start_naming_the_line():
    with E.TiRadarEmulator([], errors={"fovCfg": "Error -1"}) as emu:
        drv = make_driver(cli_port=emu.cli_path, data_port=emu.data_path,
                          config="iwr6843aop_ceiling")
        with pytest.raises(RadarConfigError) as ei:
            await drv.connect()
    cfg = chirp.load("iwr6843aop_ceiling")
    lineno = next(no for no, ln in cfg.lines if ln.startswith("fovCfg"))
    assert f"iwr6843aop_ceiling.cfg:{lineno}" in str(ei.value) and "Error -1" in str(ei.value)
    assert emu.received_lines[-1].startswith("fovCfg")  # nothing sent after the refusal


async def test_silent_cli_port_times_out_with_a_clear_message():
    with E.TiRadarEmulator([]) as emu:
        # the data port never answers config lines: as if the two ports were swapped
        drv = make_driver(cli_port=emu.data_path, data_port=emu.data_path,
                          config="iwr6843aop_wall", command_timeout_s=0.3)
        with pytest.raises(RadarConfigError, match="did not answer Done.*sensorStop"):
            await drv.connect()


def test_config_with_unknown_command_is_rejected_at_load(tmp_path):
    good = chirp.load("iwr6843aop_wall").path.read_text().splitlines()
    bad = [("trackingCfgg" + ln[len("trackingCfg"):]) if ln.startswith("trackingCfg") else ln
           for ln in good]
    cfg = tmp_path / "typo.cfg"
    cfg.write_text("\n".join(bad) + "\n")
    lineno = next(i for i, ln in enumerate(bad, 1) if ln.startswith("trackingCfgg"))
    with pytest.raises(ValidationError) as ei:
        TiMmwaveSettings(cli_port="/dev/null", data_port="/dev/null", config=str(cfg))
    msg = str(ei.value)
    assert f"typo.cfg:{lineno}" in msg and "'trackingCfgg'" in msg
    assert "did you mean 'trackingCfg'" in msg


def test_settings_reject_unknown_keys_and_mounting_conflicts(tmp_path):
    with pytest.raises(ValidationError):
        TiMmwaveSettings(data_port="/dev/null", config="iwr6843aop_wall", baud=9600)
    text = chirp.load("iwr6843aop_wall").path.read_text().replace("sensorPosition 2.0 0 15",
                                                                  "sensorPosition 2.4 0 15")
    cfg = tmp_path / "moved.cfg"
    cfg.write_text(text)
    with pytest.raises(ValidationError, match="height 2.0 m"):
        TiMmwaveSettings(data_port="/dev/null", config=str(cfg))


async def test_capture_file_replay_stamps_frames_at_the_configured_period(tmp_path):
    xyzv = np.array([[0.0, 2.0, 0.0, 0.5]])
    data = b"\x13\x37" + b"".join(E.oob_frame(n, xyzv) for n in range(10, 15)) + b"\x02\x01"
    path = tmp_path / "capture.bin"
    path.write_bytes(data)
    drv = make_driver(data_port=f"file:{path}", config="iwr6843aop_ceiling")
    await drv.connect()
    out = [r async for r in drv.readings()]
    await drv.disconnect()
    assert [r.frame for r in out if isinstance(r, RadarPoints)] == [10, 11, 12, 13, 14]
    # a tracking config: an OOB frame without targets still says "nobody tracked"
    assert [len(r.targets) for r in out if isinstance(r, RadarTargets)] == [0] * 5
    ts = [r.t for r in out if isinstance(r, RadarPoints)]
    assert np.allclose(np.diff(ts), 0.055)
    # ceiling mount, 2.6 m, looking down: a point 2 m along the boresight is 0.6 m up
    np.testing.assert_allclose(out[0].points[0, :4], [0.0, 0.0, 0.6, 0.5], atol=1e-5)
    assert drv.stats["bytes_discarded"] == 4 and drv.stats["frames_decoded"] == 5


@pytest.mark.parametrize("path", sorted(chirp.CONFIG_DIR.glob("iwr6843aop_*.cfg")),
                         ids=lambda p: p.stem)
def test_every_shipped_chirp_config_loads_with_its_mounting(path):
    cfg = chirp.load(path.stem)
    assert cfg.commands[0] == "sensorStop" and cfg.commands[-1] == "sensorStart"
    assert cfg.mounting is not None and cfg.mounting.kind in {"ceiling", "wall"}
    assert 0 < cfg.mounting.height_m < 4 and cfg.frame_period_s
    head = path.read_text().splitlines()[0]
    assert head.startswith("%") and cfg.mounting.kind in head  # says what it assumes
    if cfg.tracking:  # the tracker's frame period must match the chirp frame period
        assert cfg.args("trackingCfg")[-1] == cfg.args("frameCfg")[4]


async def test_sdk2_doppler_bins_become_metres_per_second_from_the_chirp_config(tmp_path):
    # SDK 2.x points carry a Doppler bin index; one bin is lambda / (2 * N_doppler * N_tx * Tc)
    # with the oob config's 60 GHz start, 16 loops (16 bins), 3 TX, 359 + 57.14 us per chirp
    xyzv = np.array([[0.0, 3.0, 0.0, 0.3], [1.0, 2.0, 0.0, -0.5]])  # encoder: bin = v / 0.1
    path = tmp_path / "sdk2.bin"
    path.write_bytes(E.oob_frame(1, xyzv, sdk=2))
    drv = make_driver(port=f"file:{path}", config="iwr6843aop_oob_wall")
    await drv.connect()
    (reading,) = [r async for r in drv.readings()]
    await drv.disconnect()
    bin_mps = 299_792_458.0 / 60e9 / (2 * 16 * 3 * (359 + 57.14) * 1e-6)
    np.testing.assert_allclose(reading.points[:, 3], [3 * bin_mps, -5 * bin_mps], rtol=1e-5)
    assert np.isnan(reading.points[:, 4]).all()  # SDK 2.x sends no SNR
    # wall mount 2.0 m, 15 degrees down: a point 3 m along the boresight
    th = np.radians(15)
    np.testing.assert_allclose(reading.points[0, :3], [0.0, 3 * np.cos(th), 2.0 - 3 * np.sin(th)],
                               atol=2 ** -9 * 2)
