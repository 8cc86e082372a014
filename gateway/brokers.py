"""Which broker the uplink connects to next, when a gateway knows several.

WHY a separate unit: the reconnect loop (uplink.py) owns *when* to try again (its
backoff with jitter); this owns only *where*. A gateway with `[mqtt] urls = [a, b, c]`
(typically the nodes of one broker cluster) tries one node, and after each failed or
lost connection moves to the next, so losing a node costs one backoff step, not an
outage. Gateways start at a node chosen by a hash of their gateway id: a fleet spreads
evenly over the nodes without any coordination, and a given gateway always starts at
the same node (predictable in logs, stable across restarts).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("mqtt", "mqtts", "tcp", "ssl")
TLS_SCHEMES = ("mqtts", "ssl")


@dataclass(frozen=True)
class Broker:
    """One broker endpoint as the uplink dials it."""

    url: str
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str, *, tls_forced: bool = False) -> Broker:
        """`mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]`; `tls_forced` when a CA file is set."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"{url!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        tls = parts.scheme in TLS_SCHEMES or tls_forced
        return cls(url, parts.hostname, parts.port or (8883 if tls else 1883), tls)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class BrokerRotation:
    """The broker list and where the next connect attempt goes.

    `failed()` after a connect attempt failed or an established session was lost moves
    on to the next broker; `connected()` records a successful session so the uplink can
    tell a failover (connected to another broker than last time) from a reconnect.
    """

    def __init__(self, brokers: Sequence[Broker], *, start_key: str = "") -> None:
        if not brokers:
            raise ValueError("at least one broker is needed")
        self.brokers = list(brokers)
        self.index = zlib.crc32(start_key.encode()) % len(self.brokers) if start_key else 0
        self.last_connected: Broker | None = None
        self.failovers = 0

    @property
    def current(self) -> Broker:
        return self.brokers[self.index]

    def failed(self) -> None:
        self.index = (self.index + 1) % len(self.brokers)

    def connected(self) -> bool:
        """Record a session on `current`; True when it is a failover from another broker."""
        broker = self.current
        moved = self.last_connected is not None and self.last_connected != broker
        if moved:
            self.failovers += 1
        self.last_connected = broker
        return moved


class SubscriptionRefused(ConnectionError):
    """The broker answered SUBACK with a failure code (e.g. a clustered broker whose
    storage layer is electing a leader). Treated like a lost connection: without the
    `ack` subscription the gateway would re-send its alarms forever, unheard."""


def check_granted(granted: Sequence[object], what: str) -> None:
    """Raise SubscriptionRefused if any SUBACK entry is a failure (>= 0x80)."""
    for code in granted:
        failed = getattr(code, "is_failure", None)
        if failed is None:
            failed = isinstance(code, int) and code >= 0x80
        if failed:
            raise SubscriptionRefused(f"broker refused the subscription to {what}: {code}")
