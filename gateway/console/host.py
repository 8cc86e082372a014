"""What the console may see and touch of the running gateway, and how it is attached to it.

Why a protocol owned by the console (as `CommandHost` is owned by the commands,
gateway/command_wiring.py): the console runs inside the daemon's process, but the alarm
path must not depend on it. So the daemon never imports the console: it satisfies
`ConsoleHost` by its shape, and `safehome run` (gateway/commands/run.py) attaches the
console with `attach_console` (attach.py) when `[console] listen` is set, as it attaches the trace
recorder. The console package then imports nothing of the daemon, not even for types.

What the console does with the host: it reads (the config, sensor health, the outbox,
the uplink's state, the event store's newest rows); it adds a reading tap and an ack
listener of its own (removed again when it stops); and the one thing it writes is a
test alarm, through the host's `technical` and `emit`, the path of every alarm.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

if TYPE_CHECKING:  # types only: none of these imports the console's host
    from gateway.config import HomeConfig
    from gateway.events import Event
    from gateway.health import HealthMonitor
    from gateway.outbox import Outbox
    from gateway.sensors import KnownSensor


ReadingTap = Callable[[list[Any]], None]
AckListener = Callable[[str, str | None, float], None]


class PipelineView(Protocol):
    @property
    def detectors(self) -> Mapping[str, Any]:
        """The running detectors, by name (a radar's mounting estimate is read from one)."""
        ...

    @property
    def seq(self) -> int:
        """The last seq given out: the page reloads its event list when it moves."""
        ...


class UplinkView(Protocol):
    @property
    def state(self) -> str:
        """connected, disconnected, starting, credentials_refused, ..."""
        ...


class StoreView(Protocol):
    @property
    def failed(self) -> str | None:
        """Why the store is degraded, or None."""
        ...

    async def recent(self, limit: int) -> list[tuple[Any, ...]]:
        """The newest events with their delivery state, newest first."""
        ...


class ConsoleHost(Protocol):
    """All the console reads and touches of the running gateway. The daemon satisfies it
    (gateway/daemon.py); a test can too."""

    @property
    def cfg(self) -> HomeConfig: ...

    @property
    def health(self) -> HealthMonitor: ...

    @property
    def known_sensors(self) -> Sequence[KnownSensor]:
        """Every sensor watched: config entries, then devices bridged through them."""
        ...

    @property
    def pipeline(self) -> PipelineView | None:
        """None while the gateway is still starting."""
        ...

    @property
    def uplink(self) -> UplinkView: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def store(self) -> StoreView: ...

    @property
    def reading_taps(self) -> list[ReadingTap]:
        """Called with every batch of readings, in the consume loop: must be quick."""
        ...

    @property
    def ack_listeners(self) -> list[AckListener]:
        """Called with (event id, acknowledged by, at) for every acknowledged alarm."""
        ...

    def technical(self, type_name: str, **kw: Any) -> Event:
        """A new event numbered in the gateway's seq (not yet committed)."""
        ...

    async def emit(self, events: Iterable[Event]) -> None:
        """Commit, then queue for sending: the one way an event leaves the gateway."""
        ...


class AttachingHost(ConsoleHost, Protocol):
    def attach(self, name: str, part: AbstractAsyncContextManager[Any]) -> None:
        """Run `part` alongside the gateway: entered once the core runs, exited first at
        shutdown; a failure either way is logged and the gateway runs on."""
        ...
