"""Scans BLE advertisements for the wearables Safehome has drivers for.

Why through `drivers.ble.common`: the scan must take the same process-wide lock as the
drivers (BlueZ refuses overlapping scans) and must be replaceable by the fake bleak in
tests. The scan uses `find_device_by_filter` with a filter that records every device and
never accepts one, so it lasts the full timeout and sees everything in range; that is
the one scanner call the drivers already rely on, in real bleak and in the fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.base import DriverUnavailable
from drivers.ble.button import ITAG_SERVICE
from drivers.ble.heart_rate import HEART_RATE_SERVICE
from drivers.ble.polar import PMD_SERVICE

#: advertised service -> driver type, in the order snippets are offered
SERVICE_TYPES = ((PMD_SERVICE, "polar_pmd"), (HEART_RATE_SERVICE, "ble_heart_rate"),
                 (ITAG_SERVICE, "ble_button"))


class BleNotAvailable(Exception):
    """No bleak, no adapter or BlueZ not answering; the message says which."""


@dataclass
class BleFound:
    address: str
    name: str | None
    rssi: int | None
    services: list[str]
    types: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "rssi": self.rssi,
                "services": self.services, "types": self.types}


def driver_types(services: list[str], name: str | None) -> list[str]:
    """Driver types that can serve a device with these advertised services and name."""
    have = {s.lower() for s in services}
    types = [t for uuid, t in SERVICE_TYPES if uuid in have]
    # Polar H10 / Verity Sense advertise heart rate but not always PMD: the name tells.
    if "polar_pmd" not in types and (name or "").startswith("Polar"):
        types.insert(0, "polar_pmd")
    return types


async def scan(timeout: float = 5.0) -> list[BleFound]:
    from drivers.ble import common
    from gateway.doctor.devices import bluetooth_adapters
    try:
        bleak = common.backend("discover")
    except DriverUnavailable as exc:
        raise BleNotAvailable(str(exc)) from None
    if common._backend_override is None and not bluetooth_adapters():
        raise BleNotAvailable("no Bluetooth adapter found (/sys/class/bluetooth is empty)")
    seen: dict[str, BleFound] = {}

    def record(device: Any, adv: Any) -> bool:
        services = [str(u).lower() for u in (getattr(adv, "service_uuids", None) or [])]
        name = getattr(adv, "local_name", None) or getattr(device, "name", None)
        seen[str(device.address)] = BleFound(str(device.address), name,
                                             getattr(adv, "rssi", None), services)
        return False

    try:
        async with common.ble_lock():
            await bleak.BleakScanner.find_device_by_filter(record, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - BleakError: adapter powered off, BlueZ missing
        raise BleNotAvailable(f"scan failed: {exc}") from None
    out = []
    for f in seen.values():
        f.types = driver_types(f.services, f.name)
        if f.types:
            out.append(f)
    return sorted(out, key=lambda f: -(f.rssi or -999))
