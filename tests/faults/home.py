"""The home the fault suite runs: a seeded script of falls, cancels and SOS presses,
written as a real trace and played in a loop by the real `simulated` driver.

Readings that are findings already (a radar module's fall flag, button presses) keep
the home cheap on a loaded machine while still exercising the whole path: detector,
cancel window, store, outbox, uplink. The same seed gives the same script.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass
from pathlib import Path

from sensordata.readings import Button, FallFlag, Motion
from sensordata.trace.writer import TraceWriter

GATEWAY_ID = "gw-fault-01"
T0 = 1_790_000_000.0
ALL_SENSORS = ("pir-hall", "pendant", "radar-bath")  # any start: the driver restamps the first reading as "now"


@dataclass(frozen=True)
class Timing:
    """The alarm settings of the home under test (short, so a bounded run sees many cycles)."""

    cancel_window: float = 4.0
    ack_timeout: float = 3.0
    max_attempts: int = 3

    @property
    def escalation_bound(self) -> float:
        """The issue's bound: the hook runs at most max_attempts x ack_timeout + 2 s after
        the alarm was created, reachable broker or not."""
        return self.max_attempts * self.ack_timeout + 2.0


@dataclass(frozen=True)
class Script:
    path: Path
    period: float           # the trace loops every `period` seconds
    falls: int              # per period
    cancels: int            # falls cancelled inside their window, per period
    sos: int                # SOS presses per period


def write_script(path: Path, rng: random.Random, timing: Timing, period: float = 24.0,
                 cancel_share: float = 0.35) -> Script:
    """A looped script: motion in the hall every 3 s, two or three suspected falls (about
    a third cancelled by the pendant inside the window), and SOS presses, some in bursts
    of three within 0.3 s (many commits close together: where a kill lands mid-commit)."""
    readings: list[object] = []
    t = 0.5
    while t < period:
        readings.append(Motion("pir-hall", T0 + t, True))
        t += 3.0
    falls = cancels = sos = 0
    for slot in range(int(period // 8)):    # one fall per 8 s slot: windows never overlap
        f = slot * 8.0 + rng.uniform(0.5, 2.5)
        readings += [FallFlag("radar-bath", T0 + f, True), FallFlag("radar-bath", T0 + f + 1.5, False)]
        falls += 1
        if rng.random() < cancel_share:
            readings.append(Button("pendant", T0 + f + rng.uniform(0.5, timing.cancel_window - 1.0),
                                   "cancel"))
            cancels += 1
    for _ in range(rng.randint(2, 4)):
        s = rng.uniform(1.0, period - 1.0)
        burst = 3 if rng.random() < 0.4 else 1
        for k in range(burst):
            readings.append(Button("pendant", T0 + s + 0.1 * k, "sos"))
            sos += 1
    readings.sort(key=lambda r: r.t)  # type: ignore[attr-defined]
    with TraceWriter(path) as w:
        for r in readings:
            w.write(r)  # type: ignore[arg-type]
    return Script(path, period, falls, cancels, sos)


def write_fault_home(tmp: Path, broker_url: str, script: Script, timing: Timing, *,
                     hook_log: Path, db: Path, name: str = GATEWAY_ID,
                     sensors: tuple[str, ...] = ALL_SENSORS, mqtt_extra: str = "") -> Path:
    """The home's config, written to `tmp/NAME.toml`. Fewer `sensors` make the same home
    after a sensor was unplugged or reconfigured (e.g. without the radar that saw a fall)."""
    rooms = {"pir-hall": "hall", "pendant": "hall", "radar-bath": "bathroom"}
    entries = "".join(textwrap.dedent(f"""\
        [[sensors]]
        id = "{sid}"
        type = "simulated"
        room = "{room}"
        timeout = {timeout}
        [sensors.settings]
        trace = "{script.path}"
        loop = true
        """) for sid, room, timeout in [(s, rooms[s], 600) for s in sensors])
    home = textwrap.dedent(f"""\
        gateway_id = "{GATEWAY_ID}"
        site_id = "site-fault"
        [[rooms]]
        id = "hall"
        [[rooms]]
        id = "bathroom"
        """) + entries
    hook = f'["sh", "-c", "echo $SAFEHOME_ALARM_ID $(date +%s.%N) >> {hook_log}"]'
    # The product's reconnect defaults (1 s .. 30 s), not the fast ones other daemon tests
    # use: a backoff that never resets only shows with the real ceiling.
    cfg = tmp / f"{name}.toml"
    cfg.write_text(home + textwrap.dedent(f"""\
        [mqtt]
        url = "{broker_url}"
        heartbeat_interval = 10
        {mqtt_extra}
        [storage]
        path = "{db}"
        batch_ms = 20

        [alarm]
        cancel_window = {timing.cancel_window}
        ack_timeout = {timing.ack_timeout}
        max_attempts = {timing.max_attempts}
        unacknowledged_hook = {hook}
        """))
    return cfg
