"""What every byte-stream parser of a serial device shares: a buffer that is fed chunks
of any size, a count of what was thrown away, and warnings that are logged once.

Garbage from a sensor must never crash the daemon or fill the SD card with log lines:
a parser counts each kind of trouble in `stats` and logs only its first occurrence.
"""

from __future__ import annotations

import logging


class ResyncBuffer:
    """Base for incremental frame parsers; subclasses implement `feed(chunk) -> frames`."""

    device = "device"
    STATS: tuple[str, ...] = ("frames", "bad_frames", "bytes_discarded")

    def __init__(self, log: logging.Logger | None = None) -> None:
        self._buf = bytearray()
        self.stats: dict[str, int] = dict.fromkeys(self.STATS, 0)
        self.stats.setdefault("bytes_discarded", 0)
        self._warned: set[str] = set()
        self._log = log or logging.getLogger(f"safehome.drivers.{self.device.lower()}")

    def _warn_once(self, what: str, detail: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            self._log.warning("%s stream: %s (%s); counting further ones silently",
                              self.device, what, detail)

    def _discard(self, n: int) -> None:
        del self._buf[:n]
        self.stats["bytes_discarded"] += n
