"""The gateway daemon: one asyncio loop wiring drivers, pipeline, store and uplink.

    drivers --readings--> pipeline --events--> store (commit) --> outbox --> uplink
       ^ supervised          ^ tick each second                      ^ ack from centre

An event reaches the outbox only after the store has committed it (or has failed, in
which case memory is all there is and a `storage_failure` event says so). A reading's
path never blocks on the network: the uplink drains the outbox on its own. The
installer's console (gateway/console/, with `[console] listen`) only reads this state,
through `reading_taps` and `ack_listeners`; it is started and stopped here, contained.

Every long-lived task is owned: a core loop (readings, tick, uplink, a driver's
supervisor) that ends or raises stops the gateway with exit code 1, so systemd restarts
it, instead of leaving a process that reports online while nothing is watched.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
import time
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Mapping

from drivers import registry as driver_registry
from drivers.base import SensorInfo
from gateway import escalation, periodic_test, systemd
from gateway.command_wiring import DaemonCommands
from gateway.config import HomeConfig
from gateway.events import Event
from gateway.health import HealthMonitor, SensorHealth
from gateway.outbox import Entry, Outbox
from gateway.process_group import kill_group
from gateway.pipeline import ALARM_FLOW_STATE, Pipeline
from gateway.sensors import expand as expand_sensors
from gateway.steady_clock import SteadyClock
from gateway.store import SeqReservation, Store
from gateway.supervisor import supervise
from gateway.task_cancel import cancel_and_wait
from gateway.uplink import Uplink

if TYPE_CHECKING:
    from gateway.dc09_path import Dc09Path

log = logging.getLogger("safehome.daemon")

STATE_SAVE_EVERY = 600.0
PRUNE_EVERY = 3600.0
SEQ_BLOCK = 1000  # seqs reserved ahead in the store; topped up when half is used
SEQ_CLOCK_EPOCH = 1767225600.0  # 2026-01-01T00:00Z: seq floor = milliseconds since then


def seq_floor_from_clock(now: float) -> int:
    """A seq above every number given out before `now`, for a start whose store cannot keep
    a reservation: at most one event per millisecond is ever raised, so the milliseconds
    since 2026 outrun any earlier run's numbering (unless the wall clock went back)."""
    return int((now - SEQ_CLOCK_EPOCH) * 1000)
HOOK_TIMEOUT = 60.0
EXIT_CORE_FAILURE = 1  # a core loop died: systemd's Restart=always starts us again


