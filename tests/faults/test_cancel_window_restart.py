"""Issue 9 defect 1: a SIGKILL inside the cancel window must not lose the fall alarm,
even when the gateway comes back without the sensor that saw the fall."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from tests.faults.centre import AckingCentre
from tests.faults.conftest import replay_hint
from tests.faults.daemon import SupervisedDaemon
from tests.faults.home import GATEWAY_ID, Timing, write_fault_home, write_script
from tests.support.broker import Mosquitto

TIMING = Timing(cancel_window=8.0)


async def test_a_window_open_at_a_crash_ends_in_the_fall_alarm_after_restart_without_the_radar(
        fault_seed: int, tmp_path: Path) -> None:
    rng = random.Random(fault_seed)
    script = write_script(tmp_path / "home.mcap", rng, TIMING)
    broker = Mosquitto(tmp_path / "broker").start()
    hooks, db = tmp_path / "hooks.log", tmp_path / f"{GATEWAY_ID}.db"
    home = write_fault_home(tmp_path, broker.url, script, TIMING, hook_log=hooks, db=db)
    unplugged = write_fault_home(tmp_path, broker.url, script, TIMING, hook_log=hooks, db=db,
                                 name="unplugged", sensors=("pir-hall",))
    try:
        async with AckingCentre(broker.host, broker.port) as centre, SupervisedDaemon(home) as daemon:
            daemon.start()
            await daemon.wait_ready()
            assert await centre.wait_until(
                lambda: any(b.get("type") == "fall_suspected" for b in centre.bodies("event")),
                script.period + 15), daemon.log_text()[-3000:]
            suspected = next(b for b in centre.bodies("event") if b.get("type") == "fall_suspected")
            await asyncio.sleep(rng.uniform(0.0, TIMING.cancel_window / 2))
            resolved_before = [b for b in centre.bodies("alarm") + centre.bodies("event")
                               if b.get("ref") == suspected["id"]]
            daemon.kill()
            killed = time.monotonic()
            daemon.config = unplugged
            daemon.start()
            await daemon.wait_ready()

            def resolution() -> list[dict]:
                return [b for b in centre.bodies("alarm") + centre.bodies("event")
                        if b.get("ref") == suspected["id"] and b.get("type") in ("fall", "alarm_cancelled")]
            bound = TIMING.cancel_window + 15.0   # the window, a restart on a loaded machine, slack
            ok = await centre.wait_until(lambda: bool(resolution()), bound)
            took = time.monotonic() - killed
            await daemon.stop()
    finally:
        broker.stop()
    assert ok, (f"{replay_hint(fault_seed, 'test_cancel_window_restart.py')}: the suspected fall "
                f"{suspected['id']} (seq {suspected['seq']}) opened a window, the daemon was killed "
                f"inside it (resolved before the kill: {bool(resolved_before)}), and nothing ended it "
                f"within {bound:.0f} s of the restart\n{daemon.log_text()[-3000:]}")
    print(f"window resolved by {resolution()[0]['type']} {took:.1f} s after the SIGKILL")
