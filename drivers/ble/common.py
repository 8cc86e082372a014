"""Shared BLE plumbing for the wearable drivers: lazy bleak, one lock, find-connect-notify.

Why the pieces are here:
- bleak is imported only when a BLE driver connects (`backend()`), so a gateway without
  Bluetooth still runs its radars. Tests swap in `tests.doubles.fake_bleak` at that one seam.
- BlueZ answers overlapping scans and connects with stale `org.bluez.Error.InProgress`
  (bleak issues #1689, #859), so every scan and connect in this process takes
  `ble_lock()`, one asyncio.Lock per event loop.
- Re-subscribing after a reconnect without stopping notifications doubles callbacks
  (bleak #1673): `disconnect()` stops every notification it started before it lets go.
- Reconnecting is the supervisor's job: when the link drops, `readings()` raises
  `ConnectionError`, the supervisor calls `disconnect()` and later a fresh `connect()`.
- RSSI is known from the advertisement seen when the device was found; BlueZ does not
  report it for a connected device, so it is reported once per connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, AsyncIterator, Callable, TypeVar

from pydantic import Field

from drivers.base import Driver, DriverSettings, SensorInfo, require_module
from sensordata.readings import Battery, LinkQuality, Reading

log = logging.getLogger(__name__)

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"

_backend_override: Any = None
_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = \
    weakref.WeakKeyDictionary()


def uuid16(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


def use_backend(module: Any) -> None:
    """Replace bleak (tests: a `tests.doubles.fake_bleak.FakeWorld().backend()`); None restores it."""
    global _backend_override
    _backend_override = module


def backend(driver_type: str) -> Any:
    if _backend_override is not None:
        return _backend_override
    return require_module("bleak", driver_type, "install bleak (pip install bleak) and BlueZ")


def ble_lock() -> asyncio.Lock:
    """The process-wide lock that serialises BLE scans and connects (per event loop)."""
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


class BleSettings(DriverSettings):
    address: str | None = Field(None, title="Device address (e.g. A0:9E:1A:12:34:56); else first "
                                            "device advertising the driver's service")
    service: str | None = Field(None, title="Advertised service UUID to look for (default per driver)")
    scan_timeout_s: float = Field(10.0, gt=0, title="How long to scan for the device")
    connect_timeout_s: float = Field(20.0, gt=0, title="How long one connect attempt may take")
    connect_attempts: int = Field(3, ge=1, le=10, title="Attempts (with backoff) inside one connect")
    battery_every_s: float = Field(3600.0, gt=0, title="How often to read the battery level")


_DISCONNECTED = object()


BleSettingsT = TypeVar("BleSettingsT", bound=BleSettings)


class BleDriver(Driver[BleSettingsT]):
    """Base of the BLE drivers: find, connect, subscribe; notifications into a queue."""

    Settings = BleSettings
    default_service: str = ""

    def __init__(self, sensor: SensorInfo, settings: BleSettingsT) -> None:
        super().__init__(sensor, settings)
        self._client: Any = None
        self._notifying: list[str] = []
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self.rssi: float | None = None
        self.address: str | None = None
        self.battery: int | None = None
        self._last_battery_read = float("-inf")

    # ------------------------------------------------------------------ connect
    def _matches(self, device: Any, adv: Any) -> bool:
        if self.settings.address:
            return str(device.address).upper() == self.settings.address.upper()
        wanted = (self.settings.service or self.default_service).lower()
        return wanted in [str(u).lower() for u in (getattr(adv, "service_uuids", None) or [])]

    async def _find_and_connect(self) -> Any:
        bleak = backend(self.type_name)
        found: dict[str, Any] = {}

        def match(device: Any, adv: Any) -> bool:
            if self._matches(device, adv):
                found["rssi"] = getattr(adv, "rssi", None)
                return True
            return False

        async with ble_lock():
            device = await bleak.BleakScanner.find_device_by_filter(
                match, timeout=self.settings.scan_timeout_s)
            if device is None:
                what = self.settings.address or f"service {self.settings.service or self.default_service}"
                raise ConnectionError(f"{self.type_name}: no device found advertising {what} within "
                                      f"{self.settings.scan_timeout_s:g} s (in range? charged?)")
            client = bleak.BleakClient(device, disconnected_callback=self._on_disconnect,
                                       timeout=self.settings.connect_timeout_s)
            await client.connect()
        self.rssi = found.get("rssi")
        self.address = str(device.address)
        return client

    async def connect(self) -> None:
        self._queue = asyncio.Queue()
        self._notifying = []
        delay = 0.5
        for attempt in range(1, self.settings.connect_attempts + 1):
            try:
                self._client = await self._find_and_connect()
                break
            except Exception as exc:  # BleakError, TimeoutError, "InProgress" leftovers
                self.count("connect_failures")
                if attempt == self.settings.connect_attempts:
                    raise
                log.info("%s %s: connect attempt %d failed (%s); retrying in %.1f s",
                         self.type_name, self.sensor.id, attempt, exc, delay)
                await asyncio.sleep(delay)
                delay *= 2
        try:
            await self._setup()
        except BaseException:
            await self.disconnect()
            raise

    async def _setup(self) -> None:
        """Subclasses subscribe to their characteristics here (use `_notify`)."""

    def _on_disconnect(self, _client: Any) -> None:
        self._queue.put_nowait(_DISCONNECTED)

    async def _notify(self, uuid: str, tag: str) -> None:
        def callback(_char: Any, data: bytearray) -> None:
            self._queue.put_nowait((tag, time.time(), bytes(data)))
        await self._client.start_notify(uuid, callback)
        self._notifying.append(uuid)

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        for uuid in reversed(self._notifying):
            try:
                await client.stop_notify(uuid)
            except Exception as exc:  # noqa: BLE001 - link already gone: nothing left to stop
                log.debug("%s: stop_notify %s failed: %s", self.type_name, uuid, exc)
        self._notifying = []
        try:
            await client.disconnect()
        except Exception as exc:  # noqa: BLE001 - best effort
            log.debug("%s: disconnect failed: %s", self.type_name, exc)

    # ------------------------------------------------------------------ readings
    async def _read_battery(self) -> Battery | None:
        self._last_battery_read = time.monotonic()
        try:
            data = await self._client.read_gatt_char(BATTERY_LEVEL)
        except Exception as exc:  # noqa: BLE001 - no battery service on this device
            self.count("battery_unavailable")
            log.debug("%s: battery read failed: %s", self.type_name, exc)
            return None
        from drivers.ble.parsers import PayloadError, parse_battery
        try:
            self.battery = parse_battery(bytes(data))
        except PayloadError:
            self.count("bad_payloads")
            return None
        return Battery(self.sensor.id, time.time(), float(self.battery))

    def _decode(self, tag: str, t: float, data: bytes) -> list[Reading]:
        raise NotImplementedError

    async def readings(self) -> AsyncIterator[Reading]:
        assert self._client is not None, "connect() first"
        if self.rssi is not None:
            yield LinkQuality(self.sensor.id, time.time(), rssi_dbm=float(self.rssi))
        b = await self._read_battery()
        if b is not None:
            yield b
        while True:
            wait = self.settings.battery_every_s - (time.monotonic() - self._last_battery_read)
            try:
                item = await asyncio.wait_for(self._queue.get(), max(wait, 0.001))
            except asyncio.TimeoutError:
                b = await self._read_battery()
                if b is not None:
                    yield b
                continue
            if item is _DISCONNECTED:
                raise ConnectionError(f"{self.type_name} {self.sensor.id}: BLE link lost")
            tag, t, data = item
            for r in self._decode(tag, t, data):
                yield r


def payload_guard(driver: Driver[Any], fn: Callable[[], list[Reading]]) -> list[Reading]:
    """Run a decoder; a malformed payload is counted and logged once, never raised."""
    from drivers.ble.parsers import PayloadError
    try:
        return fn()
    except PayloadError as exc:
        if not driver.stats.get("bad_payloads"):
            log.warning("%s %s: malformed notification (%s); counting further ones silently",
                        driver.type_name, driver.sensor.id, exc)
        driver.count("bad_payloads")
        return []
