"""Resident memory and CPU of the idle daemon running the demo home (`safehome run`), and
where the memory goes.

Budget (issue 25): RSS <= 60 MB after 75 s, CPU <= 0.5 % of a core once warmed up.

    python benchmarks/rss.py [--seconds 75] [--runs 3] [--no-breakdown] [--config HOME.toml]
                             [--no-unit-env] [--json-out AFTER.json] [--compare BEFORE.json]

1. The daemon as installed (`python -m gateway.cli run`, examples/demo-home.toml, a real
   mosquitto, the shipped systemd unit's `Environment=`: PYTHONOPTIMIZE=2 and the bytecode
   cached, warmed once as the first start after an install does; `--no-unit-env` runs it
   with this shell's environment instead; the simulated sensors' own process, the demo's
   stand-in for hardware, is reported apart), `--runs` times: RSS at the end, its peak, and CPU in the steady state (after
   `--warmup` seconds, so start-up is not averaged in) as a percentage of one core, and
   how often the event loop's thread was woken in that time (its voluntary context
   switches: each wake-up costs CPU however little work follows); then the best and the
   median of the runs. The same run also reads /proc/PID/smaps at the end:
   RSS per mapping, the Python heap (malloc and pymalloc arenas: anonymous memory) apart
   from each shared library, grouped by the package that ships it. Then the floor: a fresh
   interpreter's RSS with only the libraries the alarm path needs (and with aiohttp).
2. The breakdown: the same daemon, same command, in a child started with `-X importtime`
   and tracemalloc from the first import, for the same `--seconds` counted from when
   gateway.daemon is imported (traced imports are slow); it prints, per
   top-level package, the modules loaded, import time (self, summed) and the Python memory
   allocated (by the innermost frame outside the import machinery: a module's code objects
   count for the module that imported it), then the top allocation sites still alive at the
   end. Tracing slows the daemon and costs memory: its figures explain, the untraced runs
   of step 1 are the measure.
3. `--json-out` keeps the figures; `--compare` a file kept before a change prints the
   before/after table (RSS, CPU, modules, Python memory, mappings, packages), e.g.
   `git stash; python benchmarks/rss.py --json-out /tmp/before.json; git stash pop;
    python benchmarks/rss.py --compare /tmp/before.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _util  # noqa: F401
from _util import REPO

TICK = os.sysconf("SC_CLK_TCK")

# The breakdown child: `safehome run` in-process, tracemalloc on since interpreter start-up
# (PYTHONTRACEMALLOC), which after `after` seconds writes its figures to `out` and stops
# the daemon with SIGTERM, as systemd would.
CHILD = r"""
import json, os, signal, sys, threading, time, tracemalloc
from pathlib import Path
after, out = float(sys.argv[1]), sys.argv[2]
here = str(Path.cwd()) + "/"

def where(filename):
    if "site-packages/" in filename:
        return filename.split("site-packages/")[-1].split("/")[0].removesuffix(".py")
    if filename.startswith(here):            # this repository: gateway, detectors, ...
        return filename[len(here):].split("/")[0].removesuffix(".py")
    return "(stdlib)" if filename.startswith("/") else "(no file)"

def innermost(tb):
    # most recent frame first; skip the import machinery (<frozen importlib...>,
    # importlib.import_module): what is left is the module's own code, or for its code
    # objects (unmarshalled by the machinery) the module that imported it
    for f in reversed(tb):
        if not f.filename.startswith("<") and "/importlib/" not in f.filename:
            return f
    return tb[-1]

