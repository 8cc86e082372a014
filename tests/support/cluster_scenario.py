"""The city-scale scenario shared by the kill tests and benchmarks/fleet.py: a 3-node NATS
cluster, redundant receivers (`safehome centre --db postgresql://...` processes, each
starting on its own node), and a fleet of virtual gateways in this process. Optional
chaos: SIGKILL a broker node and a receiver mid-run, bring the node back.

Everything real: nats-server processes, receiver processes, PostgreSQL, one SQLite file
per gateway. The report holds what the acceptance asks for: alarms raised/acked/lost,
rows in the shared log (and duplicates: none possible, but counted), time until every
gateway is online again after the kill, time for the node to rejoin.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from gateway.centre.fleet.runner import Fleet, FleetOptions, StormPlan, percentile
from tests.support.nats_cluster import NatsCluster, listen_port

REPO = Path(__file__).resolve().parents[2]


class Receiver:
    """`safehome centre` as its own process (so it can be SIGKILLed)."""

    def __init__(self, name: str, brokers: list[str], dsn: str, workdir: Path,
                 metrics_port: int | None = None) -> None:
        self.name = name
        self.metrics_port = metrics_port or listen_port()
        self.out = workdir / f"{name}.out"
        self.argv = [sys.executable, "-m", "gateway.cli", "centre", "--protocol", "3.1.1",
                     "--auto-ack", "--ack-by", name, "--client-id", name, "--db", dsn,
                     "--headless", "--metrics-port", str(self.metrics_port),
                     "--log-level", "WARNING"]
        for b in brokers:
            self.argv += ["--broker", b]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Receiver:
        self._f = self.out.open("ab")
        self.proc = subprocess.Popen(self.argv, cwd=REPO, stdout=self._f, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._f.close()

    def metrics(self) -> str:
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as r:
            return r.read().decode()

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used, resident set size in bytes) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


@dataclass
class Chaos:
    kill_node_at: float | None = None       # s after alarms start: SIGKILL node n1
    kill_receiver: bool = True              # ... and receiver r2 (on n2) at the same moment
    restart_node_after: float = 10.0        # s after the kill: n1 starts again


@dataclass
class Scenario:
    workdir: Path
    gateways: int = 100
    duration: float = 40.0
    alarm_every: float = 10.0
    heartbeat: float = 10.0
    ack_timeout: float = 5.0
    drain: float = 60.0
    ramp: float | None = None
    subscribe_qos: int = 0
    receivers: int = 2
    chaos: Chaos = field(default_factory=Chaos)
    storm: StormPlan | None = None
    sample_every: float = 5.0


async def run_scenario(sc: Scenario, dsn: str) -> dict[str, Any]:
    sc.workdir.mkdir(parents=True, exist_ok=True)
    cluster = NatsCluster(sc.workdir / "nats")
    await asyncio.to_thread(cluster.start)
    urls = cluster.urls
    receivers = [Receiver(f"r{i + 1}", urls[i % 3:] + urls[:i % 3], dsn, sc.workdir).start()
                 for i in range(sc.receivers)]
    report: dict[str, Any] = {}
    marks: dict[str, float] = {}
    samples: list[dict[str, Any]] = []
    ledger = (sc.workdir / "ledger.jsonl").open("w")
    fleet = Fleet(FleetOptions(
        gateways=sc.gateways, brokers=urls, state_dir=sc.workdir / "gateways",
        duration=sc.duration, alarm_every=sc.alarm_every, heartbeat=sc.heartbeat,
        ack_timeout=sc.ack_timeout, drain=sc.drain, ramp=sc.ramp, reconnect_min=1.0,
        reconnect_max=10.0, subscribe_qos=sc.subscribe_qos, storm=sc.storm), ledger=ledger)
    try:
        await asyncio.sleep(3.5)   # receivers connected and their subscriptions ready

        async def sample() -> None:
            pids = {"fleet": os.getpid(), **{n.name: n.proc.pid for n in cluster.nodes if n.proc},
                    **{r.name: r.proc.pid for r in receivers if r.proc}}
            row: dict[str, Any] = {"t": time.monotonic(), "online": fleet.online}
            for name, pid in pids.items():
                try:
                    row[name] = proc_usage(pid)
                except OSError:
                    pass
            samples.append(row)

        async def sampler() -> None:
            while True:
                await sample()
                await asyncio.sleep(sc.sample_every)

        async def chaos(f: Fleet) -> None:
            ch = sc.chaos
            marks["steady_start"] = time.monotonic()    # the whole fleet is connected
            await sample()
            if ch.kill_node_at is None:
                return
            await asyncio.sleep(ch.kill_node_at)
            node = cluster.nodes[0]
            moved = [g for g in f.gateways
                     if g.online and g.uplink.brokers.current.port == node.mqtt_port]
            on_node = len(moved)
            connects_before = {g.gateway_id: len(g.connect_times) for g in moved}
            t_kill = time.monotonic()
            marks["kill"] = t_kill
            node.kill()
            if ch.kill_receiver and len(receivers) > 1:
                receivers[1].kill()
            raised_before = len(f.alarms)
            try:
                # Every gateway of the dead node connected again (elsewhere), and the whole
                # fleet online at that moment.
                while any(len(g.connect_times) <= connects_before[g.gateway_id] for g in moved):
                    if time.monotonic() - t_kill > 120.0:
                        raise TimeoutError("gateways of the killed node not back in 120 s")
                    await asyncio.sleep(0.05)
                await f.wait_online(timeout=120.0)
                report["all_online_after_kill_s"] = round(time.monotonic() - t_kill, 2)
                back = [g.connect_times[connects_before[g.gateway_id]] - t_kill for g in moved]
                report["reconnect_after_kill_s"] = {
                    "min": _r(min(back)), "p50": _r(percentile(back, 50)),
                    "max": _r(max(back))}
            except TimeoutError as exc:
                report["all_online_after_kill_s"] = None
                report["online_problem"] = str(exc)
            report["gateways_on_killed_node"] = on_node
            await asyncio.sleep(max(0.0, ch.restart_node_after - (time.monotonic() - t_kill)))
            t_restart = time.monotonic()
            try:
                await asyncio.to_thread(cluster.restart, node)
                report["node_rejoined_s"] = round(time.monotonic() - t_restart, 2)
            except TimeoutError as exc:
                report["node_rejoined_s"] = None
                report["node_rejoin_problem"] = str(exc)[:500]
            report["node_routes_after_rejoin"] = node.routes()
            report["alarms_raised_during_outage"] = len(f.alarms) - raised_before
            if ch.kill_receiver and len(receivers) > 1:
                receivers[1].start()

        sampling = asyncio.create_task(sampler())
        t0 = time.monotonic()
        summary = await fleet.run(between=chaos)
        sampling.cancel()
        await sample()
        report["wall_s"] = round(time.monotonic() - t0, 1)
        report["fleet"] = summary
        con = await asyncpg.connect(dsn)
        try:
            rows = await con.fetchval("SELECT count(*) FROM alarms")
            distinct = await con.fetchval("SELECT count(DISTINCT id) FROM alarms")
            ids = {r["id"] for r in await con.fetch("SELECT id FROM alarms")}
            overdue = await con.fetchval("SELECT count(*) FROM overdue_log")
        finally:
            await con.close()
        raised = set(fleet.alarms)
        report["db"] = {"rows": rows, "distinct_ids": distinct,
                        "raised_missing_in_db": len(raised - ids),
                        "db_rows_not_raised": len(ids - raised), "overdue_flags": overdue}
        report["receivers_alive_at_end"] = [r.name for r in receivers
                                            if r.proc is not None and r.proc.poll() is None]
        steady_end = marks.get("kill", float("inf"))
        steady_start = marks.get("steady_start", 0.0)
        report["usage"] = _usage([s for s in samples if steady_start <= s["t"] <= steady_end],
                                 sc.gateways)
        trips = [a.acked_at - a.committed_at for i, a in fleet.alarms.items()
                 if a.acked_at is not None and a.committed_at + 2 * sc.ack_timeout < steady_end
                 and a.committed_at > steady_start and i not in fleet.storm_ids]
        report["round_trip_steady_s"] = {
            "n": len(trips), "p50": _r(percentile(trips, 50)), "p99": _r(percentile(trips, 99)),
            "max": _r(max(trips, default=None))}
        if "kill" in marks:
            after = [a for a in fleet.alarms.values() if a.committed_at >= marks["kill"]]
            report["alarms_after_kill"] = {"raised": len(after),
                                           "acked": sum(1 for a in after if a.acked_at is not None)}
    finally:
        await fleet.close()
        ledger.close()
        for r in receivers:
            r.stop()
        await asyncio.to_thread(cluster.stop)
    return report


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _usage(samples: list[dict[str, Any]], gateways: int) -> dict[str, Any]:
    """CPU share (of one core) and RSS per process group, over the sampled run, and per
    100 gateways."""
    if len(samples) < 2:
        return {}
    first, last = samples[0], samples[-1]
    span = last["t"] - first["t"]
    out: dict[str, Any] = {"span_s": round(span, 1)}
    groups = {"fleet": ["fleet"], "broker_nodes": ["n1", "n2", "n3"], "receivers": ["r1", "r2"]}
    for group, names in groups.items():
        cpu = 0.0
        rss = 0
        for n in names:
            if n in first and n in last and last[n][0] >= first[n][0]:
                cpu += last[n][0] - first[n][0]
            rss += max((s[n][1] for s in samples if n in s), default=0)
        share = cpu / span if span else 0.0
        out[group] = {"cpu_core_share": round(share, 3), "rss_mb": round(rss / 2**20, 1),
                      "cpu_per_100_gw": round(share * 100 / gateways, 4),
                      "rss_mb_per_100_gw": round(rss / 2**20 * 100 / gateways, 2)}
    return out


def main() -> None:   # python -m tests.support.cluster_scenario WORKDIR DSN  (a quick manual run)
    sc = Scenario(Path(sys.argv[1]), chaos=Chaos(kill_node_at=10.0))
    print(json.dumps(asyncio.run(run_scenario(sc, sys.argv[2])), indent=2))


if __name__ == "__main__":
    main()
