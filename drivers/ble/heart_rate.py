"""`ble_heart_rate`: any standard BLE heart-rate strap or band (service 0x180D).

Notifications of Heart Rate Measurement 0x2A37 become `HeartRate` readings with RR
intervals in seconds and skin contact when the sensor reports it; battery (0x2A19) and the
advertisement RSSI come from the shared BLE base. Decoding is in drivers/ble/parsers.py.
"""

from __future__ import annotations

from drivers.ble.common import BleDriver, BleSettings, payload_guard, uuid16
from drivers.ble.parsers import parse_heart_rate
from sensordata.readings import HeartRate, Reading

HEART_RATE_SERVICE = uuid16(0x180D)
HEART_RATE_MEASUREMENT = uuid16(0x2A37)


class HeartRateDriver(BleDriver[BleSettings]):
    type_name = "ble_heart_rate"
    Settings = BleSettings
    expected_rate_hz = 1.0
    default_service = HEART_RATE_SERVICE

    async def _setup(self) -> None:
        await self._notify(HEART_RATE_MEASUREMENT, "hr")

    def _decode(self, tag: str, t: float, data: bytes) -> list[Reading]:
        def go() -> list[Reading]:
            m = parse_heart_rate(data)
            self.count("measurements")
            return [HeartRate(self.sensor.id, t, m.bpm, m.rr_s, m.contact)]
        return payload_guard(self, go)
