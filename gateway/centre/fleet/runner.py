"""Run a fleet of virtual gateways: connect them, raise alarms, optionally a storm,
then wait for the acknowledgements and summarise.

WHY one process: a thousand real gateway processes would measure the Python start-up
and a thousand interpreters, not the centre side. One asyncio loop carries many
uplinks cheaply; each still has its own MQTT session, client id, will, retained
status, heartbeats and its own SQLite file (`STATE_DIR/GATEWAY_ID.db`).

Counting: an alarm is *raised* when its gateway's store committed it (one ledger line
then), *acknowledged* when the centre's ack reached that gateway; *lost* = raised and
still unacknowledged when the run ends (after `drain` seconds of grace).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gateway.centre.fleet.virtual import VirtualGateway
from gateway.config import MqttConfig
from gateway.events import Event
from gateway.lifecycle import TaskGroup


@dataclass
class StormPlan:
    """A share of the fleet loses its uplink at `at` s, queues `events` events each while
    away (`alarm_share` of them alarms), and all return at once after `outage` s."""

    share: float
    at: float
    outage: float = 10.0
    events: int = 20
    alarm_share: float = 0.25


@dataclass
class FleetOptions:
    gateways: int
    brokers: list[str]
    state_dir: Path
    protocol: str = "3.1.1"
    duration: float = 60.0
    alarm_every: float = 30.0
    heartbeat: float = 60.0
    ack_timeout: float = 10.0
    ramp: float | None = None        # seconds over which the fleet first connects
    drain: float = 60.0              # grace after `duration` for outstanding acks
    prefix: str = "fleet"
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    max_inflight: int = 16
    subscribe_qos: int = 0           # see docs/scaling.md: QoS 1 subscriptions on NATS
    storm: StormPlan | None = None

    def mqtt(self) -> MqttConfig:
        return MqttConfig.model_validate({
            "urls": self.brokers, "protocol": self.protocol, "heartbeat_interval": self.heartbeat,
            "reconnect_min": self.reconnect_min, "reconnect_max": self.reconnect_max,
            "max_inflight": self.max_inflight, "subscribe_qos": self.subscribe_qos})


@dataclass
class AlarmTrack:
    gateway_id: str
    seq: int
    committed_at: float
    acked_at: float | None = None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Fleet:
    opts: FleetOptions
    ledger: TextIO | None = None
    gateways: list[VirtualGateway] = field(default_factory=list)
    alarms: dict[str, AlarmTrack] = field(default_factory=dict)
    events_raised: int = 0
    duplicate_acks: int = 0
    storm_report: dict[str, Any] | None = None
    storm_ids: set[str] = field(default_factory=set)   # events queued by the storm
    started: float = 0.0
    on_tick: Callable[[Fleet], None] | None = None

    # -- building ------------------------------------------------------------------------
    async def start(self) -> None:
        self.opts.state_dir.mkdir(parents=True, exist_ok=True)
        mqtt = self.opts.mqtt()
        width = max(5, len(str(self.opts.gateways)))
        for i in range(self.opts.gateways):
            gid = f"{self.opts.prefix}-{i + 1:0{width}d}"
            self.gateways.append(VirtualGateway(
                gid, mqtt, self.opts.state_dir / f"{gid}.db", ack_timeout=self.opts.ack_timeout,
                on_raised=self._raised, on_acked=self._acked))
        sem = asyncio.Semaphore(32)

        async def open_one(g: VirtualGateway) -> None:
            async with sem:
                await g.open()
        await asyncio.gather(*(open_one(g) for g in self.gateways))
        self.started = time.monotonic()
        ramp = self.opts.ramp if self.opts.ramp is not None else min(30.0, self.opts.gateways / 50)
        for g in self.gateways:
            g.connect()
            if ramp > 0:
                await asyncio.sleep(ramp / len(self.gateways))

    def _raised(self, g: VirtualGateway, ev: Event) -> None:
        if not ev.is_alarm:
            self.events_raised += 1
            return
        self.alarms[ev.id] = AlarmTrack(g.gateway_id, ev.seq, time.monotonic())
        if self.ledger is not None:
            self.ledger.write(json.dumps({"gateway_id": g.gateway_id, "id": ev.id,
                                          "seq": ev.seq, "at": ev.detected_at}) + "\n")
            self.ledger.flush()

    def _acked(self, g: VirtualGateway, event_id: str, at: float) -> None:
        track = self.alarms.get(event_id)
        if track is None:
            return
        if track.acked_at is not None:
            self.duplicate_acks += 1
            return
        track.acked_at = time.monotonic()

    # -- views ------------------------------------------------------------------------------
    @property
    def online(self) -> int:
        return sum(1 for g in self.gateways if g.online)

    @property
    def acked(self) -> int:
        return sum(1 for a in self.alarms.values() if a.acked_at is not None)

    def unacked(self) -> list[str]:
        return [i for i, a in self.alarms.items() if a.acked_at is None]

    async def wait_online(self, timeout: float, count: int | None = None) -> float:
        """Seconds until `count` (default all) gateways are connected; TimeoutError after."""
        want = len(self.gateways) if count is None else count
        t0 = time.monotonic()
        while self.online < want:
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{self.online}/{want} gateways online after {timeout} s")
            await asyncio.sleep(0.1)
        return time.monotonic() - t0

    async def wait_acked(self, timeout: float) -> bool:
        t0 = time.monotonic()
        while self.acked < len(self.alarms):
            if time.monotonic() - t0 > timeout:
                return False
            await asyncio.sleep(0.2)
        return True

    # -- running ----------------------------------------------------------------------------
    async def raise_alarms(self, duration: float) -> None:
        """Every gateway raises an alarm every `alarm_every` s (random phase) for `duration` s."""
        end = time.monotonic() + duration

        async def one(g: VirtualGateway) -> None:
            await asyncio.sleep(random.uniform(0, self.opts.alarm_every))
            while time.monotonic() < end:
                await g.raise_alarm()   # offline ones queue it, as a real gateway does
                await asyncio.sleep(self.opts.alarm_every)

        await asyncio.gather(*(one(g) for g in self.gateways))

    async def storm(self, plan: StormPlan) -> dict[str, Any]:
        """Drop a share of the fleet, queue events, bring them all back at once; report the
        drain time (return -> every queued event acknowledged/accepted) and connect jitter."""
        n = max(1, round(plan.share * len(self.gateways)))
        group = random.sample(self.gateways, n)
        await asyncio.gather(*(g.disconnect() for g in group))
        queued: list[str] = []

        async def queue(g: VirtualGateway) -> None:
            for k in range(plan.events):
                ev = await (g.raise_alarm() if k < plan.events * plan.alarm_share else g.raise_event())
                queued.append(ev.id)
                self.storm_ids.add(ev.id)
        t_queue = time.monotonic()
        await asyncio.gather(*(queue(g) for g in group))
        await asyncio.sleep(max(0.0, plan.outage - (time.monotonic() - t_queue)))
        before = {g.gateway_id: len(g.connect_times) for g in group}
        t_return = time.monotonic()
        for g in group:
            g.connect()

        def owed(g: VirtualGateway) -> int:
            return len(g.outbox.entries)
        while any(owed(g) for g in group):
            if time.monotonic() - t_return > max(120.0, plan.events * 5):
                break
            await asyncio.sleep(0.1)
        drained = time.monotonic() - t_return
        trips = [a.acked_at - t_return for i, a in self.alarms.items()
                 if i in self.storm_ids and a.acked_at is not None]
        connects = [g.connect_times[before[g.gateway_id]] - t_return for g in group
                    if len(g.connect_times) > before[g.gateway_id]]
        report = {
            "gateways": n, "events_each": plan.events, "queued": len(queued),
            "still_owed": sum(owed(g) for g in group), "drain_s": round(drained, 2),
            "queued_alarms_acked_after_return_s": {
                "p50": _r(percentile(trips, 50)), "p99": _r(percentile(trips, 99)),
                "max": _r(max(trips, default=None))},
            "connect_s": {"min": _r(min(connects, default=None)), "p50": _r(percentile(connects, 50)),
                          "p90": _r(percentile(connects, 90)), "max": _r(max(connects, default=None)),
                          "stdev": _r(statistics.pstdev(connects) if len(connects) > 1 else None)},
        }
        self.storm_report = report
        return report

    async def run(self, *, between: Callable[[Fleet], Any] | None = None) -> dict[str, Any]:
        """The whole run: start, alarms for `duration` (with the storm, if planned), drain."""
        await self.start()
        await self.wait_online(timeout=max(60.0, len(self.gateways) * 0.2))
        t_connected = time.monotonic() - self.started
        # Owned tasks (gateway/lifecycle.py): a job that fails stops the others and is
        # raised; the progress ticker is optional (its failure is logged, the run goes on).
        async with TaskGroup("fleet") as ticking:
            ticking.spawn(self._tick(), "fleet-tick", critical=False)
            jobs = TaskGroup("fleet-jobs")
            jobs.spawn(self.raise_alarms(self.opts.duration), "fleet-alarms")
            if self.opts.storm is not None:
                async def storm_later(plan: StormPlan) -> None:
                    await asyncio.sleep(plan.at)
                    await self.storm(plan)
                jobs.spawn(storm_later(self.opts.storm), "fleet-storm")
            if between is not None:
                jobs.spawn(between(self), "fleet-between")
            await jobs.wait()
            await self.wait_acked(self.opts.drain)
        return self.summary(t_connected)

    async def _tick(self) -> None:
        while True:
            if self.on_tick is not None:
                self.on_tick(self)
            await asyncio.sleep(0.5)

    async def __aenter__(self) -> Fleet:
        """`async with Fleet(...) as fleet: await fleet.run()`: every gateway is closed at
        the end (`run()` starts them: connecting is part of what a run measures)."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every gateway (64 at a time): its uplink says offline, its store closes."""
        sem = asyncio.Semaphore(64)

        async def close_one(g: VirtualGateway) -> None:
            async with sem:
                await g.close()
        await asyncio.gather(*(close_one(g) for g in self.gateways), return_exceptions=True)

    def summary(self, connected_after: float | None = None) -> dict[str, Any]:
        trips = [a.acked_at - a.committed_at for a in self.alarms.values() if a.acked_at is not None]
        lost = self.unacked()
        return {
            "gateways": len(self.gateways), "brokers": self.opts.brokers,
            "protocol": self.opts.protocol,
            "alarms_raised": len(self.alarms), "alarms_acked": self.acked, "lost": len(lost),
            "lost_ids": lost[:20], "events_raised": self.events_raised,
            "duplicate_acks": self.duplicate_acks, "online_at_end": self.online,
            "connected_after_s": _r(connected_after),
            "connects": sum(len(g.connect_times) for g in self.gateways),
            "failovers": sum(g.uplink.brokers.failovers for g in self.gateways),
            "round_trip_s": {"p50": _r(percentile(trips, 50), 4), "p90": _r(percentile(trips, 90), 4),
                             "p99": _r(percentile(trips, 99), 4), "max": _r(max(trips, default=None), 4)},
            "storm": self.storm_report,
        }


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)
