"""`ble_button`: an iTAG-style BLE fob used as a help button (service FFE0, notify FFE1).

A press notifies 01 on FFE1 and becomes `Button(action="sos")`. Cheap fobs bounce and
BlueZ can deliver a notification twice after a re-subscribe, so presses closer together
than `debounce_s` count as one; other payloads are counted and ignored. These fobs have no
open protocol for anything else (no fall detection): they only say "pressed".
"""

from __future__ import annotations

from pydantic import Field

from drivers.ble.common import BleDriver, BleSettings, uuid16
from sensordata.readings import Button, Reading

ITAG_SERVICE = uuid16(0xFFE0)
ITAG_KEY = uuid16(0xFFE1)


class ButtonSettings(BleSettings):
    debounce_s: float = Field(1.0, ge=0, title="Presses closer than this count as one")
    action: str = Field("sos", title="Button action to report for a press")


class ButtonDriver(BleDriver[ButtonSettings]):
    type_name = "ble_button"
    Settings = ButtonSettings
    default_service = ITAG_SERVICE

    async def _setup(self) -> None:
        self._last_press = float("-inf")
        await self._notify(ITAG_KEY, "key")

    def _decode(self, tag: str, t: float, data: bytes) -> list[Reading]:
        if data[:1] != b"\x01":
            self.count("unknown_notifications")
            return []
        if t - self._last_press < self.settings.debounce_s:
            self.count("debounced")
            return []
        self._last_press = t
        self.count("presses")
        return [Button(self.sensor.id, t, self.settings.action)]
