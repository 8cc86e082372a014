"""The driver contract: connect, disconnect, and an async iterator of readings.

A driver owns one configured sensor (or one bridge that serves several devices). The
gateway's supervisor calls `connect()`, iterates `readings()` until it ends or raises,
then calls `disconnect()` and, after a backoff, starts again with a fresh `connect()`.
A driver therefore never retries on its own at the top level; it raises and lets the
supervisor restart it, so every sensor gets the same backoff, logging and health events.

Each driver declares a pydantic `Settings` model (extra keys forbidden, every field
titled) that validates its `[sensors.settings]` table at config load, and the optional
Python modules it needs (`requires`), imported lazily so a missing library disables only
that driver with a clear message.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from typing import Any, AsyncIterator, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from sensordata.readings import Reading


class DriverSettings(BaseModel):
    """Base for every driver's settings table: unknown keys are errors, not silence."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoSettings(DriverSettings):
    """For drivers that take no settings."""


class DriverUnavailable(RuntimeError):
    """An optional library or a device the driver needs is not present; the message says
    what to install or check. The supervisor reports it and retries slowly."""


@dataclass(frozen=True)
class SensorInfo:
    """What the config says about the sensor a driver serves."""

    id: str
    room: str | None
    type: str
    placement: str | None = None


def require_module(module: str, driver_type: str, hint: str) -> Any:
    """Import an optional hardware library, or raise DriverUnavailable naming the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DriverUnavailable(
            f"driver '{driver_type}' needs the Python module '{module}' ({exc}); {hint}"
        ) from exc


SettingsT = TypeVar("SettingsT", bound=DriverSettings)


class Driver(abc.ABC, Generic[SettingsT]):
    """Base class of all drivers. Subclasses set `type_name` (the config's sensor `type`) and `Settings`."""

    type_name: ClassVar[str]
    Settings: ClassVar[type[DriverSettings]] = NoSettings
    #: readings per second the sensor normally produces (None: event driven); used by
    #: `safehome doctor` to say whether readings flow at the expected rate.
    expected_rate_hz: ClassVar[float | None] = None

    def __init__(self, sensor: SensorInfo, settings: SettingsT) -> None:
        self.sensor = sensor
        self.settings: SettingsT = settings
        #: counters a driver may raise (frames decoded, bytes discarded, ...); shown by
        #: `safehome doctor` and `safehome decode`.
        self.stats: dict[str, int] = {}

    async def connect(self) -> None:  # noqa: B027 - optional hook, most drivers open in readings()
        """Open the device. Raise to fail; the supervisor backs off and retries."""

    async def disconnect(self) -> None:  # noqa: B027 - optional hook
        """Release the device. Must be safe to call after a failed or partial connect."""

    def sub_sensors(self) -> list[SensorInfo]:
        """The devices a bridge driver serves (each becomes a known sensor with its own
        room and silence check); a driver for one device serves only itself."""
        return []

    @abc.abstractmethod
    def readings(self) -> AsyncIterator[Reading]:
        """Yield readings until the device goes away (then return or raise)."""

    def count(self, name: str, n: int = 1) -> None:
        self.stats[name] = self.stats.get(name, 0) + n
