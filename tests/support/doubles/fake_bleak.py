"""A fake bleak at the driver boundary: the scanner and client interface our drivers use.

Tests build a `FakeWorld` of `FakePeripheral`s (address, advertised services, RSSI,
readable characteristics, scripted notifications) and install `world.backend()` with
`drivers.ble.common.use_backend`. The drivers then run unchanged. Notifications are
replayed byte for byte, each after its delay, from the moment the test's script says
(after subscribing, or after a control-point write, as a Polar device does).

The fake also keeps BlueZ's sharp edges, so the drivers are tested against them:
overlapping scans/connects fail with "org.bluez.Error.InProgress", starting a
notification that is already started fails, a dropped link calls the disconnected
callback, and the world records the order of every call for assertions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable


class FakeBleakError(Exception):
    """Stands in for bleak.exc.BleakError."""


@dataclass
class FakeAdvertisement:
    service_uuids: list[str]
    rssi: int
    local_name: str | None = None


@dataclass
class FakeDevice:
    address: str
    name: str | None = None


Notification = tuple[float, str, bytes]  # (delay s, characteristic uuid, payload)


@dataclass
class FakePeripheral:
    address: str
    services: list[str]
    rssi: int = -60
    name: str | None = None
    values: dict[str, bytes] = field(default_factory=dict)  # readable characteristics
    #: notifications replayed once the host subscribes to their characteristic
    on_subscribe: dict[str, list[Notification]] = field(default_factory=dict)
    #: answer to a write: f(uuid, data) -> notifications to replay
    on_write: Callable[[str, bytes], list[Notification]] | None = None
    #: drop the link this many seconds after connecting (None: never)
    drop_after_s: float | None = None
    connect_failures: int = 0  # fail this many connects first (RF trouble)


class FakeWorld:
    def __init__(self, *peripherals: FakePeripheral, scan_delay_s: float = 0.01) -> None:
        self.peripherals = list(peripherals)
        self.scan_delay_s = scan_delay_s
        self.calls: list[tuple] = []
        self._busy = 0  # scans + connects in flight (BlueZ allows one)
        self.max_busy = 0

    def _enter(self, what: str) -> None:
        if self._busy:
            self.calls.append(("InProgress", what))
            raise FakeBleakError("org.bluez.Error.InProgress: Operation already in progress")
        self._busy += 1
        self.max_busy = max(self.max_busy, self._busy)

    def _leave(self) -> None:
        self._busy -= 1

    def backend(self) -> SimpleNamespace:
        world = self

        class BleakScanner:
            @staticmethod
            async def find_device_by_filter(filterfunc: Callable[[Any, Any], bool],
                                            timeout: float = 10.0, **_: Any) -> FakeDevice | None:
                world._enter("scan")
                try:
                    world.calls.append(("scan",))
                    await asyncio.sleep(world.scan_delay_s)
                    for p in world.peripherals:
                        dev = FakeDevice(p.address, p.name)
                        if filterfunc(dev, FakeAdvertisement(list(p.services), p.rssi, p.name)):
                            return dev
                    return None
                finally:
                    world._leave()

            @staticmethod
            async def find_device_by_address(address: str, timeout: float = 10.0,
                                             **_: Any) -> FakeDevice | None:
                return await BleakScanner.find_device_by_filter(
                    lambda d, a: d.address.upper() == address.upper(), timeout)

        class BleakClient:
            def __init__(self, device: FakeDevice | str, disconnected_callback: Any = None,
                         timeout: float = 30.0, **_: Any) -> None:
                address = device if isinstance(device, str) else device.address
                self.peripheral = next(p for p in world.peripherals if p.address == address)
                self._cb = disconnected_callback
                self.is_connected = False
                self._notify: dict[str, Callable] = {}
                self._tasks: list[asyncio.Task] = []

            async def connect(self, **_: Any) -> bool:
                world._enter("connect")
                try:
                    world.calls.append(("connect", self.peripheral.address))
                    await asyncio.sleep(0.005)
                    if self.peripheral.connect_failures > 0:
                        self.peripheral.connect_failures -= 1
                        raise FakeBleakError("le-connection-abort-by-local")
                    self.is_connected = True
                finally:
                    world._leave()
                if self.peripheral.drop_after_s is not None:
                    self._tasks.append(asyncio.ensure_future(self._drop()))
                return True

            async def _drop(self) -> None:
                await asyncio.sleep(self.peripheral.drop_after_s or 0)
                if self.is_connected:
                    world.calls.append(("link lost", self.peripheral.address))
                    self._teardown()
                    if self._cb:
                        self._cb(self)

            def _teardown(self) -> None:
                self.is_connected = False
                self._notify.clear()
                for t in self._tasks:
                    if t is not asyncio.current_task():
                        t.cancel()

            def _check(self) -> None:
                if not self.is_connected:
                    raise FakeBleakError("Not connected")

            async def start_notify(self, uuid: str, callback: Callable, **_: Any) -> None:
                self._check()
                uuid = uuid.lower()
                if uuid in self._notify:
                    raise FakeBleakError(f"Notify already started for {uuid}")
                world.calls.append(("start_notify", uuid))
                self._notify[uuid] = callback
                self._replay(self.peripheral.on_subscribe.get(uuid, []))

            async def stop_notify(self, uuid: str) -> None:
                self._check()
                world.calls.append(("stop_notify", uuid.lower()))
                self._notify.pop(uuid.lower(), None)

            async def read_gatt_char(self, uuid: str, **_: Any) -> bytearray:
                self._check()
                world.calls.append(("read", uuid.lower()))
                if uuid.lower() not in self.peripheral.values:
                    raise FakeBleakError(f"Characteristic {uuid} was not found!")
                return bytearray(self.peripheral.values[uuid.lower()])

            async def write_gatt_char(self, uuid: str, data: bytes, response: bool | None = None) -> None:
                self._check()
                world.calls.append(("write", uuid.lower(), bytes(data)))
                if self.peripheral.on_write:
                    self._replay(self.peripheral.on_write(uuid.lower(), bytes(data)))

            def _replay(self, script: list[Notification]) -> None:
                if script:
                    self._tasks.append(asyncio.ensure_future(self._run(list(script))))

            async def _run(self, script: list[Notification]) -> None:
                for delay, uuid, payload in script:
                    await asyncio.sleep(delay)
                    cb = self._notify.get(uuid.lower())
                    if cb is not None and self.is_connected:
                        cb(SimpleNamespace(uuid=uuid), bytearray(payload))

            async def disconnect(self) -> bool:
                world.calls.append(("disconnect", self.peripheral.address))
                was = self.is_connected
                self._teardown()
                if was and self._cb:
                    self._cb(self)
                return True

        return SimpleNamespace(BleakScanner=BleakScanner, BleakClient=BleakClient,
                               BleakError=FakeBleakError)
