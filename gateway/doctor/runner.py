"""Runs every commissioning check of one home and returns the checklist in a fixed order.

Why concurrent: each sensor may take the whole timeout (a radar's rate is measured over
it), and a home has several; running them side by side keeps `safehome doctor` as long
as its slowest item, not their sum. BLE scans still take turns (the drivers' own lock).
The order of the printed list stays the config's order, whatever finishes first.
"""

from __future__ import annotations

import asyncio
from typing import Mapping

from gateway.checks.check import Check
from gateway.checks.system import check_clock, check_recording, check_storage
from gateway.config import HomeConfig
from gateway.doctor.sensors import check_sensor
from gateway.doctor.uplink import check_uplink


async def _sensor(cfg: HomeConfig, s, timeout: float) -> list[Check]:
    try:
        return await check_sensor(cfg, s, timeout)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide the other items
        return [Check.fail(f"sensor {s.id}", f"the check itself failed: {type(exc).__name__}: "
                           f"{exc}", "report this as a bug of the driver", required=s.required)]


async def run_checks(cfg: HomeConfig, timeout: float = 5.0,
                     env: Mapping[str, str] | None = None) -> list[Check]:
    sensor_jobs = [asyncio.create_task(_sensor(cfg, s, timeout)) for s in cfg.sensors]
    uplink_job = asyncio.create_task(check_uplink(cfg, timeout, env))
    out: list[Check] = [Check.ok("config", f"valid: gateway {cfg.gateway_id}, "
                                 f"{len(cfg.sensors)} sensors, broker {cfg.mqtt.url}")]
    for job in sensor_jobs:
        out.extend(await job)
    out.extend(await uplink_job)
    out.extend(check_clock())
    out.extend(check_storage(cfg))
    out.extend(check_recording(cfg))
    return out
