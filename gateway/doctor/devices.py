"""Is the sensor's device there? Checked before the driver is started, because "port
not found" and "user not in dialout" have plain fixes that a driver's stack trace hides.

What "there" means depends on the driver: a serial path that exists and this user may
open (or a readable `file:` capture), a Bluetooth adapter and the wearable found by a scan
that uses the driver's own matching rule (address or advertised service), a GPIO chip
device, or a reachable broker for Zigbee2MQTT. Drivers without hardware (demo, simulated)
and unknown third-party drivers without a port setting have nothing to check here.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drivers.base import Driver, DriverUnavailable
from drivers.serial_io import file_path, is_file
from gateway.checks.check import Check

PORT_KEYS = ("port", "cli_port", "data_port")
DIALOUT_FIX = ("add the user to the dialout group: `sudo usermod -aG dialout $(id -un)`, "
               "then log out and in again")


def install_fix(message: str) -> str:
    """The install command for a DriverUnavailable naming a missing module."""
    for module, fix in (("'gpiod'", "pip install 'safehome[gpio]' (and `sudo apt install "
                                    "gpiod` for the tools)"),
                        ("'bleak'", "pip install bleak (and `sudo apt install bluez`)"),
                        ("'serial_asyncio_fast'", "pip install pyserial-asyncio-fast"),
                        ("'aiomqtt'", "pip install aiomqtt")):
        if module in message:
            return fix
    return message.rpartition(";")[2].strip() or "see the message"


def serial_ports(settings: Any) -> dict[str, str]:
    """Setting name -> port value for every serial port a driver's settings name."""
    return {k: v for k in PORT_KEYS if isinstance(v := getattr(settings, k, None), str) and v}


def check_port(item: str, port: str, required: bool) -> Check:
    if is_file(port):
        path = file_path(port)
        if path.is_file() and os.access(path, os.R_OK):
            return Check.ok(item, f"capture file {path} ({path.stat().st_size} bytes)")
        return Check.fail(item, f"capture file {path} is missing or unreadable",
                          "check the path after file: (captures come from `safehome capture`)",
                          required=required)
    path = Path(port)
    if not path.exists():
        return Check.fail(item, f"{port} not found",
                          "check the cable and the USB adapter; `ls -l /dev/serial/by-id/` lists "
                          "connected serial devices (use those stable names in the config)",
                          required=required)
    if not os.access(path, os.R_OK | os.W_OK):
        return Check.fail(item, f"{port} exists but this user may not open it", DIALOUT_FIX,
                          required=required)
    return Check.ok(item, f"{port} present")


def bluetooth_adapters() -> list[str]:
    base = Path("/sys/class/bluetooth")
    return sorted(p.name for p in base.iterdir()) if base.is_dir() else []


async def check_ble(item: str, driver: Any, timeout: float, required: bool) -> Check:
    """Scan with the driver's own `_matches` rule (address, else advertised service)."""
    from drivers.ble import common
    try:
        bleak = common.backend(driver.type_name)
    except DriverUnavailable as exc:
        return Check.fail(item, str(exc), install_fix(str(exc)), required=required)
    if common._backend_override is None and not bluetooth_adapters():
        return Check.fail(item, "no Bluetooth adapter found (/sys/class/bluetooth is empty)",
                          "check `bluetoothctl list`; `sudo rfkill unblock bluetooth`; "
                          "`sudo systemctl start bluetooth`", required=required)
    seen: dict[str, Any] = {}

    def match(device: Any, adv: Any) -> bool:
        if driver._matches(device, adv):
            seen["rssi"] = getattr(adv, "rssi", None)
            seen["address"] = str(device.address)
            return True
        return False

    scan_s = min(timeout, driver.settings.scan_timeout_s)
    try:
        async with common.ble_lock():
            device = await bleak.BleakScanner.find_device_by_filter(match, timeout=scan_s)
    except Exception as exc:  # noqa: BLE001 - BleakError: adapter off, BlueZ not running
        return Check.fail(item, f"Bluetooth scan failed: {exc}",
                          "`sudo systemctl start bluetooth`; is the adapter powered "
                          "(`bluetoothctl power on`)?", required=required)
    s = driver.settings
    wanted = s.address or f"a device advertising {s.service or driver.default_service}"
    if device is None:
        return Check.fail(item, f"{wanted} not seen in a {scan_s:g} s scan",
                          "wake the device (wear it, press its button), charge it, bring it "
                          "closer; check the address in the config", required=required)
    return Check.ok(item, f"found {seen.get('address')} (RSSI {seen.get('rssi')} dBm)", **seen)


async def check_tcp(item: str, url: str, timeout: float, required: bool) -> Check:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (8883 if parts.scheme in ("mqtts", "ssl") else 1883)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
    except (OSError, asyncio.TimeoutError) as exc:
        return Check.fail(item, f"broker {host}:{port} not reachable: {exc or 'timeout'}",
                          "start the home's broker (`sudo systemctl start mosquitto`) and "
                          "check the broker URL", required=required)
    return Check.ok(item, f"broker {host}:{port} reachable")


async def check_device(item: str, driver: Driver[Any], timeout: float, required: bool) -> list[Check]:
    """Checks that the device behind `driver` is there (none when there is nothing to check)."""
    from drivers.ble.common import BleDriver
    if isinstance(driver, BleDriver):
        return [await check_ble(item, driver, timeout, required)]
    from drivers.gpio_pir import GpioPirDriver
    from drivers.zigbee2mqtt import Zigbee2MqttDriver
    if isinstance(driver, GpioPirDriver):
        from drivers.gpio_pir import import_gpiod
        try:
            import_gpiod()
        except DriverUnavailable as exc:
            return [Check.fail(item, str(exc), install_fix(str(exc)), required=required)]
        chip = driver.settings.chip
        if not Path(chip).exists():  # noqa: ASYNC240 - one stat of a device node
            return [Check.fail(item, f"GPIO chip {chip} not found",
                               "list the chips with `gpiodetect` and set `chip`", required=required)]
        if not os.access(chip, os.R_OK | os.W_OK):
            return [Check.fail(item, f"{chip} exists but this user may not open it",
                               "add the user to the gpio group: `sudo usermod -aG gpio $(id -un)`",
                               required=required)]
        return [Check.ok(item, f"GPIO chip {chip} present")]
    if isinstance(driver, Zigbee2MqttDriver):
        return [await check_tcp(item, driver.settings.broker, timeout, required)]
    ports = serial_ports(driver.settings)
    return [check_port(f"{item} ({key})" if len(ports) > 1 else item, port, required)
            for key, port in ports.items()]
