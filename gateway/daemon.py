"""The gateway daemon: one asyncio loop wiring drivers, pipeline, store and uplink.

    drivers --readings--> pipeline --events--> store (commit) --> outbox --> uplink
       ^ supervised          ^ tick each second                      ^ ack from centre

This class is the composition root: it builds the parts, runs the loops that feed them
and owns every task. The parts keep their own rules, each in its own module:
`EmitPolicy` (gateway/emit_policy.py) commits an event before it may be sent, and says
what changes while the store cannot write; `first_seq` (gateway/seq_bootstrap.py) picks
the first number above every number given out before; `HookRunner`
(gateway/hook_runner.py) runs the unacknowledged-alarm hook; `GatewayCommandHost`
(gateway/command_host.py) is all a centre's command may touch. A reading's path never
blocks on the network: the uplink drains the outbox on its own.

Parts that are not the alarm path are attached from outside with `attach` (entered once
the core runs, exited first at shutdown, contained) or tap it (`reading_taps`,
`ack_listeners`, `own`): the installer's console (gateway/console/host.py, attached by
`safehome run` when `[console] listen` is set) reads this state and raises test alarms
through `emit`; the trace recorder (`--record`) taps the readings. The daemon imports
neither.

Every long-lived task is owned (gateway/lifecycle.py's `TaskGroup`): a core loop
(readings, tick, escalation, a driver's supervisor) that ends or raises, or an uplink that
raises, stops the gateway with exit code 1, so systemd restarts it, instead of leaving a
process that reports online while nothing is watched. The daemon is a lifecycle
`Component`; it stops in named stages, each with its own timeout: attached parts (the
console), then intake (drivers and loops), then the drain (states, seq, store flush),
then the uplink says offline, then the store closes.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
import time
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Callable, Iterable

from drivers import registry as driver_registry
from drivers.base import SensorInfo
from drivers.pacing import next_tick, sleep_until
from gateway import escalation, periodic_test, systemd
from gateway.command_host import GatewayCommandHost
from gateway.command_wiring import DaemonCommands
from gateway.config import HomeConfig
from gateway.emit_policy import EmitPolicy
from gateway.events import Event
from gateway.health import HealthMonitor, SensorHealth
from gateway.hook_runner import HookRunner
from gateway.lifecycle import (
    DRAIN,
    FINAL,
    STOP_INTAKE,
    Component,
    Shutdown,
    Stage,
    TaskFailed,
    TaskGroup,
)
from gateway.outbox import Entry, Outbox
from gateway.pipeline import Pipeline
from gateway.sensors import expand as expand_sensors
from gateway.seq_bootstrap import SEQ_BLOCK, first_seq
from gateway.steady_clock import SteadyClock
from gateway.store import SeqReservation
from gateway.supervisor import supervise
from gateway.task_cancel import cancel_and_wait
from gateway.uplink import Uplink

if TYPE_CHECKING:
    from gateway.dc09_path import Dc09Path

log = logging.getLogger("safehome.daemon")

STATE_SAVE_EVERY = 600.0
PRUNE_EVERY = 3600.0
EXIT_CORE_FAILURE = 1  # a core loop died: systemd's Restart=always starts us again
UPLINK_STOP_S = 10.0  # the uplink's offline message and disconnect, then it is cancelled

# The shutdown's stages, in order (lifecycle.py's, with the gateway's own first stage and
# room for the uplink's grace period). The steps of a stage run together.
ATTACHED = Stage("attached parts", 10.0)               # the console: no new requests
CLOSE_UPLINK = Stage("close outputs", UPLINK_STOP_S + 5.0)  # offline, disconnect
SHUTDOWN_STAGES = (ATTACHED, STOP_INTAKE, DRAIN, CLOSE_UPLINK, FINAL)


class Daemon(Component):
    stages = SHUTDOWN_STAGES
    tasks_end_in = STOP_INTAKE  # drivers and loops: no new readings, no new events

    def __init__(self, config: HomeConfig) -> None:
        super().__init__("gateway")
        self.cfg = config
        self.outbox = Outbox(ack_timeout=config.alarm.ack_timeout,
                             expire_after=config.alarm.expire_after,
                             escalate_after=config.alarm.max_attempts * config.alarm.ack_timeout)
        self.events = EmitPolicy(config.storage, self.outbox, config.alarm.cancel_window)
        self.store = self.events.store
        self.health = HealthMonitor()
        self.known_sensors = expand_sensors(config)
        for k in self.known_sensors:
            self.health.add(k.meta.id, k.timeout, parent=k.parent)
        self.pipeline: Pipeline | None = None
        self.uplink = Uplink(config, self.outbox, self.store, health=self._health_body,
                             on_command=self._on_command, on_ack=self._acked)
        self.ack_listeners: list[Callable[[str, str | None, float], None]] = []  # e.g. the console
        self.readings: asyncio.Queue[Any] = asyncio.Queue(maxsize=20000)
        self.reading_taps: list[Callable[[list[Any]], None]] = []  # e.g. the trace recorder
        self.stop_requested = asyncio.Event()
        self.commands: DaemonCommands | None = None  # the alarm centre's commands, once started
        self._attached: list[tuple[str, AbstractAsyncContextManager[Any]]] = []
        self._entered: list[tuple[str, AbstractAsyncContextManager[Any]]] = []
        every = config.alarm.periodic_test_interval
        self.periodic_test = periodic_test.PeriodicTest(
            every, config.alarm.periodic_test_at, config.timezone, time.time()) if every else None
        self.dc09: Dc09Path | None = None  # second path, optional
        if config.dc09 is not None:  # imported only then: the bridge code and cryptography
            from gateway.dc09_path import Dc09Path
            self.dc09 = Dc09Path.from_home(config, self._acked_by_dc09)
        self.care_report: Any = None  # gateway.care_report.WeeklyCareReport, when enabled
        if config.care_report.enabled:
            from gateway.care_report import WeeklyCareReport
            self.care_report = WeeklyCareReport(config.care_report, config.timezone, time.time())
        self.homeassistant: Any = None  # gateway.homeassistant bridge, when configured
        if config.homeassistant.discovery:
            from gateway.homeassistant import HomeAssistantBridge
            from gateway.version import installed_version
            self.homeassistant = HomeAssistantBridge(config, self._health_body_sensors,
                                                     installed_version())
        self._uplink_group = TaskGroup("uplink")  # stopped last but one, not with the rest
        self.prompt: Any = None  # gateway.local_prompt.LocalPrompt, when [alarm.prompt] is on
        if config.alarm.prompt.enabled:
            from gateway.local_prompt import LocalPrompt
            self.prompt = LocalPrompt(config.alarm.prompt, config.alarm.cancel_window, self.own)
        self.exit_code = 0
        self._seqs = SeqReservation(self.store, SEQ_BLOCK)
        self.events.second_path, self.events.alarm_mirror = self.dc09, self.homeassistant
        self.events.prompt = self.prompt
        hook = config.alarm.unacknowledged_hook
        self.hook = HookRunner(hook) if hook else None

    # -- events ---------------------------------------------------------------------------
    async def emit(self, events: Iterable[Event]) -> None:
        """Commit, then queue for sending (gateway/emit_policy.py)."""
        await self.events.emit(events)

    def _acked_by_dc09(self, event_id: str, by: str, at: float) -> None:
        """The second path's receiver ACKed an alarm: delivered, as if the centre acked it."""
        if self.outbox.acknowledged(event_id) is not None:
            self.store.mark_acked(event_id, by, at)
            log.info("alarm %s acknowledged by %s (DC-09 path)", event_id, by)

    def technical(self, type_name: str, **kw: Any) -> Event:
        assert self.pipeline is not None
        return self.pipeline.technical(type_name, time.time(), **kw)

    def _acked(self, event_id: str, by: str | None, at: float) -> None:
        for listener in self.ack_listeners:
            try:
                listener(event_id, by, at)
            except Exception:
                log.exception("ack listener failed")

    def _unacknowledged(self, entry: Entry) -> None:
        ev = self.technical("alarm_unacknowledged", ref=entry.event.id, room=entry.event.room,
                            evidence={"attempts": entry.attempts})
        self.own(self.emit([ev]), "emit-unacknowledged")
        if self.hook is not None:
            self.own(self.hook.run(entry.event), "unacknowledged-hook")

    def own(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run `coro` as a task the daemon owns: a failure is logged, and it is cancelled
        (and awaited) at shutdown. For helpers outside the daemon, e.g. the trace recorder."""
        return self.tasks.spawn(coro, name, critical=False)

    def _core(self, coro: Any, name: str) -> None:
        """A core task: one that ends at all (raises, or returns) stops the gateway with
        exit code 1."""
        self.tasks.spawn(coro, name, critical=True, forever=True)

    def attach(self, name: str, part: AbstractAsyncContextManager[Any]) -> None:
        """Run `part` alongside the gateway (e.g. the installer's console, attached by
        `safehome run`): entered once the core runs, exited first at shutdown. Never needed
        for alarms: a failure to enter or to exit is logged, and the gateway runs on."""
        self._attached.append((name, part))

    async def _on_command(self, name: str, payload: bytes, retained: bool, props: Any) -> None:
        if self.commands is None:
            log.warning("command %s ignored: no command handler configured", name)
            return
        await self.commands.handle(name, payload, retained, props)

    def _health_body_sensors(self) -> dict[str, Any]:
        return self.health.summary()

    def _health_body(self) -> dict[str, Any]:
        return {"storage": "degraded" if self.store.failed else "ok",
                "sensors": self.health.summary()}

    # -- loops -----------------------------------------------------------------------------
    async def _deliver(self, reading: Any) -> None:
        await self.readings.put(reading)

    async def _consume(self) -> None:
        assert self.pipeline is not None
        while True:
            batch = [await self.readings.get()]
            while len(batch) < 2000:
                try:
                    batch.append(self.readings.get_nowait())
                except asyncio.QueueEmpty:
                    break
            restored = [s for r in batch for s in self.health.seen(r)]
            for tap in self.reading_taps:
                try:
                    tap(batch)
                except Exception:
                    log.exception("reading tap failed")
            events = [self.technical("sensor_restored", sensor=s, room=self._room(s))
                      for s in dict.fromkeys(restored) if not self.health.is_silenced(s)]
            events += self.pipeline.feed(batch)
            await self.emit(events)

    def _room(self, sensor_id: str) -> str | None:
        return next((k.meta.room for k in self.known_sensors if k.meta.id == sensor_id), None)

    async def _tick(self) -> None:
        assert self.pipeline is not None
        wd = systemd.watchdog_interval()
        last_wd = last_save = last_prune = time.monotonic()
        steady = SteadyClock()
        while True:
            # each whole second of the loop's clock, with the escalation check and the
            # simulated drivers' batches: one wake-up for all (drivers/pacing.py)
            await sleep_until(next_tick(1.0))
            events = self.pipeline.tick(steady())  # never back: a wall-clock step holds no window
            if self.periodic_test is not None and self.periodic_test.due(time.time()):
                events += periodic_test.reports(self.technical, self.health, self._room)
            if self.care_report is not None and self.care_report.due(time.time()):
                self.own(self._weekly_care_report(), "care_report")
            for h, seconds in self.health.newly_silent():
                if not self.health.is_silenced(h.id):
                    events.append(self.technical("sensor_silent", sensor=h.id, room=self._room(h.id),
                                                 evidence={"seconds": round(seconds)}))
            await self.emit(events)
            now = time.monotonic()
            if wd and now - last_wd >= wd:
                systemd.notify("WATCHDOG=1")
                last_wd = now
            if now - last_save >= STATE_SAVE_EVERY:
                self._save_states()
                last_save = now
            if now - last_prune >= PRUNE_EVERY and not self.store.failed:
                removed = await self.store.prune(self.cfg.storage.max_age_days,
                                                 self.cfg.storage.max_size_mb)
                if removed:
                    log.info("pruned %d delivered events", removed)
                last_prune = now

    async def _weekly_care_report(self) -> None:
        """Write the week's care report in the home; with share = true send its aggregates."""
        from gateway.care_report import aggregates
        assert self.pipeline is not None and self.care_report is not None
        data = self.care_report.data(self.pipeline.detector_states().get("trends", {}), time.time())
        if data is None:
            log.info("care report: no whole day learned yet")
            return
        path = await asyncio.to_thread(self.care_report.write, data, self.cfg.site_id)
        log.info("care report written to %s", path)
        if self.cfg.care_report.share:
            await self.emit([self.technical("care_report", evidence=aggregates(data))])

    def _save_states(self) -> None:
        if self.pipeline is not None:
            for name, state in self.pipeline.detector_states().items():
                self.store.save_detector_state(name, state)
            self.events.save_flow()

    def _start_drivers(self) -> None:
        for s in self.cfg.sensors:
            cls = driver_registry.load(s.type)
            settings = self.cfg.driver_settings(s)
            info = SensorInfo(s.id, s.room, s.type, s.placement)

            health = self.health.sensors[s.id]
            self._core(supervise(functools.partial(cls, info, settings), self._deliver,
                                 on_failure=functools.partial(_mark_failed, health)),
                       f"driver-{s.id}")

    async def _enter_attached(self) -> None:
        for name, part in self._attached:
            try:
                await part.__aenter__()
            except Exception:  # noqa: BLE001 - e.g. the console: the alarm path runs on
                log.exception("%s failed to start; the gateway runs on without it", name)
            else:
                self._entered.append((name, part))

    # -- lifecycle -------------------------------------------------------------------------
    async def run(self) -> int:
        """Run until SIGTERM/SIGINT, `stop_requested`, or a core task's end; the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_requested.set)
        async with self:
            systemd.notify("READY=1\nSTATUS=running")
            log.info("gateway %s running with %d sensors", self.cfg.gateway_id, len(self.cfg.sensors))
            # What start-up built (modules, config, detectors) lives as long as the daemon: out
            # of the garbage collector's way, each full collection walks only what came since
            # (the idle demo home's CPU, issue 25). Undone at the end, for processes that go on.
            gc.collect()
            gc.freeze()
            try:
                await self._until_stopped()
            finally:
                gc.unfreeze()
                log.info("stopping")
                systemd.notify("STOPPING=1")
        log.info("stopped cleanly")
        return self.exit_code

    async def start(self) -> None:
        """Open the store, number on, restore, resume the backlog, then start the loops,
        the drivers and the attached parts."""
        await self.store.open()
        self.pipeline = Pipeline(self.cfg, seq_start=await first_seq(self.store, self._seqs))
        self.pipeline.on_seq = self._seqs.used
        self.events.start(self.pipeline)
        self.pipeline.restore_states(await self.store.load_detector_state())
        window = self.pipeline.flow.window
        if window is not None:
            if await self.store.has_closing_event(window.suspected_id):
                self.pipeline.flow.window = None  # its alarm or cancel was committed already
            else:
                log.warning("cancel window of suspected fall %s was open at the last stop; it closes"
                            " at its deadline unless cancelled", window.suspected_id)
        backlog = await self.store.undelivered()
        for item in backlog:
            self.outbox.add(item.event, attempts=item.attempts)
        if backlog:
            log.info("resuming with %d undelivered events from the store", len(backlog))
        self.commands = self.events.commands = DaemonCommands(
            GatewayCommandHost(self.cfg, self.events, self.uplink, self.health))
        startup = [self.technical("gateway_started", evidence={"backlog": len(backlog)})]
        await self.emit(startup + self.events.startup_report())
        # The uplink may end by itself (refused credentials stop the retries; the home keeps
        # watching and escalating locally); only an uplink that raises is a core failure.
        self._uplink_group.spawn(self.uplink.run(), "uplink", critical=True)
        self._core(self._consume(), "consume")
        self._core(self._tick(), "tick")
        if self.dc09 is not None:
            self.own(self.dc09.run(), "dc09-path")  # a second path: its failure is logged
        self._core(escalation.watch(self.outbox, self._unacknowledged), "escalation")
        self._start_drivers()
        await self._enter_attached()
        if self.homeassistant is not None:
            self.own(self.homeassistant.run(), "homeassistant")

    async def _until_stopped(self) -> None:
        """Until a stop is asked for, or a core task ended: then exit code 1, so that
        systemd restarts the gateway."""
        groups = (self.tasks, self._uplink_group)
        waits = [asyncio.ensure_future(e.wait())
                 for e in (self.stop_requested, *(g.stopping for g in groups))]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(waits)
        failed = next((g for g in groups if g.failure is not None), None)
        if failed is not None and not self.stop_requested.is_set():
            exc = failed.take_failure()  # handled here: the exit code, not an exception
            log.critical("core task %s %s; stopping with exit code %d so that the service restarts",
                         failed.failed_task, "ended" if isinstance(exc, TaskFailed)
                         else f"failed: {exc!r}", EXIT_CORE_FAILURE)
            self.exit_code = EXIT_CORE_FAILURE
        self.stop_requested.set()

    def stopping(self, shutdown: Shutdown) -> None:
        """The attached parts, then the drivers and loops (no new readings; the `tasks`
        step, lifecycle.Component's), then flush the store, then say offline, then close."""
        for name, part in reversed(self._entered):
            shutdown.add(ATTACHED, name, functools.partial(part.__aexit__, None, None, None))
        self._entered.clear()
        if self.prompt is not None:
            shutdown.add(DRAIN, "local prompt", self.prompt.close)  # after its task ended
        if self.pipeline is not None:  # started: there is something to save and to say
            shutdown.add(DRAIN, "states and store", self._drain)
            shutdown.add(CLOSE_UPLINK, "uplink", self._stop_uplink)
        shutdown.add(FINAL, "store", self.store.close)  # aiosqlite's thread would keep us alive

    async def _drain(self) -> None:
        self._save_states()
        if self.pipeline is not None:
            self.store.release_seq(self.pipeline.seq)  # a clean restart leaves no seq gap
        await self.store.flush()

    async def _stop_uplink(self) -> None:
        await self.uplink.stop()
        running = self._uplink_group.tasks
        if running:
            _, late = await asyncio.wait(running, timeout=UPLINK_STOP_S)
            if late:
                log.warning("uplink did not stop within %.0f s; cancelling it", UPLINK_STOP_S)
        await self._uplink_group.cancel()


def _mark_failed(health: SensorHealth, err: str) -> None:
    health.failed = err
