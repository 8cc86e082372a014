"""BLE drivers against a fake bleak (tests/support/doubles/fake_bleak.py) replaying notifications byte for byte.

The fake keeps BlueZ's sharp edges (InProgress on overlapping scan/connect, "notify already
started", link loss callbacks), so these tests check the drivers' behaviour at them.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from drivers.base import SensorInfo
from drivers.ble import common
from drivers.ble import parsers as PP
from drivers.ble.button import ITAG_KEY, ITAG_SERVICE, ButtonDriver
from drivers.ble.heart_rate import HEART_RATE_MEASUREMENT, HEART_RATE_SERVICE, HeartRateDriver
from drivers.ble.polar import PMD_CONTROL, PMD_DATA, PMD_SERVICE, PolarPmdDriver
from sensordata.readings import AccelBlock, Battery, Button, HeartRate, LinkQuality
from tests.support.doubles.fake_bleak import FakePeripheral, FakeWorld
from tests.support.drivers_util import first_readings

h = bytes.fromhex
BATTERY = common.BATTERY_LEVEL


@pytest.fixture
def world():
    holder: dict = {}

    def install(*peripherals: FakePeripheral) -> FakeWorld:
        w = FakeWorld(*peripherals)
        common.use_backend(w.backend())
        holder["w"] = w
        return w

    yield install
    common.use_backend(None)


async def take(driver, n: int, timeout: float = 3.0) -> list:
    return await first_readings(driver, n, timeout)


def strap(**kw) -> FakePeripheral:
    notes = [(0.01, HEART_RATE_MEASUREMENT, h("16 3C 10 04")),
             (0.01, HEART_RATE_MEASUREMENT, h("10 4B 5C 03 00 04")),
             (0.01, HEART_RATE_MEASUREMENT, h("FF")),  # garbage: counted, skipped
             (0.01, HEART_RATE_MEASUREMENT, h("00 50"))]
    return FakePeripheral("C0:FF:EE:00:00:01", [HEART_RATE_SERVICE], rssi=-71,
                          values={BATTERY: h("57")}, on_subscribe={HEART_RATE_MEASUREMENT: notes},
                          **kw)


async def test_heart_rate_found_by_service_reports_rssi_battery_and_measurements(world):
    w = world(FakePeripheral("AA:AA:AA:AA:AA:AA", ["0000feaa-0000-1000-8000-00805f9b34fb"]),
              strap())
    drv = HeartRateDriver(SensorInfo("hr", None, "ble_heart_rate"), HeartRateDriver.Settings())
    await drv.connect()
    try:
        got = await take(drv, 5)
    finally:
        await drv.disconnect()
    assert isinstance(got[0], LinkQuality) and got[0].rssi_dbm == -71
    assert isinstance(got[1], Battery) and got[1].percent == 87
    hrs = [r for r in got if isinstance(r, HeartRate)]
    assert [(r.bpm, r.contact) for r in hrs] == [(60, True), (75, None), (80, None)]
    assert hrs[0].rr == pytest.approx((1040 / 1024,))
    assert hrs[1].rr == pytest.approx((860 / 1024, 1.0))
    assert drv.stats["bad_payloads"] == 1 and drv.address == "C0:FF:EE:00:00:01"
    # notifications stopped before the link was released
    names = [c[0] for c in w.calls]
    assert names.index("stop_notify") < names.index("disconnect")


async def test_address_selects_the_device_and_missing_device_is_clear(world):
    world(strap())
    drv = HeartRateDriver(SensorInfo("hr", None, "ble_heart_rate"),
                          HeartRateDriver.Settings(address="c0:ff:ee:00:00:01"))
    await drv.connect()
    await drv.disconnect()
    drv = HeartRateDriver(SensorInfo("hr", None, "ble_heart_rate"),
                          HeartRateDriver.Settings(address="11:22:33:44:55:66", scan_timeout_s=0.1,
                                                   connect_attempts=1))
    with pytest.raises(ConnectionError, match="no device found advertising 11:22:33:44:55:66"):
        await drv.connect()


async def test_link_loss_raises_and_reconnect_does_not_double_callbacks(world):
    w = world(strap(drop_after_s=0.1))
    drv = HeartRateDriver(SensorInfo("hr", None, "ble_heart_rate"), HeartRateDriver.Settings())
    await drv.connect()
    with pytest.raises(ConnectionError, match="link lost"):
        await take(drv, 100)
    await drv.disconnect()  # the supervisor's part; safe on a dead link
    w.peripherals[0].drop_after_s = None
    await drv.connect()  # fresh connect re-subscribes exactly once
    try:
        got = await take(drv, 5)
    finally:
        await drv.disconnect()
    assert [r.bpm for r in got if isinstance(r, HeartRate)] == [60, 75, 80]
    assert ("InProgress", "connect") not in w.calls


async def test_scans_and_connects_are_serialised_across_drivers(world):
    w = world(strap(), FakePeripheral("10:00:00:00:00:02", [ITAG_SERVICE]))
    a = HeartRateDriver(SensorInfo("hr", None, "ble_heart_rate"), HeartRateDriver.Settings())
    b = ButtonDriver(SensorInfo("fob", None, "ble_button"), ButtonDriver.Settings())
    await asyncio.gather(a.connect(), b.connect())
    await a.disconnect()
    await b.disconnect()
    assert w.max_busy == 1 and not [c for c in w.calls if c[0] == "InProgress"]


async def test_without_the_lock_bluez_would_say_in_progress(world):
    # the fake really enforces one operation at a time: prove the check can fail
    w = world(strap())
    bleak = w.backend()
    results = await asyncio.gather(
        bleak.BleakScanner.find_device_by_filter(lambda d, a: True),
        bleak.BleakScanner.find_device_by_filter(lambda d, a: True), return_exceptions=True)
    assert any(isinstance(r, Exception) and "InProgress" in str(r) for r in results)


async def test_connect_retries_rf_failures_with_backoff(world):
    world(strap(connect_failures=1))
    drv = HeartRateDriver(SensorInfo("hr", None, "ble_heart_rate"), HeartRateDriver.Settings())
    await drv.connect()
    await drv.disconnect()
    assert drv.stats["connect_failures"] == 1


async def test_itag_button_press_is_sos_and_bounces_are_merged(world):
    presses = [(0.01, ITAG_KEY, h("01")), (0.0, ITAG_KEY, h("01")),  # bounce
               (0.0, ITAG_KEY, h("02")),  # unknown payload
               (0.5, ITAG_KEY, h("01"))]
    world(FakePeripheral("10:00:00:00:00:02", [ITAG_SERVICE], rssi=-80,
                         on_subscribe={ITAG_KEY: presses}))
    drv = ButtonDriver(SensorInfo("fob", "hall", "ble_button"),
                       ButtonDriver.Settings(debounce_s=0.2))
    await drv.connect()
    try:
        got = await take(drv, 3)  # link quality (no battery service) + two presses
    finally:
        await drv.disconnect()
    assert isinstance(got[0], LinkQuality)
    assert [(type(r), r.action) for r in got[1:]] == [(Button, "sos"), (Button, "sos")]
    assert drv.stats["debounced"] == 1 and drv.stats["unknown_notifications"] == 1
    assert drv.stats["battery_unavailable"] == 1


def polar_device(compressed: bool = False, status: int = 0) -> FakePeripheral:
    ts0 = 600_000_000_000_000_000

    def frame(i: int) -> bytes:
        ts = (ts0 + i * 80_000_000).to_bytes(8, "little")
        samples = [[0, 0, 1000 + 10 * (4 * i + k)] for k in range(4)]
        if compressed:
            return b"\x02" + ts + b"\x81" + PP.encode_delta_frames(samples, 16, 8)
        body = np.asarray(samples, dtype="<i2").tobytes()
        return b"\x02" + ts + b"\x01" + body

    def on_write(uuid: str, data: bytes):
        if uuid == PMD_CONTROL and data == bytes([PP.PMD_OP_GET_SETTINGS, 2]):
            # 25/50/100/200 Hz, 16 bit, 2/4/8 g (what an H10 offers)
            return [(0.0, PMD_CONTROL, h("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00"
                                         " 01 01 10 00 02 03 02 00 04 00 08 00"))]
        if uuid == PMD_CONTROL and data[0] == PP.PMD_OP_START:
            answer = bytes([0xF0, 0x02, 0x02, status, 0x00])
            if status:
                return [(0.0, PMD_CONTROL, answer)]
            return [(0.0, PMD_CONTROL, answer + h("05 01 00 00 80 3F"))] + [
                (0.01, PMD_DATA, frame(i)) for i in range(3)]
        return []

    return FakePeripheral("A0:9E:1A:00:00:10", [PMD_SERVICE], values={BATTERY: h("64")},
                          on_write=on_write)


@pytest.mark.parametrize("compressed", [False, True])
async def test_polar_starts_acc_stream_and_yields_blocks_in_g(world, compressed):
    w = world(polar_device(compressed))
    drv = PolarPmdDriver(SensorInfo("chest", None, "polar_pmd"),
                         PolarPmdDriver.Settings(sample_rate_hz=50))
    await drv.connect()
    try:
        got = await take(drv, 5)
    finally:
        await drv.disconnect()
    writes = [c for c in w.calls if c[0] == "write"]
    assert writes[0][2] == h("01 02")  # what does the device support?
    assert writes[1][2] == h("02 02 00 01 32 00 01 01 10 00 02 01 08 00")
    assert drv.available_settings[PP.PMD_SETTING_SAMPLE_RATE] == [25, 50, 100, 200]
    assert writes[-1][2] == h("03 02")  # stream stopped on the way out
    blocks = [r for r in got if isinstance(r, AccelBlock)]
    assert len(blocks) == 3 and all(len(b) == 4 for b in blocks)
    z = np.concatenate([b.xyz[:, 2] for b in blocks])
    assert z == pytest.approx(1.0 + 0.01 * np.arange(12))
    t = np.concatenate([b.t for b in blocks])
    assert np.all(np.diff(t) > 0)
    # blocks after the first are spaced by the device clock: 80 ms per 4 samples
    assert np.diff(blocks[1].t) == pytest.approx([0.02] * 3, abs=1e-6)
    # device time (2019 here) is anchored to the gateway clock at the first frame
    assert abs(blocks[0].end - time.time()) < 2.0
    assert blocks[2].end - blocks[0].end == pytest.approx(0.16, abs=1e-6)
    assert drv.stats["frames"] == 3


async def test_polar_refused_start_names_the_error(world):
    world(polar_device(status=13))
    drv = PolarPmdDriver(SensorInfo("chest", None, "polar_pmd"),
                         PolarPmdDriver.Settings(sample_rate_hz=200, connect_attempts=1))
    with pytest.raises(ConnectionError, match="device in charger"):
        await drv.connect()


async def test_polar_unsupported_rate_lists_the_valid_ones(world):
    w = world(polar_device())
    drv = PolarPmdDriver(SensorInfo("chest", None, "polar_pmd"),
                         PolarPmdDriver.Settings(sample_rate_hz=52, connect_attempts=1))
    with pytest.raises(ConnectionError, match="52 Hz not supported.*25, 50, 100, 200 Hz"):
        await drv.connect()
    assert not [c for c in w.calls if c[0] == "write" and c[2][0] == PP.PMD_OP_START]
    assert w.calls[-1][0] == "disconnect"


async def test_an_itag_configured_as_the_i_am_fine_button_cancels_a_suspected_fall(world):
    """A second fob with action = "cancel" answers the local prompt: its press goes through
    the pipeline's cancel window as `alarm_cancelled` with by_button = 1."""
    from gateway.config import parse_config
    from gateway.pipeline import Pipeline
    from sensordata.readings import FallFlag
    world(FakePeripheral("10:00:00:00:00:03", [ITAG_SERVICE], rssi=-70,
                         on_subscribe={ITAG_KEY: [(0.01, ITAG_KEY, h("01"))]}))
    drv = ButtonDriver(SensorInfo("ok-fob", "hall", "ble_button"),
                       ButtonDriver.Settings(action="cancel"))
    await drv.connect()
    try:
        press = (await take(drv, 2))[1]
    finally:
        await drv.disconnect()
    cfg = parse_config({"gateway_id": "gw-1", "site_id": "site-1", "rooms": [{"id": "hall"}],
                        "sensors": [{"id": "radar", "type": "demo", "room": "hall"},
                                    {"id": "ok-fob", "type": "demo", "room": "hall"}]}, env={})
    p = Pipeline(cfg)
    suspected = p.feed([FallFlag("radar", press.t - 5, True)])
    cancelled = p.feed([press])
    assert [e.type for e in cancelled] == ["alarm_cancelled"]
    assert cancelled[0].ref == suspected[0].id and cancelled[0].evidence["by_button"] == 1
