"""Wall-clock jumps (an NTP step, a Pi booting without a real-time clock): forward and
back by hours, some inside a cancel window. Every suspected fall must still end in its
alarm or cancel within the window (real time, plus slack), and no alarm is lost or
numbered twice. The daemon's clock is moved with libfaketime; monotonic time is not."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.faults import clock
from tests.faults.conftest import replay_hint
from tests.faults.runner import FaultRun

JUMPS = 4
RESOLVE_SLACK = 6.0


@pytest.mark.skipif(not clock.available(), reason="libfaketime not installed (apt install faketime)")
async def test_wall_clock_jumps_neither_hold_nor_lose_an_alarm(fault_seed: int, tmp_path: Path) -> None:
    fake = clock.FakeClock(tmp_path / "faketime")
    run = FaultRun(tmp_path, fault_seed)
    late: list[str] = []
    jumped: list[str] = []

    async def steps(r: FaultRun) -> None:
        c = r.centre
        for i in range(JUMPS):
            if r.rng.random() < 0.6:       # inside a cancel window
                n = len([b for b in c.bodies("event") if b.get("type") == "fall_suspected"])
                await c.wait_until(lambda: len([b for b in c.bodies("event")
                                                if b.get("type") == "fall_suspected"]) > n,
                                   r.script.period + 10)
                await asyncio.sleep(r.rng.uniform(0.0, r.timing.cancel_window / 2))
            step = r.rng.choice([2 * 3600.0, -2 * 3600.0, 86400.0, -600.0])
            fake.set(fake.offset + step)
            jumped.append(f"{step:+.0f} s")
            since = time.time()
            # the jump took effect: something the daemon stamps (heartbeat or event) shows it
            seen = await c.wait_until(lambda: any(
                m.at > since and isinstance(m.body, dict) and abs(_stamp(m.body) - (m.at + fake.offset)) < 120
                for m in c.messages[-20:] if _stamp(m.body) is not None), 15)
            assert seen, f"the daemon's clock did not move by {step:+.0f} s"
            await asyncio.sleep(r.rng.uniform(3.0, 6.0))
        fake.set(0.0)
        await asyncio.sleep(2.0)
        # every suspected fall was resolved (fall or cancel) within the window + slack, real time
        events = [m for m in c.messages if isinstance(m.body, dict) and "type" in m.body]
        for m in events:
            if m.body["type"] != "fall_suspected":
                continue
            ends = [e.at for e in events if e.body.get("ref") == m.body["id"]
                    and e.body["type"] in ("fall", "alarm_cancelled")]
            bound = r.timing.cancel_window + RESOLVE_SLACK
            if ends and min(ends) - m.at > bound:
                late.append(f"fall_suspected seq {m.body['seq']} resolved {min(ends) - m.at:.0f} s "
                            f"after it was published (bound {bound:.0f} s)")

    fig = await run.run_with(steps, env=fake.env())
    print(f"jumps: {jumped}\n{fig.summary()}")
    bad = late + fig.report.alarms_lost + fig.report.falls_unresolved + fig.report.seq_reused
    bad += [f"daemon exited {c} on its own" for c in fig.unexpected_exits] + fig.stalls
    assert not bad, (f"{replay_hint(fault_seed, 'test_clock_jumps.py')}; jumps {jumped}\n"
                     + "\n".join(bad[:20]) + "\n" + fig.log[-3000:])


def _stamp(body: object) -> float | None:
    from gateway.events import parse_iso
    if not isinstance(body, dict):
        return None
    s = body.get("detected_at") or body.get("at")
    try:
        return parse_iso(s) if isinstance(s, str) else None
    except ValueError:
        return None
