"""The per-type tables of a home's config: each sensor's `settings` by its driver's model,
each `[detectors.*]` table by its detector's, `[detectors.fusion]` by the fusion stage's.

Why apart from gateway/config.py: these models are known only to the driver and detector
registries (plugins found by `type`, their hardware libraries loaded lazily), so they are
parsed here, once, when a HomeConfig is made, and every problem is reported with the key
and the fix like any other config error; config.py keeps the home's own tables.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from detectors import registry as detector_registry
from detectors.base import DetectorSettings
from detectors.fusion import FusionSettings
from drivers import registry as driver_registry
from drivers.base import DriverSettings
from gateway.config_errors import describe_errors

FUSION = "fusion"  # [detectors.fusion]: a stage after the detectors, not a detector


@dataclass(frozen=True)
class TypedSettings:
    """Every `settings` and `[detectors.*]` table parsed into its model, once, when the
    HomeConfig is made (validated, built for a replay, or copied with other sensors or
    detectors): the models only the driver and detector registries know."""

    drivers: Mapping[str, DriverSettings]          # by sensor id
    detectors: Mapping[str, DetectorSettings]      # enabled detectors by name
    fusion: FusionSettings


def parse_tables(sensors: Sequence[Any], detectors: Mapping[str, Any],
                  problems: list[str]) -> TypedSettings:
    """Validate every sensor `settings` table by its driver's model and every detector
    table by its detector's: models that only the registries know. Each problem is
    appended to `problems`; what validated is returned, typed."""
    drivers: dict[str, DriverSettings] = {}
    for i, s in enumerate(sensors):
        if not isinstance(s, Mapping):
            continue
        sid, stype = s.get("id"), s.get("type")
        if not isinstance(stype, str):
            continue
        try:
            cls = driver_registry.load(stype)
        except driver_registry.UnknownDriver:
            hint = difflib.get_close_matches(stype, driver_registry.known_types(), n=1)
            problems.append(f"sensors[{i}].type: {stype!r} is not a known driver; "
                            + (f"did you mean '{hint[0]}'?" if hint else
                               f"known: {', '.join(driver_registry.known_types())}"))
            continue
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide other errors
            problems.append(f"sensors[{i}].type: driver {stype!r} failed to load: {exc}")
            continue
        try:
            settings = cls.Settings.model_validate(s.get("settings") or {})
        except ValidationError as exc:
            problems.extend(describe_errors(exc, ("sensors", i, "settings"), cls.Settings))
            continue
        if isinstance(sid, str):
            drivers[sid] = settings
    fusion = FusionSettings()
    for name, table in detectors.items():
        if name == FUSION:
            try:
                fusion = FusionSettings.model_validate(table)
            except ValidationError as exc:
                problems.extend(describe_errors(exc, ("detectors", name), FusionSettings))
            continue
        if name not in detector_registry.known_names():
            hint = difflib.get_close_matches(name, detector_registry.known_names(), n=1)
            problems.append(f"detectors.{name}: unknown detector; " + (
                f"did you mean '{hint[0]}'?" if hint else
                f"known: {', '.join(detector_registry.known_names())}"))
    enabled: dict[str, DetectorSettings] = {}
    for name in detector_registry.known_names():
        table = detectors.get(name)
        try:
            dcls = detector_registry.load(name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide other errors
            problems.append(f"detectors.{name}: detector failed to load: {exc}")
            continue
        if table is None and not dcls.default_on:
            continue
        try:
            dsettings = dcls.Settings.model_validate(table or {})
        except ValidationError as exc:
            problems.extend(describe_errors(exc, ("detectors", name), dcls.Settings))
            continue
        if dsettings.enabled:
            enabled[name] = dsettings
    return TypedSettings(drivers, enabled, fusion)
