"""Per-client limits and rate-limited log lines for the console.

Why per client: one budget shared by everyone let a single script (200 wrong `?token=`
tries) lock the installer out of a console that had done nothing wrong. Each client
address now has its own token bucket, so a flood from one address cannot slow down
another; the table of addresses is bounded (least recently seen dropped first), so a
flood from many addresses cannot grow the daemon's memory.

An IPv6 client is keyed by its /64: one device can pick any address in its network, so
counting single addresses would give it billions of fresh budgets.

Why log lines are throttled: a log written per refused request is itself the attack on
the SD card. `Throttled` writes the first occurrence at once and then one summary line
per interval with the count (and the busiest addresses), so a flood costs a few lines a
minute however fast it comes.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


def client_key(address: str | None) -> str:
    """The key a client is counted under: its IPv4 address, or its IPv6 /64."""
    if not address:
        return "?"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if not ip.is_loopback:
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class Buckets:
    """A token bucket per key: `rate` tokens a second up to `burst`; at most `max_keys`
    keys are remembered (a forgotten key starts again with a full bucket, which only
    ever errs towards letting a real client in)."""

    rate: float
    burst: float
    max_keys: int = 1024
    clock: Callable[[], float] = time.monotonic
    _table: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def _level(self, key: str, now: float) -> float:
        level, at = self._table.get(key, (self.burst, now))
        return min(self.burst, level + (now - at) * self.rate)

    def take(self, key: str, cost: float = 1.0) -> bool:
        """Spend `cost` tokens of `key`'s bucket; False (nothing spent) when it has too few."""
        now = self.clock()
        level = self._level(key, now)
        ok = level >= cost
        self._table[key] = (level - cost if ok else level, now)
        self._table.move_to_end(key)
        while len(self._table) > self.max_keys:
            self._table.popitem(last=False)
        return ok

    def empty(self, key: str) -> bool:
        """Whether `key` has less than one token left (nothing is spent)."""
        return key in self._table and self._level(key, self.clock()) < 1.0

    def retry_after(self, key: str) -> float:
        """Seconds until `key` has one token again."""
        missing = 1.0 - self._level(key, self.clock())
        return max(0.0, missing / self.rate)


@dataclass
class Throttled:
    """One kind of log line, written at most once per `interval_s` plus one summary."""

    log: logging.Logger
    what: str                     # e.g. "console login refused"
    interval_s: float = 60.0
    level: int = logging.WARNING
    clock: Callable[[], float] = time.monotonic
    total: int = 0                # every occurrence since start (for tests and figures)
    _since: float | None = None   # start of the current interval (None: nothing written yet)
    _held: Counter[str] = field(default_factory=Counter)

    def note(self, who: str, detail: str = "", exc_info: bool = False) -> None:
        """One occurrence; `exc_info` adds the current traceback when the line is written."""
        self.total += 1
        now = self.clock()
        if self._since is not None and now - self._since < self.interval_s:
            self._held[who] += 1
            return
        self.flush()
        self._since = now
        self.log.log(self.level, "%s from %s%s", self.what, who, f" ({detail})" if detail else "",
                     exc_info=exc_info)

    def tick(self) -> None:
        """Called every few seconds: the summary is written once its interval is over."""
        if self._held and self._since is not None and self.clock() - self._since >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        """Write the summary of what was held back, if anything (also at stop)."""
        if not self._held:
            return
        now = self.clock()
        count = sum(self._held.values())
        busiest = ", ".join(f"{who} x{n}" for who, n in self._held.most_common(3))
        more = len(self._held) - 3
        self.log.log(self.level, "%s: %d more in the last %.0f s from %d address(es) (%s%s)",
                     self.what, count, now - (self._since or now), len(self._held), busiest,
                     f", {more} more" if more > 0 else "")
        self._held.clear()
        self._since = now
