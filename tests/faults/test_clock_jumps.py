"""Wall-clock jumps (an NTP step, a Pi booting without a real-time clock): forward by
hours or a day, at a random moment or inside a cancel window, then back by an hour
inside a cancel window (the home presses no cancel button: only time closes a window).
Every suspected fall must still end in its alarm or cancel within the window (in real
time, plus slack), and no alarm is lost or numbered twice.

The daemon's wall clock is moved with libfaketime (tests/faults/clock.py); monotonic
time is not, as with a real clock step. (The `simulated` driver paces its script on the
wall clock, so after the backward step the home's sensors pause; the open window must
close anyway: that needs only the daemon's tick.)
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.faults import clock
from tests.faults.conftest import replay_hint
from tests.faults.home import GATEWAY_ID
from tests.faults.runner import FaultRun

RESOLVE_SLACK = 6.0


@pytest.mark.skipif(not clock.available(), reason="libfaketime not installed (apt install faketime)")
async def test_wall_clock_jumps_neither_hold_nor_lose_an_alarm(fault_seed: int, tmp_path: Path) -> None:
    fake = clock.FakeClock(tmp_path / "faketime")
    # No pendant: no cancel and no SOS press scheduled before the step can close a window;
    # only the clock (the daemon's tick) can.
    run = FaultRun(tmp_path, fault_seed, cancel_share=0.0, sensors=("pir-hall", "radar-bath"))
    late: list[str] = []
    jumped: list[str] = []

    async def jump(r: FaultRun, step: float) -> None:
        fake.set(fake.offset + step)
        jumped.append(f"{step:+.0f} s")
        # the step took effect: a status answer carries the daemon's clock
        c = r.centre
        for k in range(20):
            cid = f"clock-{len(jumped)}-{k}"
            await c.publish(f"safehome/v1/{GATEWAY_ID}/cmd/status", {"id": cid})
            await c.wait_until(lambda cid=cid: any(b.get("id") == cid for b in c.bodies("result")), 5)
            ans = [b for b in c.bodies("result") if b.get("id") == cid]
            if ans and abs(_at(ans[0]) - (time.time() + fake.offset)) < 30:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"the daemon's clock did not move by {step:+.0f} s")

    def resolved(r: FaultRun, suspected: dict) -> bool:
        c = r.centre
        return any(b.get("ref") == suspected["id"] and b.get("type") in ("fall", "alarm_cancelled")
                   for b in c.bodies("alarm") + c.bodies("event"))

    async def window(r: FaultRun) -> tuple[dict, float]:
        """A suspected fall whose window is still open now, a random moment into it."""
        c = r.centre
        for _ in range(4):
            n = len([b for b in c.bodies("event") if b.get("type") == "fall_suspected"])
            assert await c.wait_until(lambda n=n: len([b for b in c.bodies("event")
                                                       if b.get("type") == "fall_suspected"]) > n,
                                      r.script.period + 10), "no suspected fall to jump inside"
            suspected = [b for b in c.bodies("event") if b.get("type") == "fall_suspected"][-1]
            seen = time.time()
            # early in the window: the step itself takes up to ~1 s to reach the daemon
            await asyncio.sleep(r.rng.uniform(0.0, 0.5))
            if not resolved(r, suspected):
                return suspected, seen
        raise AssertionError("every suspected fall was closed before the clock could step inside it")

    async def resolved_in_time(r: FaultRun, suspected: dict, seen_at: float) -> None:
        c = r.centre
        bound = r.timing.cancel_window + RESOLVE_SLACK
        ok = await c.wait_until(lambda: resolved(r, suspected), max(0.0, seen_at + bound - time.time()))
        if not ok:
            late.append(f"fall_suspected seq {suspected['seq']} still open {bound:.0f} s after it was "
                        f"published (clock steps so far: {jumped})")

    async def steps(r: FaultRun) -> None:
        for _ in range(1):                     # forward: at any moment, or inside a window
            if r.rng.random() < 0.5:
                s, seen = await window(r)
                await jump(r, r.rng.choice([2 * 3600.0, 86400.0]))
                await resolved_in_time(r, s, seen)
            else:
                await jump(r, r.rng.choice([2 * 3600.0, 86400.0]))
            await asyncio.sleep(r.rng.uniform(1.0, 3.0))
        s, seen = await window(r)              # back by an hour inside a window
        await jump(r, -3600.0)
        await resolved_in_time(r, s, seen)

    fig = await run.run_with(steps, env=fake.env())
    print(f"clock steps: {jumped}\n{fig.summary()}")
    # (ack/re-send and escalation timing compare the daemon's log clock with the real one,
    # so under a fake clock only the clock-free invariants are checked)
    bad = late + fig.report.alarms_lost + fig.report.falls_unresolved + fig.report.seq_reused
    bad += [f"daemon exited {c} on its own" for c in fig.unexpected_exits] + fig.stalls
    assert not bad, (f"{replay_hint(fault_seed, 'test_clock_jumps.py')}; clock steps {jumped}\n"
                     + "\n".join(bad[:20]) + "\n" + fig.log[-3000:])


def _at(body: dict) -> float:
    from gateway.events import parse_iso
    return parse_iso(body["result"]["at"])
