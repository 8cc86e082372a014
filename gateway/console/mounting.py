"""A radar's mounting: what the config says (height, tilt) and what was measured.

Why both: a radar judges falls by height, so one hung at 2.4 m but configured as 2.0 m
misjudges every posture. The configured values come from the driver settings (TI
`sensor_height_m` / `elevation_tilt_deg`, Seeed `install_height_m`, or the preset's
`[mounting]` table). A measured value comes from any detector that implements
`MountingEstimator` (estimating the mounting from the floor and people's heights); until
one does, or until it has seen enough, the page says "not measured yet".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from drivers import registry as driver_registry
from gateway.config import SensorConfig

RADAR_TYPES = frozenset({"ti_mmwave", "hlk_ld2410", "seeed_mr60fda1", "seeed_mr60fda2"})
HEIGHT_TOLERANCE_M = 0.2
TILT_TOLERANCE_DEG = 5.0


@runtime_checkable
class MountingEstimator(Protocol):
    def mounting_estimate(self, sensor: str) -> Mapping[str, float] | None:
        """{"height_m": ..., "tilt_deg": ...} once estimated for this radar, else None."""
        ...


def configured(s: SensorConfig) -> dict[str, float | None]:
    """Height (m) and downward tilt (deg) as configured; None where the config is silent."""
    out: dict[str, float | None] = {"height_m": None, "tilt_deg": None}
    try:
        settings: Any = driver_registry.load(s.type).Settings.model_validate(s.settings)
    except Exception:  # noqa: BLE001 - validated at load; a plugin may still misbehave
        return out
    for key in ("sensor_height_m", "install_height_m"):
        if getattr(settings, key, None) is not None:
            out["height_m"] = float(getattr(settings, key))
    if getattr(settings, "elevation_tilt_deg", None) is not None:
        out["tilt_deg"] = float(settings.elevation_tilt_deg)
    if out["height_m"] is None or out["tilt_deg"] is None:
        mounting = _file_mounting(s.type, settings)
        for key in ("height_m", "tilt_deg"):
            if out[key] is None and mounting.get(key) is not None:
                out[key] = mounting[key]
    return out


def _file_mounting(driver_type: str, settings: Any) -> dict[str, float]:
    """The mounting a preset (LD2410, Seeed) or a TI chirp config (header/sensorPosition) states."""
    preset = getattr(settings, "preset", None)
    try:
        if driver_type == "hlk_ld2410" and preset:
            from drivers.ld2410.presets import load_preset as ld2410_preset
            m: Any = ld2410_preset(preset).mounting
        elif driver_type.startswith("seeed_") and preset:
            from drivers.seeed.presets import load_preset as seeed_preset
            m = seeed_preset(preset).mounting
        elif driver_type == "ti_mmwave":
            from drivers.ti_mmwave.chirp import load as load_chirp
            ti = load_chirp(settings.config).mounting
            return {} if ti is None else {"height_m": float(ti.height_m),
                                          "tilt_deg": float(ti.elevation_tilt_deg)}
        else:
            return {}
    except Exception:  # noqa: BLE001 - a missing preset is the config check's business
        return {}
    return {k: float(v) for k in ("height_m", "tilt_deg")
            if isinstance(v := getattr(m, k, None), (int, float))}


def measured(detectors: Mapping[str, Any], sensor: str) -> dict[str, float] | None:
    for det in detectors.values():
        if isinstance(det, MountingEstimator):
            try:
                got = det.mounting_estimate(sensor)
            except Exception:  # noqa: BLE001 - the console only reads
                continue
            if got:
                return {k: float(v) for k, v in got.items() if isinstance(v, (int, float))}
    return None


def check(conf: Mapping[str, float | None], meas: Mapping[str, float] | None) -> dict[str, Any]:
    """Per quantity: configured, measured, difference and whether it is within tolerance."""
    out: dict[str, Any] = {}
    for key, tol in (("height_m", HEIGHT_TOLERANCE_M), ("tilt_deg", TILT_TOLERANCE_DEG)):
        c = conf.get(key)
        m = meas.get(key) if meas else None
        item: dict[str, Any] = {"configured": c, "measured": m, "tolerance": tol}
        if c is not None and m is not None:
            item["difference"] = round(m - c, 3)
            item["ok"] = abs(m - c) <= tol
        out[key] = item
    return out