class Daemon:
    def __init__(self, config: HomeConfig) -> None:
        self.cfg = config
        self.store = Store(config.storage.path, batch_ms=config.storage.batch_ms,
                           on_failure=self._storage_failed, on_recovery=self._storage_recovered)
        self.outbox = Outbox(ack_timeout=config.alarm.ack_timeout,
                             expire_after=config.alarm.expire_after,
                             escalate_after=config.alarm.max_attempts * config.alarm.ack_timeout)
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
        self.topic_base = f"{config.mqtt.topic_root}/{config.gateway_id}"
        self.console: Any = None  # gateway.console.server.ConsoleServer, when [console] listen is set
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
            from gateway.version import installed_version
            from gateway.homeassistant import HomeAssistantBridge
            self.homeassistant = HomeAssistantBridge(config, self._health_body_sensors,
                                                     installed_version())
        self._tasks: list[asyncio.Task[Any]] = []
        self.prompt: Any = None  # gateway.local_prompt.LocalPrompt, when [alarm.prompt] is on
        if config.alarm.prompt.enabled:
            from gateway.local_prompt import LocalPrompt
            self.prompt = LocalPrompt(config.alarm.prompt, config.alarm.cancel_window, self._spawn)
        self.exit_code = 0
        self._seqs = SeqReservation(self.store, SEQ_BLOCK)
        self._storage_reported = False  # a storage_failure event was raised for this failure

    # -- events ---------------------------------------------------------------------------
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
            self._save_flow()
        for e, result in zip(events, await asyncio.gather(*commits, return_exceptions=True), strict=True):
            if isinstance(result, BaseException):  # not storable: memory is all there is
                log.error("event %s %s not stored (%s); sending it from memory", e.type, e.id, result)
        for e in events:
            self.outbox.add(e)
            if self.dc09 is not None:
                self.dc09.add(e)
            log.log(logging.WARNING if e.is_alarm else logging.INFO, "%s %s seq=%d %s",
                    "ALARM" if e.is_alarm else "event", e.type, e.seq, e.text.get("en", ""))
            if e.is_alarm and self.homeassistant is not None:
                self.homeassistant.alarm(e)   # committed and queued first: never in the way
        if self.prompt is not None:  # "are you OK?" while the window is open; never in the way
            try:
                self.prompt.notice(events)
            except Exception:  # noqa: BLE001
                log.exception("local prompt failed; the alarm flow is not affected")

    def _acked_by_dc09(self, event_id: str, by: str, at: float) -> None:
        """The second path's receiver ACKed an alarm: delivered, as if the centre acked it."""
        if self.outbox.acknowledged(event_id) is not None:
            self.store.mark_acked(event_id, by, at)
            log.info("alarm %s acknowledged by %s (DC-09 path)", event_id, by)

    def technical(self, type_name: str, **kw: Any) -> Event:
        assert self.pipeline is not None
        return self.pipeline.technical(type_name, time.time(), **kw)

    def _storage_failed(self, reason: str) -> None:
        if self.pipeline is None:
            return  # failed at open: reported once, by the start-up events
        self._cancel_window_needs_store(failed=True)
        if self._storage_reported:
            return
        self._storage_reported = True
        ev = self.technical("storage_failure", evidence={})
        self.store.remember(ev)  # written when the store recovers
        self.outbox.add(ev)  # the store cannot hold it now; memory can

    def _storage_recovered(self) -> None:
        self._storage_reported = False
        self._cancel_window_needs_store(failed=False)

    def _cancel_window_needs_store(self, failed: bool) -> None:
        """A cancel window is durable only through the store. While the store is failed a
        window would live in memory alone, and a crash would end it in nothing: so a
        suspected fall becomes the `fall` alarm at once (a cancel may follow it, never
        retract it). The configured window comes back with the store."""
        assert self.pipeline is not None
        window = 0.0 if failed else self.cfg.alarm.cancel_window
        if self.pipeline.flow.cancel_window != window:
            self.pipeline.flow.cancel_window = window
            if failed:
                log.warning("storage failed: suspected falls alarm at once (no cancel window) "
                            "until the store works again")
            else:
                log.info("storage works again: suspected falls get their %.0f s cancel window",
                         window)

    def _save_flow(self) -> None:
        assert self.pipeline is not None
        self.pipeline.flow.changed = False
        self.store.save_detector_state(ALARM_FLOW_STATE, self.pipeline.flow.state())

    def _acked(self, event_id: str, by: str | None, at: float) -> None:
        for listener in self.ack_listeners:
            try:
                listener(event_id, by, at)
            except Exception:
                log.exception("ack listener failed")

    def _unacknowledged(self, entry: Entry) -> None:
        ev = self.technical("alarm_unacknowledged", ref=entry.event.id, room=entry.event.room,
                            evidence={"attempts": entry.attempts})
        self._spawn(self.emit([ev]), "emit-unacknowledged")
        hook = self.cfg.alarm.unacknowledged_hook
        if hook:
            self._spawn(self._run_hook(hook, entry.event), "unacknowledged-hook")

    async def _run_hook(self, argv: list[str], event: Event) -> None:
        """Run the hook in its own process group; one that outlives its timeout is killed,
        with everything it started, and reaped."""
        import os
        env = {**os.environ, "SAFEHOME_ALARM_ID": event.id, "SAFEHOME_ALARM_TYPE": event.type}
        try:
            proc = await asyncio.create_subprocess_exec(*argv, env=env, start_new_session=True)
        except OSError as exc:
            log.error("unacknowledged-alarm hook %s failed: %s", argv[0], exc)
            return
        try:
            rc = await asyncio.wait_for(proc.wait(), timeout=HOOK_TIMEOUT)
            log.info("unacknowledged-alarm hook %s exited %s", argv[0], rc)
        except asyncio.TimeoutError:
            log.error("unacknowledged-alarm hook %s still running after %.0f s: killed",
                      argv[0], HOOK_TIMEOUT)
        finally:
            await kill_group(proc)  # with everything it started; reaped: no zombie

    def _spawn(self, coro: Any, name: str, *, core: bool = False) -> asyncio.Task[Any]:
        """Start an owned task. A failure is always logged; a `core` task that ends at all
        (raises, or returns) stops the gateway with a non-zero exit code."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._task_done(t, core))
        return task

    def own(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run `coro` as a task the daemon owns: a failure is logged, and it is cancelled
        (and awaited) at shutdown. For helpers outside the daemon, e.g. the trace recorder."""
        return self._spawn(coro, name)

    def _task_done(self, task: asyncio.Task[Any], core: bool) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if task.cancelled():
            return
        exc = task.exception()
        if core and not self.stop_requested.is_set():
            log.critical("core task %s %s; stopping with exit code %d so that the service restarts",
                         task.get_name(), f"failed: {exc!r}" if exc else "ended", EXIT_CORE_FAILURE,
                         exc_info=exc)
            self.exit_code = EXIT_CORE_FAILURE
            self.stop_requested.set()
        elif exc is not None:
            log.error("task %s failed: %r", task.get_name(), exc, exc_info=exc)

    async def _on_command(self, name: str, payload: bytes, retained: bool, props: Any) -> None:
        if self.commands is None:
            log.warning("command %s ignored: no command handler configured", name)
            return
        await self.commands.handle(name, payload, retained, props)

    # -- the CommandHost interface (gateway/command_wiring.py) ---------------------------
    def status_snapshot(self) -> Mapping[str, Any]:
        return self.uplink.heartbeat_body()

    def sensor_ids(self) -> Collection[str]:
        return [s.id for s in self.cfg.sensors]

    def technical_event(self, type_name: str, occurred_at: float, *, sensor: str | None,
                        evidence: Mapping[str, float], ref: str | None, test: bool) -> Event:
        assert self.pipeline is not None
        return self.pipeline.technical(type_name, occurred_at, sensor=sensor, evidence=evidence,
                                       ref=ref, test=test)

    def room_names(self) -> Mapping[str, Mapping[str, str]]:
        return self.cfg.room_names()

    async def publish_json(self, leaf: str, body: dict[str, Any], *, retain: bool = False,
                           correlation: bytes | None = None) -> bool:
        return await self.uplink.publish_json(leaf, body, retain=retain, correlation=correlation)

    def silence(self, sensor: str, until: float | None) -> None:
        h = self.health.sensors.get(sensor)
        if h is not None:
            h.silenced_until = until

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
            await asyncio.sleep(1.0)
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
            self._save_flow()

    def _start_drivers(self) -> None:
        for s in self.cfg.sensors:
            cls = driver_registry.load(s.type)
            settings = self.cfg.driver_settings(s)
            info = SensorInfo(s.id, s.room, s.type, s.placement)

            health = self.health.sensors[s.id]
            self._spawn(supervise(functools.partial(cls, info, settings), self._deliver,
                                  on_failure=functools.partial(_mark_failed, health)),
                        f"driver-{s.id}", core=True)

    async def _start_console(self) -> None:
        """The installer's console ([console] listen): contained, never needed for alarms."""
        if not self.cfg.console.enabled:
            return
        try:
            from gateway.console.server import start_console
            self.console = await start_console(self)
        except Exception:  # noqa: BLE001 - e.g. aiohttp missing: the alarm path runs on
            log.exception("console failed to start; the gateway runs on without it")

    # -- lifecycle -------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_requested.set)
        await self.store.open()
        seq_start = await self.store.last_seq()
        self._seqs.used(seq_start + 1)  # reserve the first block before any number is given out
        await self.store.flush()
        if self.store.failed:
            # The reservation is not durable: a crash before the store mends would let the
            # next start give these numbers out again. Number from the wall clock instead
            # (milliseconds since 2026), above anything this gateway gave out before.
            floor = seq_floor_from_clock(time.time())
            if floor > seq_start:
                log.warning("the store cannot keep the seq reservation (%s); numbering from %d "
                            "(the wall clock) so that no seq is ever given out twice",
                            self.store.failed, floor)
                seq_start = floor
                self._seqs.used(seq_start + 1)
        self.pipeline = Pipeline(self.cfg, seq_start=seq_start)
        self.pipeline.on_seq = self._seqs.used
        if self.store.failed:
            self._cancel_window_needs_store(failed=True)
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
        self.commands = DaemonCommands(self)
        startup = [self.technical("gateway_started", evidence={"backlog": len(backlog)})]
        if self.store.failed and not self._storage_reported:
            self._storage_reported = True
            startup.append(self.technical("storage_failure", evidence={}))
        await self.emit(startup)
        uplink_task = asyncio.create_task(self.uplink.run(), name="uplink")
        # The uplink may end by itself (refused credentials stop the retries; the home keeps
        # watching and escalating locally); only an uplink that raises is a core failure.
        uplink_task.add_done_callback(
            lambda t: self._task_done(t, core=not t.cancelled() and t.exception() is not None))
        self._spawn(self._consume(), "consume", core=True)
        self._spawn(self._tick(), "tick", core=True)
        if self.dc09 is not None:
            self._spawn(self.dc09.run(), "dc09-path")  # a second path: its failure is logged
        self._spawn(escalation.watch(self.outbox, self._unacknowledged), "escalation", core=True)
        self._start_drivers()
        await self._start_console()
        if self.homeassistant is not None:
            self._spawn(self.homeassistant.run(), "homeassistant")
        systemd.notify("READY=1\nSTATUS=running")
        log.info("gateway %s running with %d sensors", self.cfg.gateway_id, len(self.cfg.sensors))
        # What start-up built (modules, config, detectors) lives as long as the daemon: out
        # of the garbage collector's way, each full collection walks only what came since
        # (the idle demo home's CPU, issue 25). Undone at the end, for processes that go on.
        gc.collect()
        gc.freeze()
        try:
            await self.stop_requested.wait()
        finally:
            gc.unfreeze()
            await self._shutdown(uplink_task)
        return self.exit_code

    async def _shutdown(self, uplink_task: asyncio.Task[Any]) -> None:
        """The console, then drivers (no new readings), then flush the store, then say offline."""
        log.info("stopping")
        systemd.notify("STOPPING=1")
        if self.console is not None:
            try:
                await self.console.stop()
            except Exception:  # noqa: BLE001
                log.exception("console did not stop cleanly")
        await cancel_and_wait(list(self._tasks))
        if self.prompt is not None:
            await self.prompt.close()
        try:
            self._save_states()
            if self.pipeline is not None:
                self.store.release_seq(self.pipeline.seq)  # a clean restart leaves no seq gap
            await self.store.flush()
            await self.uplink.stop()
            try:
                await asyncio.wait_for(uplink_task, timeout=10)
            except asyncio.TimeoutError:
                log.warning("uplink did not stop within 10 s; cancelling it")
                await cancel_and_wait([uplink_task])
            except Exception:  # noqa: BLE001
                log.exception("uplink ended with an error")
        finally:
            await self.store.close()  # aiosqlite's thread would otherwise keep the process alive
        log.info("stopped cleanly")


def _mark_failed(health: SensorHealth, err: str) -> None:
    health.failed = err
