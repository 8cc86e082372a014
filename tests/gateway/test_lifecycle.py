"""The lifecycle contract (gateway/lifecycle.py), on a real event loop: owned tasks are
cancelled in reverse order, a failing task stops its group and is never lost, a shutdown
stage that overruns is cancelled and named, and nothing is left running afterwards."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from gateway.lifecycle import (
    CLOSE_OUTPUTS,
    DRAIN,
    FINAL,
    STOP_INTAKE,
    Component,
    Shutdown,
    Stage,
    StepOutcome,
    TaskFailed,
    TaskGroup,
)


def _others() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def _forever(log: list[str], name: str) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        log.append(name)


async def test_tasks_are_cancelled_in_reverse_order_of_start() -> None:
    ended: list[str] = []
    group = TaskGroup("test")
    for name in ("mqtt", "sender", "status"):
        group.spawn(_forever(ended, name), name)
    await asyncio.sleep(0)
    assert group.names == ["mqtt", "sender", "status"]
    await group.cancel()
    assert ended == ["status", "sender", "mqtt"]
    assert group.tasks == [] and _others() == set()


async def test_an_exception_in_one_task_stops_the_group_and_is_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    ended: list[str] = []
    group = TaskGroup("bridge")

    async def broken() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("link exploded")

    group.spawn(_forever(ended, "mqtt"), "mqtt")
    group.spawn(broken(), "sender")
    group.spawn(_forever(ended, "status"), "status")
    with caplog.at_level(logging.ERROR, logger="safehome.lifecycle"):
        with pytest.raises(ValueError, match="link exploded"):
            async with asyncio.timeout(5):
                await group.wait()
    assert ended == ["status", "mqtt"]  # the others were cancelled, last started first
    assert group.failed_task == "sender"
    assert any("bridge: task sender failed; stopping" in r.getMessage() for r in caplog.records)
    assert _others() == set()


async def test_an_optional_task_failure_is_logged_and_the_group_runs_on(
        caplog: pytest.LogCaptureFixture) -> None:
    ended: list[str] = []
    async with TaskGroup("daemon") as group:
        group.spawn(_forever(ended, "consume"), "consume")

        async def second_path() -> None:
            raise ConnectionError("receiver gone")

        with caplog.at_level(logging.ERROR, logger="safehome.lifecycle"):
            group.spawn(second_path(), "dc09-path", critical=False)
            await asyncio.sleep(0.01)
        assert group.names == ["consume"] and not group.stopping.is_set()
        assert any("task dc09-path failed (it is optional" in r.getMessage()
                   for r in caplog.records)
    assert ended == ["consume"] and _others() == set()


async def test_a_forever_task_that_returns_stops_the_group() -> None:
    group = TaskGroup("daemon")

    async def tick() -> None:
        await asyncio.sleep(0.01)

    group.spawn(tick(), "tick", forever=True)
    with pytest.raises(TaskFailed, match="tick of daemon ended"):
        await group.wait()
    # a task that may end (the uplink after refused credentials) ends quietly
    quiet = TaskGroup("daemon")
    quiet.spawn(tick(), "uplink")
    await quiet.wait()
    assert quiet.failure is None


async def test_leaving_the_group_raises_a_failure_the_body_did_not_see() -> None:
    with pytest.raises(RuntimeError, match="late"):
        async with TaskGroup("fleet") as group:
            async def late() -> None:
                raise RuntimeError("late")
            group.spawn(late(), "tick")
            await asyncio.sleep(0.01)
    assert _others() == set()


async def test_a_task_that_swallows_its_cancel_is_still_ended() -> None:
    """Python 3.11's wait_for can swallow a cancel; cancel_and_wait underneath cancels again."""
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.set()  # as wait_for does when the result arrives in the same turn
        await asyncio.Event().wait()

    group = TaskGroup("uplink")
    group.spawn(stubborn(), "heartbeat")
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await group.cancel()
    assert swallowed.is_set() and _others() == set()


async def test_a_stage_that_overruns_is_cancelled_and_named(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []
    cancelled = asyncio.Event()

    async def hangs() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def record(what: str) -> None:
        done.append(what)

    shutdown = Shutdown("centre", [Stage("stop intake", 1.0), Stage("drain", 0.2), Stage("final", 1.0)])
    shutdown.add(Stage("stop intake", 1.0), "listener", lambda: record("listener"))
    shutdown.add(Stage("drain", 0.2), "flush log", hangs)
    shutdown.add(Stage("final", 1.0), "close db", lambda: record("close db"))
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="safehome.lifecycle"):
        outcomes = await shutdown.run()
    assert time.monotonic() - start < 2.0
    assert cancelled.is_set()
    assert done == ["listener", "close db"]  # later stages run after an overrun
    assert outcomes == [StepOutcome("stop intake", "listener", "ok"),
                        StepOutcome("drain", "flush log", "timeout"),
                        StepOutcome("final", "close db", "ok")]
    assert any("centre: shutdown stage 'drain' overran its 0.2 s; step 'flush log' cancelled"
               in r.getMessage() for r in caplog.records)
    assert _others() == set()