def dump():
    t0 = time.monotonic()
    while "gateway.daemon" not in sys.modules:  # traced imports are slow: count from here
        time.sleep(0.1)
    time.sleep(after)
    snap = tracemalloc.take_snapshot()
    per, sites = {}, {}
    for stat in snap.statistics("traceback"):
        f = innermost(stat.traceback)
        per[where(f.filename)] = per.get(where(f.filename), 0) + stat.size
        key = f"{f.filename.replace(here, '')}:{f.lineno}"
        sites[key] = sites.get(key, 0) + stat.size
    mods = {}
    for m in list(sys.modules):
        mods[m.split(".")[0]] = mods.get(m.split(".")[0], 0) + 1
    top = sorted(sites.items(), key=lambda kv: -kv[1])[:15]
    Path(out).write_text(json.dumps({
        "traced": tracemalloc.get_traced_memory()[0], "per": per, "mods": mods,
        "modules": sorted(sys.modules), "sites": top,
        "gateway_from": sys.modules["gateway"].__file__, "wall": time.monotonic() - t0}))
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=dump, daemon=True).start()
import gateway.cli
sys.exit(gateway.cli.main(sys.argv[3:]))
"""


def proc_stat(pid: int) -> tuple[int, float]:
    """(RSS in kB, CPU seconds used so far) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    """The process's children: the simulated sensors' process (simulator/feed.py)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def loop_sleeps(pid: int) -> int:
    """How often the main thread (the event loop's) has gone to sleep so far: its
    voluntary context switches, i.e. the loop's wake-ups (each costs CPU however little
    work follows)."""
    for line in Path(f"/proc/{pid}/task/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def mapping_group(path: str) -> str:
    """Who a mapping belongs to: the Python heap (anonymous: malloc, pymalloc arenas,
    numpy buffers, thread stacks), or the package that ships a shared library."""
    if not path or path.startswith("["):
        return "heap+anon" if path in ("", "[heap]") or path.startswith("[anon") else path
    if "site-packages/" in path:
        top = path.split("site-packages/")[-1].split("/")[0]
        return top.removesuffix(".libs").split("-")[0] + " (.so)"
    name = path.rsplit("/", 1)[-1]
    if name.startswith("libpython"):
        return "libpython"
    if "lib-dynload" in path:
        return "stdlib (.so)"
    return name.split(".so")[0]


def smaps(pid: int) -> dict[str, int]:
    """RSS in kB per mapping group (see mapping_group)."""
    per: dict[str, int] = {}
    group = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if head and "-" in head[0] and not head[0].endswith(":"):
            group = mapping_group(head[5] if len(head) > 5 else "")
        elif head and head[0] == "Rss:":
            per[group] = per.get(group, 0) + int(head[1])
    return per


CONFIG = REPO / "examples" / "demo-home.toml"   # --config
UNIT = REPO / "examples" / "systemd" / "safehome.service"
PYCACHE = REPO / "build" / "rss-pycache"         # stands for the unit's CacheDirectory
DAEMON_ENV: dict[str, str] = {}                 # set in main: the unit's, or none


def unit_env() -> dict[str, str]:
    """The daemon's environment as the shipped unit sets it (`Environment=`: no docstrings
    or asserts, bytecode cached in the CacheDirectory), the cache moved under build/."""
    env: dict[str, str] = {}
    for line in UNIT.read_text().splitlines():
        if line.startswith("Environment="):
            for item in line.removeprefix("Environment=").split():
                key, _, value = item.partition("=")
                env[key] = value.replace("/var/cache/safehome/pycache", str(PYCACHE))
    return env


def daemon_environ() -> dict[str, str]:
    env = {**os.environ, **DAEMON_ENV}
    if DAEMON_ENV:
        env.pop("PYTHONDONTWRITEBYTECODE", None)   # systemd's environment has none
    return env


def warm_bytecode_cache() -> None:
    """What the first start after an install does once: compile the daemon's modules into
    the cache, so the measured runs start as every later start does."""
    subprocess.run([sys.executable, "-c", "import gateway.cli, gateway.commands.run, "
                    "gateway.daemon, gateway.console.attach, simulator.live, simulator.feed_client, "
                    "simulator.feed, simulator.engine, sensordata.trace.reader"],
                   cwd=REPO, env=daemon_environ(), check=True)


def daemon_args(broker_url: str, db: Path) -> list[str]:
    return ["run", "--config", str(CONFIG), "--broker", broker_url,
            "--db", str(db), "--log-level", "WARNING"]


def daemon_cmd(broker_url: str, db: Path) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *daemon_args(broker_url, db)]


def measure_once(seconds: float, warmup: float) -> dict[str, Any]:
    from tests.support.broker import Mosquitto

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        proc = subprocess.Popen(daemon_cmd(broker.url, Path(tmp) / "e.db"), cwd=REPO, env=daemon_environ(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            samples = []
            t0 = time.monotonic()
            warm: tuple[float, float, int] | None = None
            kids_warm = 0.0
            while time.monotonic() - t0 < seconds:
                time.sleep(1)
                rss, cpu = proc_stat(proc.pid)
                samples.append(rss)
                if warm is None and time.monotonic() - t0 >= warmup:
                    warm = (time.monotonic(), cpu, loop_sleeps(proc.pid))
                    kids_warm = sum(proc_stat(c)[1] for c in children(proc.pid))
            rss_end, cpu_end = proc_stat(proc.pid)
            kids = [proc_stat(c) for c in children(proc.pid)]
            sleeps_end = loop_sleeps(proc.pid)
            t_end = time.monotonic()
            maps = smaps(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
            broker.stop()
    assert warm is not None
    return {"rss_mib": rss_end / 1024, "peak_mib": max(samples) / 1024,
            "cpu_pct": 100.0 * (cpu_end - warm[1]) / (t_end - warm[0]), "cpu_s": cpu_end,
            "wakeups_per_s": (sleeps_end - warm[2]) / (t_end - warm[0]),
            "maps_kb": maps,
            # the simulated sensors' process: the demo's stand-in for hardware, not the
            # daemon (a real home's readings are made outside it too), reported apart
            "feed_rss_mib": sum(k[0] for k in kids) / 1024,
            "feed_cpu_pct": 100.0 * (sum(k[1] for k in kids) - kids_warm) / (t_end - warm[0])}


def measure(seconds: float, warmup: float, runs: int) -> dict[str, Any]:
    got = []
    for i in range(runs):
        r = measure_once(seconds, warmup)
        got.append(r)
        print(f"run {i + 1}/{runs}: RSS {r['rss_mib']:.1f} MiB after {seconds:.0f} s "
              f"(peak {r['peak_mib']:.1f}); CPU {r['cpu_pct']:.2f} % of a core from "
              f"{warmup:.0f} s to {seconds:.0f} s ({r['cpu_s']:.2f} s in all), the loop's thread "
              f"woken {r['wakeups_per_s']:.1f} times a second; the simulated sensors' own "
              f"process (the demo's hardware, not the daemon): RSS {r['feed_rss_mib']:.1f} MiB, "
              f"CPU {r['feed_cpu_pct']:.2f} %", flush=True)
    rss = [r["rss_mib"] for r in got]
    cpu = [r["cpu_pct"] for r in got]
    res = {"seconds": seconds, "warmup": warmup, "runs": got,
           "rss_best": min(rss), "rss_median": statistics.median(rss),
           "cpu_best": min(cpu), "cpu_median": statistics.median(cpu),
           "wakeups_median": statistics.median(r["wakeups_per_s"] for r in got)}
    print(f"daemon RSS idle with {CONFIG.name} after {seconds:.0f} s: best {res['rss_best']:.1f} MiB, "
          f"median {res['rss_median']:.1f} MiB of {runs} (budget 60 MB = 57.2 MiB)")
    print(f"daemon CPU in the steady state: best {res['cpu_best']:.2f} %, median "
          f"{res['cpu_median']:.2f} % of a core (budget 0.5 %); the loop's thread woken "
          f"{res['wakeups_median']:.1f} times a second (median)")
    # the mappings of the median run (by RSS)
    med = sorted(got, key=lambda r: r["rss_mib"])[len(got) // 2]
    print("RSS by mapping at the end (median run; kB, /proc/PID/smaps):")
    for k, v in sorted(med["maps_kb"].items(), key=lambda kv: -kv[1])[:14]:
        print(f"  {k:<28} {v:>7}")
    res["maps_kb"] = med["maps_kb"]
    return res


# What the daemon cannot go below: the interpreter and the libraries the alarm path needs,
# imported in a fresh interpreter and nothing else (the console adds aiohttp).
FLOORS = {
    "python alone": "pass",
    "+ asyncio (and the ssl it loads)": "import asyncio",
    "+ numpy, pydantic, aiomqtt, aiosqlite": "import asyncio, numpy, pydantic, aiomqtt, aiosqlite",
    "+ aiohttp (the console)": "import asyncio, numpy, pydantic, aiomqtt, aiosqlite, aiohttp",
}


def floors() -> dict[str, float]:
    """RSS in MiB of a fresh interpreter after each of FLOORS' imports."""
    probe = ("import sys; exec(sys.argv[1]); from pathlib import Path; print(next(line.split()[1] "
             "for line in Path('/proc/self/status').read_text().splitlines() "
             "if line.startswith('VmRSS:')))")
    got = {}
    for label, code in FLOORS.items():
        out = subprocess.run([sys.executable, "-c", probe, code], capture_output=True, text=True,
                             check=True, cwd=REPO)
        got[label] = int(out.stdout.strip()) / 1024
        print(f"  {label:<40} {got[label]:>6.1f} MiB")
    return got


