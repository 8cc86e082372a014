"""Resident memory of the idle daemon running the demo home (`safehome run`), after warm-up."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401
from _util import REPO


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main(seconds: float) -> None:
    from tests.broker import Mosquitto

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config",
                                 str(REPO / "examples" / "demo-home.toml"), "--broker", broker.url,
                                 "--db", str(Path(tmp) / "e.db"), "--log-level", "WARNING"],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            samples = []
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                time.sleep(1)
                samples.append(rss_kb(proc.pid))
            cpu = sum(map(int, Path(f"/proc/{proc.pid}/stat").read_text().split()[13:15])) / os.sysconf("SC_CLK_TCK")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
            broker.stop()
    print(f"daemon RSS idle with the demo home: {samples[-1] / 1024:.1f} MiB after {seconds:.0f} s "
          f"(peak {max(samples) / 1024:.1f} MiB); CPU {cpu:.2f} s in {seconds:.0f} s incl. start-up")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20)
    main(ap.parse_args().seconds)
