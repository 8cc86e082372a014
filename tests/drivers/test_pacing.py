"""Wake-ups on a shared grid (drivers/pacing.py): callers that mean "the next tick" get the
same loop time, and timers at the same loop time run after one wake-up of the loop."""

from __future__ import annotations

import asyncio
import selectors

from drivers.pacing import next_tick, sleep_until


def test_next_tick_is_the_same_float_for_every_moment_within_a_period():
    ticks = {next_tick(0.5, after=1000.0 + k * 0.049) for k in range(10)}
    assert ticks == {1000.5}
    assert next_tick(0.5, after=1000.5) == 1001.0      # strictly later
    assert next_tick(1.0, after=7.999999) == 8.0


def test_tasks_that_start_apart_wake_together_after_one_sleep_of_the_loop():
    class Counting(selectors.DefaultSelector):
        counting = False
        sleeps = 0

        def select(self, timeout: float | None = None) -> list:
            if Counting.counting and (timeout is None or timeout > 0):
                Counting.sleeps += 1
            return super().select(timeout)

    targets: list[float] = []
    woke: list[float] = []

    async def sleeper(loop: asyncio.AbstractEventLoop, delay: float, last: bool) -> None:
        await asyncio.sleep(delay)                # each starts at its own moment ...
        when = next_tick(0.25)                    # ... and means the same next tick
        targets.append(when)
        Counting.counting = Counting.counting or last
        await sleep_until(when)
        woke.append(loop.time())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await sleep_until(next_tick(0.25))        # start just after a tick: all in one period
        await asyncio.gather(*(sleeper(loop, d, d == 0.06) for d in (0.0, 0.02, 0.04, 0.06)))

    loop = asyncio.SelectorEventLoop(Counting())
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert len(set(targets)) == 1 and min(woke) >= targets[0]
    # one sleep of the loop for the four (each sleeping 0.25 s from its own start: four)
    assert Counting.sleeps == 1, Counting.sleeps
