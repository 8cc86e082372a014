"""Resident memory and CPU of the idle daemon running the demo home (`safehome run`), and
where the memory goes.

Budget (issue 25): RSS <= 60 MB after 75 s, CPU <= 0.5 % of a core once warmed up.

    python benchmarks/rss.py [--seconds 75] [--no-breakdown]

1. The daemon as installed (`python -m gateway.cli run`, demo home, a real mosquitto):
   RSS at the end, its peak, and CPU in the steady state (after `--warmup` seconds, so
   start-up is not averaged in) as a percentage of one core.
2. The breakdown: a child process with `-X importtime` and tracemalloc from the first
   import; prints the modules it loaded per
   top-level package, import time per package and the Python memory allocated per package
   (tracemalloc, by the file that allocated it), for the imports and the daemon built but
   not started (imports are most of an idle daemon). RSS beyond the traced Python memory is
   the interpreter, shared libraries (numpy's, OpenSSL's, sqlite's) and allocator slack.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401
from _util import REPO

TICK = os.sysconf("SC_CLK_TCK")

# The breakdown child: the daemon in-process, tracemalloc on since interpreter start-up.
CHILD = r"""
import json, sys, tracemalloc
from pathlib import Path
import gateway.cli
gateway.cli.build_parser()                      # what `safehome run` imports first
import tempfile
from gateway.config import StorageConfig, load_config
from gateway.daemon import Daemon
cfg = load_config(sys.argv[1])
cfg = cfg.model_copy(update={"storage": StorageConfig.model_validate(
    {**cfg.storage.model_dump(), "path": Path(tempfile.mkdtemp()) / "e.db"})})
daemon = Daemon(cfg)                            # its drivers, pipeline and detectors, not started
snap = tracemalloc.take_snapshot()
per = {}
for stat in snap.statistics("traceback"):
    # the innermost frame outside the import machinery: a module's code objects and
    # globals count for the package being imported
    frames = [f.filename for f in stat.traceback if not f.filename.startswith("<")] or ["<unknown>"]
    f = frames[0]
    here = str(Path.cwd()) + "/"
    if "site-packages/" in f:
        top = f.split("site-packages/")[-1].split("/")[0].removesuffix(".py")
    elif f.startswith(here):                    # this repository: gateway, detectors, ...
        top = f[len(here):].split("/")[0].removesuffix(".py")
    else:
        top = "(stdlib)" if f.startswith("/") else "(no file)"
    per[top] = per.get(top, 0) + stat.size
mods = {}
for m in list(sys.modules):
    mods[m.split(".")[0]] = mods.get(m.split(".")[0], 0) + 1
print(json.dumps({"traced": tracemalloc.get_traced_memory()[0], "per": per, "mods": mods,
                  "nmods": len(sys.modules)}))
"""


def proc_stat(pid: int) -> tuple[int, float]:
    """(RSS in kB, CPU seconds used so far) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / TICK


def daemon_cmd(broker_url: str, db: Path) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "run", "--config",
            str(REPO / "examples" / "demo-home.toml"), "--broker", broker_url,
            "--db", str(db), "--log-level", "WARNING"]


def measure(seconds: float, warmup: float) -> None:
    from tests.support.broker import Mosquitto

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        proc = subprocess.Popen(daemon_cmd(broker.url, Path(tmp) / "e.db"), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            samples = []
            t0 = time.monotonic()
            warm: tuple[float, float] | None = None
            while time.monotonic() - t0 < seconds:
                time.sleep(1)
                rss, cpu = proc_stat(proc.pid)
                samples.append(rss)
                if warm is None and time.monotonic() - t0 >= warmup:
                    warm = (time.monotonic(), cpu)
            _, cpu_end = proc_stat(proc.pid)
            t_end = time.monotonic()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
            broker.stop()
    assert warm is not None
    steady = 100.0 * (cpu_end - warm[1]) / (t_end - warm[0])
    print(f"daemon RSS idle with the demo home: {samples[-1] / 1024:.1f} MiB after {seconds:.0f} s "
          f"(peak {max(samples) / 1024:.1f} MiB; budget 60 MB)")
    print(f"daemon CPU: {steady:.2f} % of a core from {warmup:.0f} s to {seconds:.0f} s "
          f"({cpu_end:.2f} s in all, start-up included; budget 0.5 %)")


def breakdown() -> None:
    env = {**os.environ, "PYTHONTRACEMALLOC": "8"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", CHILD,
                           str(REPO / "examples" / "demo-home.toml")],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(1)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    imp: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, _, name = line.split("|")
        top = name.strip().split(".")[0]
        imp[top] = imp.get(top, 0) + int(self_us.split(":")[-1])
    print(f"breakdown (imports and the daemon built, not started; tracemalloc): {r['nmods']} modules, "
          f"{r['traced'] / 2**20:.1f} MiB of Python allocations")
    print("  package            modules  import ms  allocated MiB")
    tops = sorted(set(r["mods"]) | set(r["per"]), key=lambda k: -r["per"].get(k, 0))
    shown = [k for k in tops if r["per"].get(k, 0) > 100_000 or imp.get(k, 0) > 20_000][:18]
    for k in shown:
        print(f"  {k:<18} {r['mods'].get(k, 0):>7}  {imp.get(k, 0) / 1000:>9.0f}  {r['per'].get(k, 0) / 2**20:>13.2f}")
    print(f"  import time in all: {sum(imp.values()) / 1000:.0f} ms (with tracemalloc on)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=75)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--no-breakdown", action="store_true")
    args = ap.parse_args()
    measure(args.seconds, args.warmup)
    if not args.no_breakdown:
        breakdown()