def breakdown(seconds: float) -> dict[str, Any]:
    from tests.support.broker import Mosquitto

    env = {**daemon_environ(), "PYTHONTRACEMALLOC": "40"}   # deep enough to see past the imports
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        out = Path(tmp) / "breakdown.json"
        try:
            proc = subprocess.run([sys.executable, "-X", "importtime", "-c", CHILD, str(seconds),
                                   str(out), *daemon_args(broker.url, Path(tmp) / "e.db")],
                                  cwd=REPO, capture_output=True, text=True, env=env,
                                  timeout=seconds + 300)
        finally:
            broker.stop()
        if not out.exists():
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(1)
        r = json.loads(out.read_text())
    imp: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, _, name = line.split("|")
        top = name.strip().split(".")[0]
        imp[top] = imp.get(top, 0) + int(self_us.split(":")[-1])
    r["imp"] = imp
    print(f"breakdown (the daemon running {seconds:.0f} s after its imports, "
          f"{r['wall']:.0f} s in all, traced; gateway from "
          f"{Path(r['gateway_from']).parent.parent}): {len(r['modules'])} modules, "
          f"{r['traced'] / 2**20:.1f} MiB of Python allocations alive")
    print("  package            modules  import ms  allocated MiB")
    tops = sorted(set(r["mods"]) | set(r["per"]), key=lambda k: -r["per"].get(k, 0))
    shown = [k for k in tops if r["per"].get(k, 0) > 100_000 or imp.get(k, 0) > 20_000][:20]
    for k in shown:
        print(f"  {k:<18} {r['mods'].get(k, 0):>7}  {imp.get(k, 0) / 1000:>9.0f}  "
              f"{r['per'].get(k, 0) / 2**20:>13.2f}")
    print(f"  import time in all: {sum(imp.values()) / 1000:.0f} ms (with tracemalloc on)")
    print("  top allocation sites alive at the end (innermost frame outside the import machinery):")
    for site, size in r["sites"]:
        print(f"    {size / 1024:>8.0f} KiB  {site}")
    return r


