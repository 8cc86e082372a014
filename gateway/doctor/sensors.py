"""Does each configured sensor answer, and do its readings flow at the expected rate?

Why start the real driver: a port that exists can still be the wrong device, the wrong
baud rate or a radar that refuses its chirp config. The doctor runs the driver exactly as
the daemon would (`connect()`, then `readings()`) for up to the timeout, so every failure
the daemon would meet at 3 a.m. shows up now, with the driver's own message.

Rate: `Driver.expected_rate_hz` (per instance: a TI radar's comes from its chirp config)
is compared with the busiest reading kind (a radar frame yields points and targets; that
is one frame, not two). Event-driven drivers (rate None) only have to connect: a PIR
sensor in an empty room is silent and healthy.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from drivers import registry as driver_registry
from drivers.base import Driver, DriverUnavailable, SensorInfo
from drivers.serial_io import SerialPortError, is_file
from gateway.checks.check import FAIL, WARN, Check
from gateway.config import HomeConfig, SensorConfig
from gateway.doctor.devices import DIALOUT_FIX, check_device, install_fix, serial_ports
from sensordata.readings import Battery, LinkQuality

SLOW_FACTOR = 0.5          # below half the expected rate: readings are being lost
LOW_BATTERY_PERCENT = 20.0
WEAK_RSSI_DBM = -85.0
WEAK_LQI = 30


def _fix_for(exc: BaseException) -> str:
    if isinstance(exc, DriverUnavailable):
        return install_fix(str(exc))
    if isinstance(exc, SerialPortError):
        return f"check the cable and power; {DIALOUT_FIX}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "check power, wiring (TX/RX crossed?) and the baud rate"
    return "check the device's power and wiring and the [sensors.settings] values"


async def _run_driver(driver: Driver, timeout: float, event_driven: bool) -> dict[str, Any]:
    """Connect and collect readings for `timeout` s (event-driven: until the first)."""
    got: list[tuple[float, Any]] = []
    result: dict[str, Any] = {"readings": got, "error": None, "ended": False}
    start = time.monotonic()
    agen = None
    try:
        await asyncio.wait_for(driver.connect(), timeout)
        result["connected_at"] = time.monotonic()
        agen = driver.readings().__aiter__()

        async def pump() -> None:
            async for r in agen:
                got.append((time.monotonic(), r))
                if event_driven:
                    return
            result["ended"] = True

        remaining = max(0.1, timeout - (time.monotonic() - start))
        try:
            await asyncio.wait_for(pump(), remaining)
        except asyncio.TimeoutError:
            pass
    except Exception as exc:  # noqa: BLE001 - reported as the finding
        result["error"] = exc
    finally:
        result["stopped_at"] = time.monotonic()
        if agen is not None and hasattr(agen, "aclose"):
            try:
                await agen.aclose()
            except Exception:  # noqa: BLE001
                pass
        try:
            await asyncio.wait_for(driver.disconnect(), 5)
        except Exception:  # noqa: BLE001 - a failing disconnect is not the finding
            pass
    return result


def _rate_check(item: str, driver: Driver, result: dict[str, Any], required: bool,
                capture: bool) -> Check:
    expected = driver.expected_rate_hz
    assert expected is not None, "event-driven sensors have no rate to check"
    readings = result["readings"]
    if capture:
        return Check.skip(item, "capture file: replayed as fast as read, rate not measured")
    window = result["stopped_at"] - result.get("connected_at", result["stopped_at"])
    counts = Counter(type(r).kind for _, r in readings)
    kind, n = counts.most_common(1)[0] if counts else ("", 0)
    rate = n / window if window > 0 else 0.0
    data = {"expected_hz": expected, "measured_hz": round(rate, 2), "kind": kind,
            "window_s": round(window, 2)}
    if n == 0:
        return Check.fail(item, f"no readings in {window:.1f} s (expected {expected:g}/s)",
                          _fix_for(TimeoutError()), required=required, **data)
    text = f"{rate:.1f}/s {kind} readings (expected {expected:g}/s)"
    if rate < SLOW_FACTOR * expected:
        return Check.fail(item, f"{text}: readings are being lost",
                          "check the cable and the baud rate; a USB hub or long cable drops "
                          "bytes", required=required, **data)
    return Check.ok(item, text, **data)


def _battery_and_link(item: str, driver: Driver, readings: list[Any]) -> list[Check]:
    out: list[Check] = []
    battery: dict[str, Battery] = {}
    link: dict[str, LinkQuality] = {}
    for _, r in readings:
        if isinstance(r, Battery):
            battery[r.sensor] = r
        elif isinstance(r, LinkQuality):
            link[r.sensor] = r
    for sid, b in battery.items():
        name = f"{item}: battery" if sid == driver.sensor.id else f"{item}: battery {sid}"
        low = b.low or (b.percent is not None and b.percent < LOW_BATTERY_PERCENT)
        text = f"{b.percent:g} %" if b.percent is not None else "level unknown"
        if low:
            out.append(Check.warn(name, f"{text}, low", "charge or replace the battery",
                                  percent=b.percent))
        else:
            out.append(Check.ok(name, text, percent=b.percent))
    for sid, q in link.items():
        name = f"{item}: signal" if sid == driver.sensor.id else f"{item}: signal {sid}"
        if q.rssi_dbm is not None:
            weak = q.rssi_dbm < WEAK_RSSI_DBM
            text = f"RSSI {q.rssi_dbm:g} dBm"
        else:
            weak = q.lqi is not None and q.lqi < WEAK_LQI
            text = f"LQI {q.lqi}"
        out.append(Check.warn(name, f"{text}, weak", "move the gateway or a router closer to "
                              "the device", rssi_dbm=q.rssi_dbm, lqi=q.lqi) if weak
                   else Check.ok(name, text, rssi_dbm=q.rssi_dbm, lqi=q.lqi))
    return out


def _mounting_check(item: str, driver: Driver, readings: list[Any]) -> Check:
    """A TI radar's configured mounting against the one its point clouds show: a person
    walking during the check is enough (drivers/ti_mmwave/mounting_check.py)."""
    from drivers.ti_mmwave.mounting_check import MountingEstimator, room_to_sensor
    from sensordata.readings import RadarPoints
    mount = driver.mount  # type: ignore[attr-defined]
    est = MountingEstimator()
    for _, r in readings:
        if isinstance(r, RadarPoints) and len(r.points):
            est.feed(room_to_sensor(r.points[:, :3], mount), r.points[:, 3])
    got = est.estimate()
    data = {"configured_height_m": mount.height_m,
            "configured_tilt_deg": mount.elevation_tilt_deg}
    if got is None:
        return Check.skip(item, "not measured: walk across the room, 1 to 5 m in front of the "
                                "radar, while the doctor listens (e.g. --timeout 60)")
    data.update(measured_height_m=got.height_m, measured_tilt_deg=got.elevation_tilt_deg,
                points=got.points)
    text = got.versus(mount)
    if "fix:" in text:
        return Check.warn(item, text, f"measure again, then set sensor_height_m = "
                          f"{got.height_m:.2f} and elevation_tilt_deg = "
                          f"{got.elevation_tilt_deg:.0f} in [sensors.settings]", **data)
    return Check.ok(item, text, **data)


def _zigbee_devices(item: str, driver: Driver, readings: list[Any], timeout: float,
                    required: bool) -> list[Check]:
    seen = {r.sensor for _, r in readings}
    out = []
    for dev in driver.settings.devices:
        name = f"{item}: {dev.friendly_name}"
        if dev.sensor_id in seen:
            out.append(Check.ok(name, "seen on the broker"))
        else:
            out.append(Check.fail(name, f"no message from Zigbee2MQTT within {timeout:g} s",
                                  "is Zigbee2MQTT running, the device paired and its "
                                  "friendly_name spelt exactly as in Zigbee2MQTT?",
                                  required=required))
    return out


async def check_sensor(cfg: HomeConfig, s: SensorConfig, timeout: float) -> list[Check]:
    item = f"sensor {s.id}"
    cls = driver_registry.load(s.type)
    settings = cfg.driver_settings(s)
    driver = cls(SensorInfo(s.id, s.room, s.type, s.placement), settings)
    out = await check_device(f"{item}: device", driver, timeout, s.required)
    if not out:
        out.append(Check.skip(f"{item}: device", f"no hardware to check for type {s.type!r}"))
    if any(c.status in (FAIL, WARN) for c in out):
        out.append(Check.skip(f"{item}: answers", "not tried: the device is not there"))
        return out
    event_driven = driver.expected_rate_hz is None and s.type != "zigbee2mqtt"
    result = await _run_driver(driver, timeout, event_driven)
    readings = result["readings"]
    exc = result["error"]
    stats = dict(driver.stats)
    if exc is not None:
        out.append(Check.fail(f"{item}: answers", f"{type(exc).__name__}: {exc}", _fix_for(exc),
                              required=s.required, stats=stats))
        return out
    if readings:
        n = len(readings)
        out.append(Check.ok(f"{item}: answers", f"{n} reading{'' if n == 1 else 's'} in "
                            f"{result['stopped_at'] - result['connected_at']:.1f} s",
                            stats=stats, readings=len(readings)))
    elif driver.expected_rate_hz is None:
        out.append(Check.ok(f"{item}: answers", "connected; event driven, so silence is "
                            "normal until something happens", stats=stats, readings=0))
    else:
        out.append(Check.fail(f"{item}: answers", f"connected, but no readings in {timeout:g} s",
                              _fix_for(TimeoutError()), required=s.required, stats=stats))
    capture = any(is_file(p) for p in serial_ports(settings).values())
    if s.type == "zigbee2mqtt":
        out.extend(_zigbee_devices(item, driver, readings, timeout, s.required))
    elif driver.expected_rate_hz is not None:  # event driven: "answers" is all there is
        out.append(_rate_check(f"{item}: rate", driver, result, s.required, capture))
    if s.type == "ti_mmwave" and readings:
        out.append(_mounting_check(f"{item}: mounting", driver, readings))
    out.extend(_battery_and_link(item, driver, readings))
    return out
