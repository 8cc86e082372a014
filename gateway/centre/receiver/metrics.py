"""Prometheus metrics of one receiver (`safehome centre --metrics-port`).

WHY prometheus-client: the text exposition format, histograms with cumulative buckets
and a small HTTP server are exactly what a monitoring system scrapes; writing them by
hand would be a second, untested implementation of a standard.

Alarms per second is `rate(safehome_centre_alarms_total[1m])` in PromQL; the gauge
`safehome_centre_alarms_per_second` gives the same over the last minute for a plain
`curl`. Gateways online/offline/overdue are read from the receiver's view when scraped.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CentreMetrics:
    def __init__(self, gateway_counts: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.alarms = Counter("safehome_centre_alarms", "Unique alarms received by this receiver",
                              registry=r)
        self.copies = Counter("safehome_centre_alarm_copies",
                              "Copies of alarms already received (re-sends, QoS 1 duplicates)",
                              registry=r)
        self.acks = Counter("safehome_centre_acks", "Acknowledgements published", registry=r)
        self.ack_seconds = Histogram(
            "safehome_centre_ack_round_trip_seconds",
            "From an alarm's arrival at this receiver to its ack being published (the database "
            "commit included)", buckets=BUCKETS, registry=r)
        self.alarm_age = Histogram(
            "safehome_centre_alarm_age_at_ack_seconds",
            "From the gateway's detection (detected_at) to the ack being published",
            buckets=BUCKETS, registry=r)
        self._recent: deque[float] = deque()
        rate = Gauge("safehome_centre_alarms_per_second", "Unique alarms per second, last 60 s",
                     registry=r)
        rate.set_function(self._rate)
        for state in ("online", "offline", "overdue"):
            g = Gauge(f"safehome_centre_gateways_{state}", f"Gateways {state} in this receiver's view",
                      registry=r)
            g.set_function(_count_of(gateway_counts, state))

    def alarm(self) -> None:
        self.alarms.inc()
        self._recent.append(time.monotonic())

    def _rate(self) -> float:
        cut = time.monotonic() - 60.0
        while self._recent and self._recent[0] < cut:
            self._recent.popleft()
        return len(self._recent) / 60.0

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)


def _count_of(counts: Callable[[], dict[str, int]], state: str) -> Callable[[], float]:
    return lambda: float(counts().get(state, 0))