def compare(before: dict[str, Any], after: dict[str, Any]) -> None:
    print("\nbefore -> after")

    def row(label: str, a: float | None, b: float | None, fmt: str = "{:.1f}") -> None:
        fa = "-" if a is None else fmt.format(a)
        fb = "-" if b is None else fmt.format(b)
        d = "" if a is None or b is None else ("{:+" + fmt[2:]).format(b - a)
        print(f"  {label:<36} {fa:>9} {fb:>9} {d:>9}")

    m0, m1 = before.get("measure"), after.get("measure")
    if m0 and m1:
        row("RSS best (MiB)", m0["rss_best"], m1["rss_best"])
        row("RSS median (MiB)", m0["rss_median"], m1["rss_median"])
        row("CPU best (% of a core)", m0["cpu_best"], m1["cpu_best"], "{:.2f}")
        row("CPU median (% of a core)", m0["cpu_median"], m1["cpu_median"], "{:.2f}")
        if "wakeups_median" in m0 and "wakeups_median" in m1:
            row("loop wake-ups a second (median)", m0["wakeups_median"], m1["wakeups_median"])
        keys = sorted(set(m0["maps_kb"]) | set(m1["maps_kb"]),
                      key=lambda k: -max(m0["maps_kb"].get(k, 0), m1["maps_kb"].get(k, 0)))
        for k in keys[:12]:
            row(f"RSS {k} (MiB)", m0["maps_kb"].get(k, 0) / 1024, m1["maps_kb"].get(k, 0) / 1024)
    b0, b1 = before.get("breakdown"), after.get("breakdown")
    if b0 and b1:
        row("modules loaded", len(b0["modules"]), len(b1["modules"]), "{:.0f}")
        row("Python allocations alive (MiB)", b0["traced"] / 2**20, b1["traced"] / 2**20)
        keys = sorted(set(b0["per"]) | set(b1["per"]),
                      key=lambda k: -max(b0["per"].get(k, 0), b1["per"].get(k, 0)))
        for k in keys[:12]:
            row(f"{k} allocated (MiB)", b0["per"].get(k, 0) / 2**20, b1["per"].get(k, 0) / 2**20,
                "{:.2f}")
            if b0["mods"].get(k, 0) != b1["mods"].get(k, 0):
                row(f"{k}: modules", b0["mods"].get(k, 0), b1["mods"].get(k, 0), "{:.0f}")
        gone = sorted(set(b0["modules"]) - set(b1["modules"]))
        new = sorted(set(b1["modules"]) - set(b0["modules"]))
        print(f"  modules no longer loaded ({len(gone)}): {' '.join(gone) or '-'}")
        print(f"  modules newly loaded ({len(new)}): {' '.join(new) or '-'}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=75)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--runs", type=int, default=3, help="untraced runs; best and median are printed")
    ap.add_argument("--no-breakdown", action="store_true")
    ap.add_argument("--config", type=Path, default=CONFIG,
                    help="another home than the demo's (e.g. without its simulated sensors)")
    ap.add_argument("--no-unit-env", action="store_true",
                    help="run the daemon without the systemd unit's Environment= (docstrings kept, "
                         "bytecode as this shell has it)")
    ap.add_argument("--json-out", type=Path, help="keep the figures here (for a later --compare)")
    ap.add_argument("--compare", type=Path, help="figures kept by --json-out before a change")
    args = ap.parse_args()
    CONFIG = args.config.resolve()
    if not args.no_unit_env:
        DAEMON_ENV.update(unit_env())
        warm_bytecode_cache()
    print("the daemon's environment: " + (" ".join(f"{k}={v}" for k, v in DAEMON_ENV.items())
                                          or "this shell's (--no-unit-env)"))
    result: dict[str, Any] = {"measure": measure(args.seconds, args.warmup, args.runs)}
    print("the floor: RSS of a fresh interpreter with the libraries alone")
    result["floors"] = floors()
    if not args.no_breakdown:
        result["breakdown"] = breakdown(args.seconds)
    if args.json_out:
        args.json_out.write_text(json.dumps(result))
    if args.compare:
        compare(json.loads(args.compare.read_text()), result)
