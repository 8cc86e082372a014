"""One way to own a long-lived component: an owned task group, async context managers,
and a shutdown in named stages with named timeouts.

Why: the daemon, the centre's receiver, the DC-09 bridge and the fleet tool each grew their
own way to start and stop (a task list here, a `run()` with signal handling there, an async
context manager elsewhere), and each had its own answer to "what if a task dies" and "what
if a stop hangs". A newcomer had to read all of them. This module is the one answer.

The contract
------------
- **Every long-lived task is owned and named.** A component starts its tasks with
  `TaskGroup.spawn(coro, name)`, never with a bare `asyncio.create_task`. The group keeps a
  strong reference (a bare task can be garbage-collected mid-flight) and its name shows in
  every log line about it.
- **A failed task is never silently lost.** A task that raises is logged with its name and
  traceback. By default (`critical=True`) it also stops the group: `wait()` cancels the
  other tasks and raises that exception to the owner. A task spawned with `critical=False`
  is logged and left at that (a second, optional path). A critical task spawned with
  `forever=True` stops the group also when it returns: a loop that must never end.
- **Cancel in reverse order.** Tasks are cancelled one by one, the last started first:
  what started later usually depends on what started earlier (a status loop on the MQTT
  session it publishes through). Each cancel goes through `cancel_and_wait`, which cancels
  again a task that swallowed its cancel (Python 3.11's `wait_for`, see task_cancel.py).
- **Components are async context managers.** `async with component:` starts it and stops
  it, also when the body raises; a failed start stops what did start; a critical task's
  failure the body did not see is raised when it ends. `Component` gives a subclass
  that only writes `start()` (spawning into `self.tasks`), `ready()` (what `async with`
  waits for, e.g. a connection) and `stopping(shutdown)` (adding its stop steps) all of
  the rest, and `run()` for a service that runs until stopped or failed.
- **Shutdown in stages with named timeouts** (as Home Assistant stops: stop, final write,
  close). `Shutdown` runs its stages in order; the steps of one stage run together, under
  that stage's timeout. A step that overruns is cancelled and the log names the stage, the
  step and the timeout; a step that raises is logged and named. Neither stops the
  shutdown: later stages always run, because the last ones close files and connections
  that would otherwise keep the process alive. The standard stages are
  STOP_INTAKE (no new work in) -> DRAIN (finish and flush what is in) -> CLOSE_OUTPUTS
  (say offline, close links) -> FINAL (close stores, release resources).
- Timeouts use `asyncio.timeout`, never `asyncio.wait_for` (3.11's can swallow a cancel).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from gateway.task_cancel import cancel_and_wait

log = logging.getLogger("safehome.lifecycle")


# ---- the owned task group ---------------------------------------------------------------

class TaskFailed(Exception):
    """A critical task returned although it must run forever (`forever=True`)."""


class TaskGroup:
    """Owns named tasks: keeps them, logs their failures, stops on a critical one, and
    cancels them in reverse order of start. Also an async context manager: leaving it
    cancels what still runs (and, when the body itself did not raise, raises a critical
    task's failure so it is not lost)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: list[asyncio.Task[Any]] = []  # in order of start, running ones only
        self._ended: dict[asyncio.Task[Any], bool] = {}  # task -> critical
        self.failure: BaseException | None = None  # the first critical failure
        self.failed_task: str | None = None  # and its task's name
        self._failure_taken = False  # take_failure(): the owner deals with it
        self.stopping = asyncio.Event()  # set by a critical failure

    @property
    def tasks(self) -> list[asyncio.Task[Any]]:
        """The running tasks, in order of start."""
        return list(self._tasks)

    @property
    def names(self) -> list[str]:
        return [t.get_name() for t in self._tasks]

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, *, critical: bool = True,
              forever: bool = False, expected: tuple[type[BaseException], ...] = ()) -> asyncio.Task[Any]:
        """Start `coro` as a task named `name`, owned by this group. A failure is always
        logged; a `critical` one stops the group; with `forever`, so does returning. An
        `expected` exception (one the task has explained in the log itself, such as refused
        credentials) is logged in one line, without its traceback."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._done(t, critical, forever, expected))
        return task

    def _done(self, task: asyncio.Task[Any], critical: bool, forever: bool,
              expected: tuple[type[BaseException], ...]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None and not (critical and forever):
            return
        if exc is None:
            exc = TaskFailed(f"task {task.get_name()} of {self.owner} ended; it must run until stopped")
            log.error("%s: task %s ended; it must run until stopped", self.owner, task.get_name())
        else:
            log.error("%s: task %s failed%s%s", self.owner, task.get_name(),
                      f": {exc}" if isinstance(exc, expected) else "",
                      "; stopping" if critical else " (it is optional; the rest runs on)",
                      exc_info=None if isinstance(exc, expected) else exc)
        if critical and self.failure is None:
            self.failure, self.failed_task = exc, task.get_name()
            self.stopping.set()

    async def until_stopped(self) -> None:
        """Wait until every task has ended or a critical one failed (cancelling nothing)."""
        while self._tasks and not self.stopping.is_set():
            stop = asyncio.ensure_future(self.stopping.wait())
            try:
                await asyncio.wait([stop, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_and_wait([stop])

    async def wait(self) -> None:
        """`until_stopped()`, then cancel what still runs and raise the failure, if any.
        Cancelling `wait()` cancels the tasks too."""
        try:
            await self.until_stopped()
        finally:
            await self.cancel()
        self.raise_failure()

    def raise_failure(self) -> None:
        if self.failure is not None and not self._failure_taken:
            raise self.failure

    def take_failure(self) -> BaseException | None:
        """The failure, handed to an owner that deals with it itself (the daemon turns it
        into its exit code): `raise_failure` and a component's exit no longer raise it."""
        self._failure_taken = True
        return self.failure

    async def cancel(self) -> None:
        """Cancel every running task, the last started first, each one ended before the
        next is cancelled."""
        while self._tasks:
            task = self._tasks[-1]
            await cancel_and_wait([task])
            if task in self._tasks:  # its done callback has normally removed it already
                self._tasks.remove(task)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.cancel()
        if exc is None:
            self.raise_failure()


