"""Wall time for the daemon's tick that never goes back.

Why: the tick moves sensor time on when no readings come, and sensor time closes cancel
windows and fires inactivity deadlines. When the wall clock steps back (NTP after a boot
without a network, an installer setting the date), plain `time.time()` would hold every
open window until the clock caught up again: a fall alarm held for an hour. This clock
follows the wall clock, but after a backward step it keeps moving at the monotonic clock's
pace from where it was. A forward step is followed at once: an alarm may go out early,
never late.
"""

from __future__ import annotations

import time
from typing import Callable


class SteadyClock:
    def __init__(self, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self._wall, self._mono = wall, mono
        self._last: float | None = None
        self._last_mono = 0.0

    def __call__(self) -> float:
        w, m = self._wall(), self._mono()
        now = w if self._last is None else max(w, self._last + (m - self._last_mono))
        self._last, self._last_mono = now, m
        return now
