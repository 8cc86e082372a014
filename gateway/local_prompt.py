"""The local "are you OK?" prompt: while a suspected fall's cancel window is open, the
home asks the resident, before the alarm centre is alarmed.

Why: a cancel button only helps someone who knows a countdown is running. So on
`fall_suspected` the gateway runs the configured local actions (a spoken phrase in the
home's language, a buzzer on a GPIO pin, any command) and repeats them every `repeat_s`
until the window closes: the `fall` alarm or `alarm_cancelled` for that suspicion (a
cancel button press, the wearer getting up, the home's sensors) stops it. The centre sees
exactly what it saw before: `fall_suspected`, then `fall` or `alarm_cancelled`.

Never in the alarm path's way: the daemon tells the prompt about events only after they
are committed and queued; the prompt runs as one owned task (stopped with
`cancel_and_wait`); every action has a timeout, runs in its own process group (killed
with everything it started when it overruns or the window closes), and a failing action
is logged once, then counted. `gpiod` is imported only when a buzzer is configured and
used (`import_gpiod`, replaced by a fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Iterable

from drivers.base import require_module
from gateway.events import Event
from gateway.process_group import kill_group
from gateway.prompt_config import CommandAction, GpioAction, PromptConfig, SpeakAction
from gateway.task_cancel import cancel_and_wait

log = logging.getLogger("safehome.prompt")

#: What the prompt says, in the home's language (the `speak` action's default phrase).
PHRASES = {
    "fi": "Oletko kunnossa? Jos olet, paina peruutusnappia. Muuten apua hälytetään.",
    "sv": "Är du okej? Om du är det, tryck på knappen för att återkalla. Annars larmas hjälp.",
    "en": "Are you OK? If you are, press the cancel button. Otherwise help will be called.",
}
SLACK_S = 5.0   # the prompt ends by itself this long after the window's deadline at the latest


def import_gpiod() -> Any:
    """The gpiod module (tests replace this function with one returning a fake)."""
    return require_module("gpiod", "local prompt buzzer",
                          "install libgpiod's Python bindings: pip install 'gpiod>=2.1'")


def argv_for(action: SpeakAction | CommandAction, event: Event) -> list[str]:
    """The action's command with {text}, {language}, {event_id} and {room} filled in."""
    text = action.text or PHRASES[action.language]
    values = {"{text}": text, "{language}": action.language, "{event_id}": event.id,
              "{room}": event.room or ""}
    out = []
    for arg in action.command:
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out


class LocalPrompt:
    def __init__(self, config: PromptConfig, cancel_window: float,
                 spawn: Callable[[Awaitable[Any], str], asyncio.Task[Any]]) -> None:
        self.config = config
        self.cancel_window = cancel_window
        self.spawn = spawn
        self.task: asyncio.Task[Any] | None = None
        self.for_event: str | None = None
        self.rounds = 0                         # prompts played (all actions once = 1)
        self.failures: dict[int, int] = {}      # action index -> failed runs
        self._buzzers: dict[int, Any] = {}      # action index -> gpiod line request

    # -- what the daemon calls --------------------------------------------------------
    def notice(self, events: Iterable[Event]) -> None:
        """Events just committed and queued: start on `fall_suspected`, stop when its
        window closes. Returns at once."""
        for e in events:
            if e.type == "fall_suspected" and not e.test:
                self._stop()
                remaining = e.occurred_at + self.cancel_window - time.time()
                if remaining <= 0:
                    continue
                self.for_event = e.id
                self.task = self.spawn(self._run(e, min(remaining, self.cancel_window) + SLACK_S),
                                       "local-prompt")
            elif e.type in ("fall", "alarm_cancelled") and e.ref is not None \
                    and e.ref == self.for_event:
                self._stop()

    async def close(self) -> None:
        await cancel_and_wait([self.task] if self.task is not None else [])
        self._release_buzzers()

    # -- internals ----------------------------------------------------------------------
    def _stop(self) -> None:
        task, self.task, self.for_event = self.task, None, None
        if task is not None and not task.done():
            self.spawn(cancel_and_wait([task]), "local-prompt-stop")

    async def _run(self, event: Event, longest: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + longest
        try:
            while loop.time() < end:
                started = loop.time()
                await asyncio.gather(*(self._play(i, a, event)
                                       for i, a in enumerate(self.config.actions)))
                self.rounds += 1
                wait = min(self.config.repeat_s - (loop.time() - started), end - loop.time())
                if wait > 0:
                    await asyncio.sleep(wait)
        finally:
            self._release_buzzers()

    async def _play(self, i: int, action: Any, event: Event) -> None:
        try:
            if isinstance(action, GpioAction):
                await self._buzz(i, action)
            else:
                await self._command(argv_for(action, event))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken speaker must never touch the alarm
            n = self.failures.get(i, 0) + 1
            self.failures[i] = n
            if n == 1:
                log.warning("local prompt action %d (%s) failed: %s (logged once; the alarm "
                            "flow is not affected)", i + 1, action.type, exc)

    async def _command(self, argv: list[str]) -> None:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.config.timeout_s)
        except asyncio.TimeoutError:
            raise RuntimeError(f"{argv[0]} still running after {self.config.timeout_s:.0f} s: "
                               "killed") from None
        finally:
            await kill_group(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} exited {proc.returncode}: "
                               f"{err.decode(errors='replace').strip()[:200]}")

    async def _buzz(self, i: int, action: GpioAction) -> None:
        req = self._buzzers.get(i)
        gpiod = import_gpiod()
        if req is None:
            settings = gpiod.LineSettings(direction=gpiod.line.Direction.OUTPUT,
                                          active_low=action.active_low,
                                          output_value=gpiod.line.Value.INACTIVE)
            try:
                req = gpiod.request_lines(action.chip, consumer="safehome:prompt",
                                          config={action.line: settings})
            except FileNotFoundError as exc:
                raise RuntimeError(f"no GPIO chip {action.chip} ({exc})") from exc
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"cannot drive line {action.line!r} on {action.chip}: {exc}") from exc
            self._buzzers[i] = req
        offset = req.offsets[0] if getattr(req, "offsets", None) else action.line
        req.set_value(offset, gpiod.line.Value.ACTIVE)
        try:
            await asyncio.sleep(action.on_s)
        finally:
            req.set_value(offset, gpiod.line.Value.INACTIVE)

    def _release_buzzers(self) -> None:
        buzzers, self._buzzers = self._buzzers, {}
        for req in buzzers.values():
            try:
                req.release()
            except Exception as exc:  # noqa: BLE001 - the line may be gone already
                log.debug("local prompt: releasing the buzzer line failed: %s", exc)