async def test_a_step_that_raises_is_named_and_the_shutdown_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise OSError("link reset")

    closed = asyncio.Event()

    async def close() -> None:
        closed.set()

    shutdown = Shutdown("bridge")
    shutdown.add(CLOSE_OUTPUTS, "close link", boom)
    shutdown.add(FINAL, "close queue", close)
    with caplog.at_level(logging.ERROR, logger="safehome.lifecycle"):
        outcomes = await shutdown.run()
    assert [o.outcome for o in outcomes] == ["error", "ok"] and closed.is_set()
    assert any("stage 'close outputs', step 'close link' failed" in r.getMessage()
               for r in caplog.records)


async def test_steps_of_one_stage_run_together_under_its_timeout() -> None:
    shutdown = Shutdown("fleet", [Stage("close outputs", 1.0)])
    for i in range(5):
        shutdown.add(Stage("close outputs", 1.0), f"gateway-{i}", lambda: asyncio.sleep(0.3))
    start = time.monotonic()
    outcomes = await shutdown.run()
    assert time.monotonic() - start < 0.9  # together: 0.3 s, not 1.5 s (and no timeout)
    assert {o.outcome for o in outcomes} == {"ok"}


async def test_a_step_in_a_stage_the_shutdown_has_not_is_refused() -> None:
    shutdown = Shutdown("x", [DRAIN])
    with pytest.raises(ValueError, match="no shutdown stage 'final'"):
        shutdown.add(FINAL, "close", lambda: asyncio.sleep(0))


class _Service(Component):
    def __init__(self, fail_start: bool = False) -> None:
        super().__init__("service")
        self.order: list[str] = []
        self.fail_start = fail_start

    async def start(self) -> None:
        self.tasks.spawn(_forever(self.order, "task-a"), "a")
        self.tasks.spawn(_forever(self.order, "task-b"), "b")
        await asyncio.sleep(0)
        if self.fail_start:
            raise ConnectionRefusedError("broker down")

    def stopping(self, shutdown: Shutdown) -> None:
        async def step(name: str) -> None:
            self.order.append(name)
        shutdown.add(STOP_INTAKE, "offline", lambda: step("offline"))
        shutdown.add(CLOSE_OUTPUTS, "link", lambda: step("link"))
        shutdown.add(FINAL, "queue", lambda: step("queue"))


async def test_a_component_stops_in_stages_and_leaks_nothing() -> None:
    service = _Service()
    async with service:
        assert service.tasks.names == ["a", "b"]
    assert service.order == ["offline", "task-b", "task-a", "link", "queue"]
    assert await service.stop() == []  # idempotent
    assert _others() == set()


async def test_a_component_whose_start_fails_stops_what_did_start() -> None:
    service = _Service(fail_start=True)
    with pytest.raises(ConnectionRefusedError):
        async with service:
            pytest.fail("the body must not run")
    assert service.order == ["offline", "task-b", "task-a", "link", "queue"]
    assert _others() == set()


async def test_an_expected_failure_is_one_line_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    class Refused(Exception):
        pass

    async def connect() -> None:
        raise Refused("bad credentials")

    group = TaskGroup("centre")
    with caplog.at_level(logging.ERROR, logger="safehome.lifecycle"):
        group.spawn(connect(), "receive", expected=(Refused,))
        with pytest.raises(Refused):
            await group.wait()
    (record,) = [r for r in caplog.records if r.name == "safehome.lifecycle"]
    assert record.getMessage() == "centre: task receive failed: bad credentials; stopping"
    assert record.exc_info is None


class _Crashing(Component):
    def __init__(self) -> None:
        super().__init__("crashing")
        self.stopped: list[str] = []

    async def start(self) -> None:
        async def crash() -> None:
            await asyncio.sleep(0.01)
            raise KeyError("lost")
        self.tasks.spawn(_forever(self.stopped, "loop"), "loop")
        self.tasks.spawn(crash(), "crash")

    def stopping(self, shutdown: Shutdown) -> None:
        async def close() -> None:
            self.stopped.append("closed")
        shutdown.add(FINAL, "close", close)


async def test_run_stops_in_stages_when_a_task_fails_and_raises_its_failure() -> None:
    service = _Crashing()
    with pytest.raises(KeyError, match="lost"):
        async with asyncio.timeout(5):
            await service.run()
    assert service.stopped == ["loop", "closed"] and _others() == set()


async def test_leaving_a_component_raises_a_task_failure_the_body_did_not_see() -> None:
    service = _Crashing()
    with pytest.raises(KeyError, match="lost"):
        async with service:
            await asyncio.sleep(0.05)
    assert service.stopped == ["loop", "closed"] and _others() == set()


async def test_a_failure_the_owner_took_is_not_raised_again_on_leaving() -> None:
    """The daemon turns a core task's failure into its exit code: taken, it is handled."""
    service = _Crashing()
    async with service:
        await service.tasks.until_stopped()
        assert isinstance(service.tasks.take_failure(), KeyError)
    assert service.stopped == ["loop", "closed"] and _others() == set()
    service.tasks.raise_failure()  # taken: nothing raised
