"""The seeded fault run: a real mosquitto, the supervised daemon, the acking centre, and a
schedule of broker outages and SIGKILLs drawn from one `random.Random(seed)`.

Kill moments come in four kinds, so the ones that matter are not left to chance:
`random` (any moment), `cancel_window` (after the centre saw a `fall_suspected`, before
its window closed), `mid_commit` (right after the first SOS of a burst went out, while
the rest of the burst is being committed) and `mid_drain` (right after the broker came
back and the backlog started to flow). After every kill the retained status must say
`offline` (the will), after every restart `online`.

The run ends with a clean stop and a "quiet" restart on the same database (the home
without its fall radar and pendant), which must close every cancel window the crashes
left open and deliver every alarm still owed; then the checker reads everything.
The same seed gives the same schedule, the same script and the same durations; the
moments a kill lands relative to the daemon's work vary with machine load.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from tests.faults.centre import AckingCentre, retained_status
from tests.faults.daemon import SupervisedDaemon, parse_log
from tests.faults.home import (
    ALL_SENSORS,
    GATEWAY_ID,
    Script,
    Timing,
    write_fault_home,
    write_script,
)
from tests.faults.invariants import ACK_COMMIT_GRACE, Report, acks_logged, check
from tests.faults.storage import Tmpfs, db_files, immutable
from tests.support.broker import Mosquitto

KILL_KINDS = ("random", "cancel_window", "mid_commit", "mid_drain")
RECONNECT_WAIT = 45.0   # longer than the product's 30 s backoff ceiling


@dataclass
class Figures:
    seed: int
    outages: int = 0
    kills: dict[str, int] = field(default_factory=lambda: {k: 0 for k in (*KILL_KINDS, "storage")})
    storage_faults: dict[str, int] = field(default_factory=lambda: {"disk_full": 0, "read_only": 0})
    reconnect_delays: list[float] = field(default_factory=list)  # s after the broker returned
    reconnect_missing: int = 0       # outages after which the gateway was not back in 45 s
    retained_right: int = 0
    retained_checked: int = 0
    retained_wrong: list[str] = field(default_factory=list)
    unexpected_exits: list[int] = field(default_factory=list)
    stalls: list[str] = field(default_factory=list)
    warnings_lost: int = 0           # "uplink ... lost" warnings logged
    reconnected_lines: int = 0       # "uplink reconnected" info lines logged
    report: Report = field(default_factory=Report)
    log: str = ""

    def percentile(self, p: float) -> float:
        """Linear interpolation between closest ranks (as benchmarks/_util.py)."""
        d = sorted(self.reconnect_delays)
        if not d:
            return float("nan")
        k = (len(d) - 1) * p / 100.0
        lo, hi = int(k), min(int(k) + 1, len(d) - 1)
        return d[lo] + (d[hi] - d[lo]) * (k - lo)

    def summary(self) -> str:
        r = self.report
        d = self.reconnect_delays
        kills = ", ".join(f"{k} {v}" for k, v in self.kills.items())
        reconnect = (f"p50 {self.percentile(50):.2f} s, p99 {self.percentile(99):.2f} s, "
                     f"max {max(d):.2f} s over {len(d)} outages") if d else "no outages"
        if self.reconnect_missing:
            reconnect += f"; NOT back within {RECONNECT_WAIT:.0f} s after {self.reconnect_missing}"
        lines = [
            (f"seed {self.seed}: {self.outages} broker outages, {sum(self.kills.values())} SIGKILLs "
             f"({kills}), storage faults {self.storage_faults}"),
            f"alarms committed: {r.alarms}; escalations (hook runs): {r.escalations}",
            f"alarms lost: {len(r.alarms_lost)}",
            f"alarms neither acknowledged nor escalated within bound: {len(r.not_escalated)}",
            f"suspected falls never resolved: {len(r.falls_unresolved)}",
            f"seq reused: {len(r.seq_reused)}",
            (f"re-sends after ack: {len(r.resent_after_ack)} (plus {r.resent_after_uncommitted_ack} "
             f"after an ack the SIGKILL cut within {ACK_COMMIT_GRACE} s of logging it)"),
            f"retained status right: {self.retained_right}/{self.retained_checked}",
            f"reconnect delay after broker return: {reconnect}",
            (f"log: {self.warnings_lost} 'lost' warnings, {self.reconnected_lines} 'reconnected' "
             f"lines for {self.outages} outages"),
            (f"unexpected daemon exits: {self.unexpected_exits or 'none'}; "
             f"tick-loop stalls: {len(self.stalls)}"),
            f"non-alarm events still pending at the end: {r.events_pending_at_end}",
        ]
        return "\n".join(lines)

    def violations(self) -> list[str]:
        out = list(self.report.violations()) + self.retained_wrong + self.stalls
        out += [f"daemon exited {c} on its own" for c in self.unexpected_exits if c == 0]
        out += [f"daemon died of signal {signal.Signals(-c).name} (no clean exit for systemd to see)"
                for c in self.unexpected_exits if c < 0]
        if self.warnings_lost != self.outages:
            out.append(f"{self.warnings_lost} 'lost' warnings logged for {self.outages} outages (one each)")
        if not self.outages - self.kills["mid_drain"] <= self.reconnected_lines <= self.outages:
            out.append(f"{self.reconnected_lines} 'reconnected' lines logged for {self.outages} outages")
        if self.reconnect_missing:
            out.append(f"gateway not back within {RECONNECT_WAIT:.0f} s after {self.reconnect_missing} outage(s)")
        return out


class FaultRun:
    def __init__(self, workdir: Path, seed: int, *, timing: Timing | None = None,
                 outage_range: tuple[float, float] = (0.5, 6.0), pause_range: tuple[float, float] = (0.3, 1.5),
                 store: Tmpfs | None = None, verbose: bool = False,
                 outage_length: Callable[[random.Random], float] | None = None,
                 cancel_share: float = 0.35, sensors: tuple[str, ...] = ALL_SENSORS,
                 before_ack: Callable[[str], list[bytes]] | None = None, hostile_alarms: int = 0) -> None:
        """`store`: a tmpfs of its own for the database (needed for disk_full/read_only).
        `before_ack`: hostile acks the centre sends for each of the first `hostile_alarms`
        alarms before its honest ack (tests/faults/typed_corpus.py)."""
        self.before_ack, self.hostile_alarms = before_ack, hostile_alarms
        # run(): awaited after every fault step (e.g. hostile commands, benchmarks/soak.py --corpus)
        self.between_steps: Callable[[FaultRun], Awaitable[None]] | None = None
        self.dir = workdir
        self.seed = seed
        self.rng = random.Random(seed)
        self.timing = timing = timing or Timing()
        self.outage_range = outage_range
        self.pause_range = pause_range
        self.verbose = verbose
        self.outage_length = outage_length or (lambda rng: rng.uniform(*outage_range))
        self.fig = Figures(seed)
        self.broker_up_since = time.time()
        self.kill_times: list[float] = []
        self.hooks = workdir / "hooks.log"
        self.script: Script = write_script(workdir / "home.mcap", self.rng, timing,
                                           cancel_share=cancel_share)
        self.broker = Mosquitto(workdir / "broker")
        self.store = store
        self.db = (store.path if store else workdir) / f"{GATEWAY_ID}.db"
        self.cfg = write_fault_home(workdir, self.broker.url, self.script, timing, hook_log=self.hooks,
                                    db=self.db, sensors=sensors)

    def say(self, msg: str) -> None:
        if self.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    # -- the schedule ------------------------------------------------------------------
    def schedule(self, outages: int, kills: int, storage: int = 0) -> list[str]:
        """Kills of each kind in turn (mid_drain kills also count as outages), storage
        faults alternating disk_full / read_only, shuffled."""
        kinds = [KILL_KINDS[i % len(KILL_KINDS)] for i in range(kills)]
        drains = kinds.count("mid_drain")
        plain = max(0, outages - drains)
        steps = kinds + ["outage"] * plain + [("disk_full", "read_only")[i % 2] for i in range(storage)]
        self.rng.shuffle(steps)
        return steps

    async def run(self, outages: int, kills: int, storage: int = 0) -> Figures:
        async def steps(run: FaultRun) -> None:
            for i, step in enumerate(self.schedule(outages, kills, storage)):
                await asyncio.sleep(self.rng.uniform(*self.pause_range))
                self.say(f"step {i}: {step}")
                if step == "outage":
                    await self._outage()
                elif step in ("disk_full", "read_only"):
                    await self._storage_fault(step)
                else:
                    await self._kill(step)
                if self.between_steps is not None:
                    await self.between_steps(self)
                self._check_alive()
        return await self.run_with(steps)

    async def run_with(self, steps: Callable[[FaultRun], Awaitable[None]],
                       env: dict[str, str] | None = None) -> Figures:
        """Broker, centre and daemon up; `steps(self)` injects the faults; then the
        quiet restart and the checker."""
        self.broker.start()
        self.broker_up_since = time.time()
        try:
            async with AckingCentre(self.broker.host, self.broker.port, before_ack=self.before_ack,
                                    hostile_alarms=self.hostile_alarms) as centre, \
                    SupervisedDaemon(self.cfg, env=env) as daemon:
                self.centre, self.daemon = centre, daemon
                daemon.start()
                await daemon.wait_ready()
                await self._await_online(time.time() - 1, 30)
                await steps(self)
                await self._finish()
        finally:
            self.broker.stop()
        return self.fig

    # -- faults ------------------------------------------------------------------------
    async def _outage(self, length: float | None = None) -> float:
        length = self.outage_length(self.rng) if length is None else length
        self.broker.stop()
        await asyncio.sleep(length)
        self.broker.start()
        back = self.broker_up_since = time.time()
        self.fig.outages += 1
        delay = await self._await_online(back, RECONNECT_WAIT)
        if delay is None:
            self.fig.reconnect_missing += 1
        else:
            self.fig.reconnect_delays.append(delay)
            await self._expect_retained("online", f"after a {length:.1f} s outage")
        self.say(f"  outage {length:.1f} s, back after {delay}")
        return back

    async def _kill(self, kind: str) -> None:
        c = self.centre
        if kind == "cancel_window":
            n = len([b for b in c.bodies("event") if b.get("type") == "fall_suspected"])
            await c.wait_until(lambda: len([b for b in c.bodies("event")
                                            if b.get("type") == "fall_suspected"]) > n,
                               self.script.period + 10)
            await asyncio.sleep(self.rng.uniform(0.0, self.timing.cancel_window * 0.9))
        elif kind == "mid_commit":
            n = len(c.on("alarm"))
            await c.wait_until(lambda: any(b.get("type") == "sos" and b.get("attempt") == 1
                                           for b in c.bodies("alarm")[n:]), self.script.period + 10)
            await asyncio.sleep(self.rng.uniform(0.0, 0.25))
        elif kind == "mid_drain":
            self.broker.stop()
            await asyncio.sleep(self.rng.uniform(2.0, 5.0))    # a backlog builds up
            self.broker.start()
            back = self.broker_up_since = time.time()
            self.fig.outages += 1
            await c.wait_until(lambda: any(m.at > back and m.leaf in ("alarm", "event", "status")
                                           for m in c.messages[-50:]), RECONNECT_WAIT)
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            # the reconnect delay of this outage is measured from the centre's log below
            online = [m.at for m in c.on("status") if m.at > back and isinstance(m.body, dict)
                      and m.body.get("state") == "online"]
            if online:
                self.fig.reconnect_delays.append(online[0] - back)
        else:
            await asyncio.sleep(self.rng.uniform(0.0, 3.0))
        await self._kill_now(kind)

    async def _storage_fault(self, kind: str) -> None:
        """The database's file system full, or its files immutable, for a few seconds while
        alarms flow and acks come in; a SIGKILL during it and one after it:
        what the store did from memory must not come back as a reused seq or a re-send."""
        assert self.store is not None, "storage faults need the database on its own tmpfs"
        self.fig.storage_faults[kind] += 1
        hold = self.rng.uniform(3.0, 6.0)
        if kind == "disk_full":
            self.store.fill()
        else:
            immutable(db_files(self.db), True)
        try:
            await asyncio.sleep(hold / 2)
            await self._kill_now("storage")   # a restart that meets the failed storage
            await asyncio.sleep(hold / 2)
        finally:
            if kind == "disk_full":
                self.store.free()
            else:
                immutable(db_files(self.db), False)
        self.say(f"  {kind} for {hold:.1f} s")
        await asyncio.sleep(self.rng.uniform(1.5, 3.0))   # the store recovers by itself
        await self._kill_now("storage")

    async def _kill_now(self, kind: str) -> None:
        at = self.daemon.kill(signal.SIGKILL)
        if at is None:
            return
        self.kill_times.append(at)
        self.fig.kills[kind] += 1
        self.say(f"  SIGKILL ({kind})")
        await self._expect_retained("offline", f"after a SIGKILL ({kind})", within=5.0)
        await asyncio.sleep(self.rng.uniform(0.0, 2.0))
        self.daemon.start()
        await self.daemon.wait_ready()
        if await self._await_online(time.time() - 0.5, 30) is None:
            self.fig.retained_wrong.append("gateway did not come online after a restart")
        await self._expect_retained("online", f"after a restart ({kind})")

    # -- observations ------------------------------------------------------------------
    async def _await_online(self, since: float, timeout: float) -> float | None:
        """Seconds from `since` until the centre heard the gateway's `online` status."""
        def online() -> list[float]:
            return [m.at for m in self.centre.on("status")
                    if m.at >= since and isinstance(m.body, dict) and m.body.get("state") == "online"]
        if await self.centre.wait_until(lambda: bool(online()), timeout):
            return online()[0] - since
        return None

    async def _expect_retained(self, state: str, when: str, within: float = 3.0) -> None:
        """The retained status a newly connecting centre reads must be `state` (polled:
        the broker publishes the will as soon as it sees the socket close)."""
        self.fig.retained_checked += 1
        deadline = time.monotonic() + within
        got: Any = None
        while time.monotonic() < deadline:
            try:
                got = await retained_status(self.broker.host, self.broker.port, GATEWAY_ID, 1.0)
            except Exception as exc:  # noqa: BLE001 - the broker may be restarting
                got = f"probe failed: {exc}"
            if isinstance(got, dict) and got.get("state") == state:
                self.fig.retained_right += 1
                return
            await asyncio.sleep(0.2)
        self.fig.retained_wrong.append(f"retained status {when}: expected {state}, got {got}")

    def _check_alive(self) -> None:
        """The tick loop pings the watchdog; the reading loop turns the script's falls and
        presses into events, so with the broker up events must keep arriving."""
        if self.daemon.tick_silent_at_end():
            self.fig.stalls.append("tick loop silent (no watchdog ping) while the process lives")
        run = self.daemon.current
        if run is None or run.ready is None or not self.daemon.alive:
            return
        horizon = self.script.period + 15.0
        now = time.time()
        if now - max(self.broker_up_since, run.ready) > horizon and not any(
                m.at > now - horizon and m.leaf in ("alarm", "event") for m in self.centre.messages[-300:]):
            self.fig.stalls.append(f"no event from the home for {horizon:.0f} s with the broker up "
                                   "(reading loop or pipeline stalled)")

    # -- the end -----------------------------------------------------------------------
    async def _finish(self) -> None:
        """Settle with the broker up, stop cleanly, then a quiet restart on the same database
        must resolve every open window and deliver every owed alarm."""
        d = self.daemon
        await asyncio.sleep(2.0)
        rc = await d.stop()
        if rc != 0:
            self.fig.retained_wrong.append(f"clean stop exited {rc}")
        stopped = time.time()
        quiet = write_fault_home(self.dir, self.broker.url, self.script, self.timing, hook_log=self.hooks,
                                 db=self.db, name="quiet", sensors=("pir-hall",))
        acked_before = set(acks_logged(d.logs()))
        d.config = quiet
        d.start()
        await d.wait_ready()
        ready = time.time()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not self._all_delivered(acked_before):
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        await d.stop()
        logs = d.logs()
        self.fig.unexpected_exits = d.unexpected_exits()
        self.fig.stalls += d.stalls()
        self.fig.warnings_lost = sum(1 for ln in logs if ln.level == "WARNING" and "uplink to" in ln.text
                                     and "lost or refused" in ln.text)
        self.fig.reconnected_lines = sum(1 for ln in logs if "uplink reconnected" in ln.text)
        downtime = self._downtime() + [(stopped, ready)]
        self.fig.log = d.log_text()
        try:
            self.fig.report = check(received=self.centre.messages, db=self.db, logs=logs, hooks=self.hooks,
                                    timing=self.timing, kills=self.kill_times, downtime=downtime)
        except Exception as exc:  # noqa: BLE001 - a long soak must still print what it measured
            self.fig.retained_wrong.append(f"the checker could not read the run: {exc!r}")
        self.fig.log = d.log_text()

    def _all_delivered(self, acked_before: set[str]) -> bool:
        """Every alarm the centre has seen was acknowledged (the gateway logged the ack) and
        every suspected fall it has seen ended. Judged from outside: the running daemon
        holds its database exclusively, and a reader there would only stall its writer."""
        run = self.daemon.current
        acked = set(acked_before)
        if run is not None:
            acked |= set(acks_logged(parse_log(run.proc.output())))
        bodies = [m.body for m in self.centre.messages if m.leaf in ("alarm", "event")
                  and isinstance(m.body, dict) and "id" in m.body]
        resolved = {b.get("ref") for b in bodies if b.get("type") in ("fall", "alarm_cancelled")}
        return all(b["id"] in acked for b in bodies if b.get("class") == "alarm") and all(
            b["id"] in resolved for b in bodies if b.get("type") == "fall_suspected")

    def _downtime(self) -> list[tuple[float, float]]:
        runs = self.daemon.runs
        out = []
        for a, b in pairwise(runs):
            if a.ended is not None:
                out.append((a.ended - 0.5, (b.ready or b.started) + 0.5))
        return out
