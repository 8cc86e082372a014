"""How an event leaves the gateway, and what changes while the store cannot write.

Why its own module: "no alarm is lost" is decided here, in one place a reader can check.
An event is committed to the store before anything may send it; only then is it queued
in the outbox (and handed to the optional second path, Home Assistant, the local prompt),
so a crash after `emit` returns loses nothing. The events of one batch, and the cancel
window they opened or closed, share one commit: a crash leaves both or neither.

When the store fails (disk full, SD card worn out) memory is all there is:
- events are still queued and sent, from memory, and the store retries every write;
- one `storage_failure` event says so (once per failure, kept to be written when the
  store recovers);
- a cancel window would live in memory alone, and a crash would end it in nothing, so a
  suspected fall becomes the `fall` alarm at once until the store works again.

The daemon builds one `EmitPolicy` (it owns the `Store`, because the failure callbacks
are its job), binds the pipeline at start with `start(pipeline)`, and routes every event
through `emit`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Iterable, Protocol

from gateway.config import StorageConfig
from gateway.events import Event
from gateway.outbox import Outbox
from gateway.pipeline import ALARM_FLOW_STATE, Pipeline
from gateway.store import Store

log = logging.getLogger("safehome.daemon")


class EventFilter(Protocol):
    """Drops events before they are committed (the centre silenced a broken sensor)."""

    def filter(self, events: Iterable[Event]) -> list[Event]: ...


class SecondPath(Protocol):
    """Takes every committed event (the DC-09 path, gateway/dc09_path.py)."""

    def add(self, event: Event) -> None: ...


class AlarmMirror(Protocol):
    """Is told of every committed alarm (Home Assistant, gateway/homeassistant.py)."""

    def alarm(self, event: Event) -> None: ...


class Prompt(Protocol):
    """Sees every committed batch ("are you OK?", gateway/local_prompt.py)."""

    def notice(self, events: Iterable[Event]) -> None: ...


class EmitPolicy:
    def __init__(self, storage: StorageConfig, outbox: Outbox, cancel_window: float) -> None:
        self.store = Store(storage.path, batch_ms=storage.batch_ms,
                           on_failure=self.storage_failed, on_recovery=self.storage_recovered)
        self.outbox = outbox
        self.cancel_window = cancel_window  # the configured one; 0 while the store is failed
        self.pipeline: Pipeline | None = None
        self.commands: EventFilter | None = None
        self.second_path: SecondPath | None = None
        self.alarm_mirror: AlarmMirror | None = None
        self.prompt: Prompt | None = None
        self.storage_reported = False  # a storage_failure event was raised for this failure

    def start(self, pipeline: Pipeline) -> None:
        """Bind the pipeline (numbering, the cancel window); a store that failed at open
        takes the cancel window away from the first event on."""
        self.pipeline = pipeline
        if self.store.failed:
            self._cancel_window_needs_store(failed=True)

    def startup_report(self) -> list[Event]:
        """The `storage_failure` event owed for a store that failed while starting, once."""
        if not self.store.failed or self.storage_reported:
            return []
        self.storage_reported = True
        return [self._technical("storage_failure")]

    async def emit(self, events: Iterable[Event]) -> None:
        """Commit, then queue for sending. Inserts of one batch share one commit."""
        events = list(events)
        if self.commands is not None:
            events = self.commands.filter(events)  # the centre silenced a broken sensor
        flow_changed = self.pipeline is not None and self.pipeline.flow.changed
        if not events and not flow_changed:
            return
        # Queued together, so the events and the cancel window they opened or closed share
        # one commit: a crash leaves both or neither.
        commits = [self.store.enqueue(e) for e in events]
        if flow_changed:
            self.save_flow()
        for e, result in zip(events, await asyncio.gather(*commits, return_exceptions=True), strict=True):
            if isinstance(result, BaseException):  # not storable: memory is all there is
                log.error("event %s %s not stored (%s); sending it from memory", e.type, e.id, result)
        for e in events:
            self.outbox.add(e)
            if self.second_path is not None:
                self.second_path.add(e)
            log.log(logging.WARNING if e.is_alarm else logging.INFO, "%s %s seq=%d %s",
                    "ALARM" if e.is_alarm else "event", e.type, e.seq, e.text.get("en", ""))
            if e.is_alarm and self.alarm_mirror is not None:
                self.alarm_mirror.alarm(e)   # committed and queued first: never in the way
        if self.prompt is not None:  # "are you OK?" while the window is open; never in the way
            try:
                self.prompt.notice(events)
            except Exception:  # noqa: BLE001
                log.exception("local prompt failed; the alarm flow is not affected")

    def save_flow(self) -> None:
        """Queue the alarm flow's state (the open cancel window) for the next commit."""
        assert self.pipeline is not None
        self.pipeline.flow.changed = False
        self.store.save_detector_state(ALARM_FLOW_STATE, self.pipeline.flow.state())

    # -- the store's callbacks ---------------------------------------------------------------
    def storage_failed(self, reason: str) -> None:
        if self.pipeline is None:
            return  # failed at open: reported once, by the start-up events
        self._cancel_window_needs_store(failed=True)
        if self.storage_reported:
            return
        self.storage_reported = True
        ev = self._technical("storage_failure")
        self.store.remember(ev)  # written when the store recovers
        self.outbox.add(ev)  # the store cannot hold it now; memory can

    def storage_recovered(self) -> None:
        self.storage_reported = False
        self._cancel_window_needs_store(failed=False)

    def _cancel_window_needs_store(self, failed: bool) -> None:
        """A cancel window is durable only through the store. While the store is failed a
        window would live in memory alone, and a crash would end it in nothing: so a
        suspected fall becomes the `fall` alarm at once (a cancel may follow it, never
        retract it). The configured window comes back with the store."""
        assert self.pipeline is not None
        window = 0.0 if failed else self.cancel_window
        if self.pipeline.flow.cancel_window != window:
            self.pipeline.flow.cancel_window = window
            if failed:
                log.warning("storage failed: suspected falls alarm at once (no cancel window) "
                            "until the store works again")
            else:
                log.info("storage works again: suspected falls get their %.0f s cancel window",
                         window)

    def _technical(self, type_name: str) -> Event:
        assert self.pipeline is not None
        return self.pipeline.technical(type_name, time.time(), evidence={})
