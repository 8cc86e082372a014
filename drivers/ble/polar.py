"""`polar_pmd`: accelerometer stream from a Polar H10 or Verity Sense (Polar PMD service).

At connect the driver subscribes to the PMD control point (answers arrive as indications)
and data characteristics, writes "start stream" for the accelerometer with the configured
sample rate, range and resolution, and waits for the answer: a refusal names Polar's error
code, because a wrong sample rate for the model is the usual mistake (H10: 25/50/100/200 Hz;
Verity Sense: 52/104/208 Hz). Each data notification becomes one `AccelBlock` in g with a
time per sample: spacing from the device clock (frame timestamps are of the last sample,
Polar epoch 2000-01-01), absolute time anchored to the gateway clock at the first frame. Both raw and delta-compressed frames are decoded
(drivers/ble/parsers.py). The stream is stopped before the link is released.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
from pydantic import Field

from drivers.base import SensorInfo
from drivers.ble import parsers as PP
from drivers.ble.common import BleDriver, BleSettings, payload_guard
from sensordata.readings import AccelBlock, Reading

log = logging.getLogger(__name__)

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

PMD_ERRORS = {
    1: "invalid op code", 2: "invalid measurement type", 3: "not supported",
    4: "invalid length", 5: "invalid parameter", 6: "already in state",
    7: "invalid resolution", 8: "invalid sample rate", 9: "invalid range",
    10: "invalid MTU", 11: "invalid number of channels", 12: "invalid state",
    13: "device in charger", 14: "disk full",
}


class PolarSettings(BleSettings):
    sample_rate_hz: int = Field(50, ge=1, le=1000, title="Accelerometer rate (H10 25/50/100/200)")
    range_g: int = Field(8, ge=1, le=16, title="Accelerometer range in g")
    resolution_bits: int = Field(16, title="Sample resolution (16 on H10 and Verity Sense)")
    start_timeout_s: float = Field(5.0, gt=0, title="How long to wait for the start answer")
    reanchor_s: float = Field(2.0, gt=0, title="Re-anchor device time to the gateway clock "
                                              "when they drift apart by more than this")


class PolarPmdDriver(BleDriver[PolarSettings]):
    type_name = "polar_pmd"
    Settings = PolarSettings
    default_service = PMD_SERVICE
    #: blocks per second depend on rate and MTU (H10 at 50 Hz: about one per second)
    expected_rate_hz = None

    def __init__(self, sensor: SensorInfo, settings: PolarSettings) -> None:
        super().__init__(sensor, settings)
        self._cp_answers: asyncio.Queue[Any] = asyncio.Queue()
        self._prev_ts: int | None = None
        self.factor = 1.0
        self._streaming = False
        self.available_settings: dict[int, list[int]] = {}
        self._offset: float | None = None

    async def _setup(self) -> None:
        self._cp_answers = asyncio.Queue()
        self._prev_ts = None
        self._offset = None
        self._streaming = False

        def cp_callback(_char: Any, data: bytearray) -> None:
            self._cp_answers.put_nowait(bytes(data))

        await self._client.start_notify(PMD_CONTROL, cp_callback)
        self._notifying.append(PMD_CONTROL)
        await self._notify(PMD_DATA, "pmd")
        s = self.settings
        await self._check_supported()
        cmd = PP.encode_pmd_start(PP.PMD_TYPE_ACC, {
            PP.PMD_SETTING_SAMPLE_RATE: s.sample_rate_hz,
            PP.PMD_SETTING_RESOLUTION: s.resolution_bits,
            PP.PMD_SETTING_RANGE: s.range_g,
        })
        await self._client.write_gatt_char(PMD_CONTROL, cmd, response=True)
        answer = await self._await_answer(PP.PMD_OP_START)
        if not answer.ok:
            raise ConnectionError(
                f"polar_pmd {self.sensor.id}: accelerometer start refused: "
                f"{PMD_ERRORS.get(answer.status, answer.status)} (asked {s.sample_rate_hz} Hz, "
                f"{s.range_g} g, {s.resolution_bits} bit)")
        self.factor = PP.pmd_factor(answer.parameters)
        self._streaming = True

    async def _check_supported(self) -> None:
        """Ask the device what it supports, so a wrong rate or range fails with the list
        of valid ones instead of a bare error code. Unanswered: carry on to start."""
        s = self.settings
        await self._client.write_gatt_char(
            PMD_CONTROL, bytes([PP.PMD_OP_GET_SETTINGS, PP.PMD_TYPE_ACC]), response=True)
        try:
            answer = await self._await_answer(PP.PMD_OP_GET_SETTINGS)
            available = PP.parse_pmd_settings(answer.parameters) if answer.ok else {}
        except (ConnectionError, PP.PayloadError) as exc:
            log.info("polar_pmd %s: settings query failed (%s); starting anyway",
                     self.sensor.id, exc)
            return
        self.available_settings = available
        for sid, value, unit in ((PP.PMD_SETTING_SAMPLE_RATE, s.sample_rate_hz, "Hz"),
                                 (PP.PMD_SETTING_RANGE, s.range_g, "g"),
                                 (PP.PMD_SETTING_RESOLUTION, s.resolution_bits, "bit")):
            choices = available.get(sid)
            if choices and value not in choices:
                raise ConnectionError(
                    f"polar_pmd {self.sensor.id}: {value} {unit} not supported by this device; "
                    f"it supports {', '.join(str(c) for c in sorted(choices))} {unit}")

    async def _await_answer(self, opcode: int) -> PP.PmdResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.start_timeout_s
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ConnectionError(f"polar_pmd {self.sensor.id}: no answer to control "
                                      f"point op {opcode:#04x} within "
                                      f"{self.settings.start_timeout_s:g} s")
            try:
                data = await asyncio.wait_for(self._cp_answers.get(), remaining)
            except asyncio.TimeoutError:
                continue
            try:
                resp = PP.parse_pmd_response(data)
            except PP.PayloadError:
                self.count("bad_payloads")
                continue
            if resp.opcode == opcode and resp.measurement_type == PP.PMD_TYPE_ACC:
                return resp

    async def disconnect(self) -> None:
        if self._client is not None and self._streaming:
            self._streaming = False
            try:
                await self._client.write_gatt_char(
                    PMD_CONTROL, PP.encode_pmd_stop(PP.PMD_TYPE_ACC), response=True)
            except Exception as exc:  # noqa: BLE001 - link already lost: the device stops by itself
                log.debug("polar_pmd: stop stream failed: %s", exc)
        await super().disconnect()

    def _decode(self, tag: str, t: float, data: bytes) -> list[Reading]:
        def go() -> list[Reading]:
            frame = PP.parse_pmd_header(data)
            if frame.measurement_type != PP.PMD_TYPE_ACC:
                self.count("other_measurements")
                return []
            mg = PP.acc_samples_mg(frame, self.factor)
            if len(mg) == 0:
                self.count("empty_frames")
                return []
            prev = self._prev_ts
            if prev is not None and frame.timestamp_ns <= prev:
                self.count("timestamp_resets")
                prev = None
            times = PP.sample_times(frame.timestamp_ns, len(mg), prev,
                                    self.settings.sample_rate_hz)
            self._prev_ts = frame.timestamp_ns
            # The device clock gives the spacing; the gateway clock gives the absolute time
            # (an H10 whose clock nobody set counts from 2000-01-01). Anchor once, and again
            # only if the two drift apart by more than `reanchor_s`.
            offset = t - float(times[-1])
            if self._offset is None or abs(offset - self._offset) > self.settings.reanchor_s:
                if self._offset is not None:
                    self.count("clock_reanchors")
                self._offset = offset
            times = times + self._offset
            self.count("frames")
            self.count("compressed_frames" if frame.compressed else "raw_frames")
            return [AccelBlock(self.sensor.id, times, (mg / 1000.0).astype(np.float64))]
        return payload_guard(self, go)