# ---- staged shutdown --------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    name: str
    timeout: float  # seconds for all of this stage's steps together


STOP_INTAKE = Stage("stop intake", 10.0)     # no new work in: listeners, drivers, consoles
DRAIN = Stage("drain", 10.0)                 # finish and flush what is in (store, queues)
CLOSE_OUTPUTS = Stage("close outputs", 10.0)  # say offline, close links and sessions
FINAL = Stage("final", 5.0)                  # close files and databases, release the rest
STAGES: tuple[Stage, ...] = (STOP_INTAKE, DRAIN, CLOSE_OUTPUTS, FINAL)


@dataclass(frozen=True)
class StepOutcome:
    stage: str
    step: str
    outcome: str  # "ok", "timeout" or "error"


class Shutdown:
    """Steps added to named stages, run stage after stage. See the module docstring."""

    def __init__(self, owner: str, stages: Sequence[Stage] = STAGES) -> None:
        self.owner = owner
        self.stages = list(stages)
        self._steps: dict[str, list[tuple[str, Callable[[], Awaitable[Any]]]]] = {
            s.name: [] for s in self.stages}
        self.outcomes: list[StepOutcome] = []

    def add(self, stage: Stage, name: str, step: Callable[[], Awaitable[Any]]) -> None:
        """Run `step()` in `stage` (a stage this shutdown has), logged as `name`."""
        if stage.name not in self._steps:
            raise ValueError(f"{self.owner}: no shutdown stage {stage.name!r}; "
                             f"stages are {[s.name for s in self.stages]}")
        self._steps[stage.name].append((name, step))

    async def run(self) -> list[StepOutcome]:
        """Run every stage; return (and keep in `outcomes`) what each step did."""
        for stage in self.stages:
            await self._run_stage(stage)
        return self.outcomes

    async def _run_stage(self, stage: Stage) -> None:
        steps = self._steps[stage.name]
        if not steps:
            return
        tasks = {asyncio.create_task(_call(step), name=f"{self.owner}: {stage.name}: {name}"): name
                 for name, step in steps}
        try:
            try:
                async with asyncio.timeout(stage.timeout):
                    await asyncio.wait(tasks)
            except TimeoutError:
                pass
        finally:  # also when the shutdown itself is cancelled: no step outlives it
            late = [t for t in tasks if not t.done()]
            await cancel_and_wait(late)
        for task, name in tasks.items():
            if task in late:
                outcome = "timeout"
                log.warning("%s: shutdown stage %r overran its %.1f s; step %r cancelled",
                            self.owner, stage.name, stage.timeout, name)
            elif task.exception() is not None:
                outcome = "error"
                log.error("%s: shutdown stage %r, step %r failed", self.owner, stage.name,
                          name, exc_info=task.exception())
            else:
                outcome = "ok"
            self.outcomes.append(StepOutcome(stage.name, name, outcome))


async def _call(step: Callable[[], Awaitable[Any]]) -> Any:
    return await step()


# ---- components -------------------------------------------------------------------------

class Component:
    """Base for a long-lived component: `async with c:` starts it and stops it.

    A subclass writes `start()` (spawning its tasks into `self.tasks`) and, when it has
    more to stop than its tasks, `stopping(shutdown)` adding steps to the stages. `stop()`
    runs the stages; the owned tasks are cancelled (reverse order) as one step of the
    `tasks_end_in` stage (DRAIN unless the subclass says otherwise), alongside that stage's
    other steps. `stop()` is idempotent."""

    stages: Sequence[Stage] = STAGES
    tasks_end_in: Stage = DRAIN  # the stage in which the owned tasks are cancelled

    def __init__(self, name: str) -> None:
        self.name = name
        self.tasks = TaskGroup(name)
        self._running = False

    async def start(self) -> None:
        """Start the component's tasks (into `self.tasks`)."""

    async def ready(self) -> None:
        """What `async with` waits for after `start()` (e.g. connected); `run()` does not."""

    def stopping(self, shutdown: Shutdown) -> None:
        """Add this component's stop steps to `shutdown`'s stages."""

    async def stop(self) -> list[StepOutcome]:
        if not self._running:
            return []
        self._running = False
        shutdown = Shutdown(self.name, self.stages)
        self.stopping(shutdown)
        shutdown.add(self.tasks_end_in, "tasks", self.tasks.cancel)
        return await shutdown.run()

    async def run(self) -> int | None:
        """Start, run until a critical task fails or every task has ended (or until
        cancelled), stop in stages, then raise the task's failure, if any. A component
        that ends with an exit code (the daemon) returns it; this one returns None."""
        self._running = True
        try:
            await self.start()
            await self.tasks.until_stopped()
        finally:
            await self.stop()
        self.tasks.raise_failure()
        return None

    async def __aenter__(self) -> Self:
        self._running = True
        try:
            await self.start()
            await self.ready()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """Stop; a task's failure the body did not see is raised (never silently lost)."""
        await self.stop()
        if exc is None:
            self.tasks.raise_failure()
