"""Wrist fall detection on people and devices it has never seen: the headline figures.

    nice -n 15 python benchmarks/wrist_crossval.py [--cache /tmp/episodes] [--json OUT]
    nice -n 15 python benchmarks/wrist_crossval.py --placement waist   # SisFall, UMAFall waist

Three wrist data sets: SisFall (a belt sensor, used as a check of the wrist settings on a
third lab and on elderly people's activities), UMAFall wrist and FallAllD wrist.
- leave one data set out: choose the wrist rule on two, measure on the third;
- leave one subject out: choose on every other subject (all three sets), measure on one.
Choosing sweeps a grid of rules on the episode table (gateway/evaluation/episodes.py);
measuring runs the chosen setting through the gateway's own pipeline (gateway/evaluation/
runner.py), so every printed figure is held out and is what the product does. The shipped
defaults are measured too, for comparison (they were chosen on SisFall and UMAFall, so
on those two they are not held out).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import _util
import numpy as np

from detectors.wearable_fall import WearableFallSettings
from gateway.commands.evaluate import _factory
from gateway.evaluation import (
    crossval,
    episodes,
    fallalld,
    metrics,
    runner,
    sisfall,
    umafall,
)
from gateway.evaluation.recording import Recording

DATA = _util.REPO.parent / "shared" / "data"
SETS = ("sisfall", "umafall", "fallalld")
PLACEMENT = "wrist"


def recordings(name: str) -> Iterator[Recording]:
    if name == "sisfall":
        for i, p in enumerate(sisfall.files(DATA / "sisfall-dev")):
            yield replace(sisfall.load(p, i), placement=PLACEMENT)
    elif name == "umafall":
        for i, p in enumerate(umafall.files(DATA / "umafall-dev")):
            try:
                yield umafall.load(p, PLACEMENT, i)
            except umafall.MissingPosition:
                continue
    else:
        for i, p in enumerate(fallalld.files(DATA / "fallalld-wrist-dev")):
            yield fallalld.load(p, i)


def table(name: str, cache: Path | None) -> list[episodes.Episodes]:
    path = cache / f"episodes_{PLACEMENT}_{name}.pkl" if cache else None
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    t0 = time.monotonic()
    tab = [episodes.collect(r, PLACEMENT) for r in recordings(name)]
    print(f"  episodes of {name}: {len(tab)} recordings, {sum(len(e.features) for e in tab)} "
          f"episodes ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(tab))
    return tab


def settings_of(rule: dict[str, float]) -> WearableFallSettings:
    return WearableFallSettings(**{PLACEMENT: rule})


def measure(recs: list[Recording], rule_of: Any) -> list[runner.Outcome]:
    """Run each recording through the pipeline with the rule chosen without it."""
    outs = []
    makers: dict[str, Any] = {}
    for r in recs:
        rule = rule_of(r)
        key = json.dumps(rule, sort_keys=True)
        if key not in makers:
            makers[key] = _factory(settings_of(rule))
        outs += runner.evaluate([r], makers[key], 0.25)
    return outs


def line(name: str, outs: list[runner.Outcome]) -> dict[str, Any]:
    s = metrics.summary(outs)
    eld = [o for o in outs if not o.rec.is_fall and o.rec.group == "elderly"]
    acts = metrics.by_key([o for o in outs if not o.rec.is_fall], "activity")
    fall_acts = metrics.by_key([o for o in outs if o.rec.is_fall], "activity")
    return {"set": name, "per_adl_false_alarms": {a: [v["false_positives"], v["adls"]]
                                                  for a, v in acts.items()},
            "per_fall_detected": {a: [v["detected"], v["falls"]] for a, v in fall_acts.items()},
            "falls": s["falls"], "detected": s["detected"],
            "seen": sum(o.seen for o in outs if o.rec.is_fall), "adls": s["adls"],
            "false_alarms": s["false_positives"], "sensitivity": s["sensitivity"],
            "specificity": s["specificity"],
            "elderly_adls": len(eld), "elderly_false_alarms": sum(o.false_alarm for o in eld),
            "delay_s": s["delay_s"]}


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def show(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print("| test set | sensitivity | specificity | elderly ADL false alarms | falls suspected "
          "(incl. cancelled by a get-up) | falls | ADLs |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        eld = (f"{r['elderly_false_alarms']}/{r['elderly_adls']} "
               f"({pct(r['elderly_false_alarms'] / r['elderly_adls'])})" if r["elderly_adls"]
               else "-")
        print(f"| {r['set']} | {pct(r['sensitivity'])} ({r['detected']}/{r['falls']}) | "
              f"{pct(r['specificity'])} ({r['adls'] - r['false_alarms']}/{r['adls']}) | {eld} | "
              f"{pct(r['seen'] / r['falls'] if r['falls'] else None)} | "
              f"{r['falls']} | {r['adls']} |", flush=True)


def roc(flat: crossval.Table, rules: list[dict[str, float]], lodo: dict[str, Any]
        ) -> dict[str, Any]:
    """Per held-out set: sensitivity and specificity on the episode table as the main
    threshold of the rule chosen without that set is swept (the chosen one marked)."""
    out: dict[str, Any] = {}
    ds = np.array([r.dataset for r in flat.recs])
    fall = np.array([r.is_fall for r in flat.recs])
    for name, rule in lodo.items():
        pts = []
        for th in np.arange(1.0, 9.01, 0.5):
            c = flat.correct({**rule, "score_threshold": float(th)})
            m = ds == name
            pts.append({"threshold": float(th), "sensitivity": float(c[m & fall].mean()),
                        "specificity": float(c[m & ~fall].mean())})
        out[name] = {"chosen_threshold": rule["score_threshold"], "points": pts}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=None, help="keep episode tables here")
    ap.add_argument("--json", type=Path, default=None, help="write all figures here")
    ap.add_argument("--skip-defaults", action="store_true")
    ap.add_argument("--placement", choices=("wrist", "waist"), default="wrist")
    args = ap.parse_args()
    global SETS, PLACEMENT
    PLACEMENT = args.placement
    if PLACEMENT == "waist":
        SETS = ("sisfall", "umafall")
    tabs = {n: table(n, args.cache) for n in SETS}
    flat = crossval.Table.of([e for n in SETS for e in tabs[n]])
    rules = crossval.rule_grid(getattr(WearableFallSettings(), PLACEMENT))
    lodo = crossval.held_out_choices(flat, rules, "dataset")
    loso = crossval.held_out_choices(flat, rules, "subject")
    report: dict[str, Any] = {"grid_size": len(rules), "lodo_chosen": lodo,
                              "loso_chosen": loso}
    print(f"{PLACEMENT}: grid of {len(rules)} rules; chosen per held-out data set:")
    for k, v in lodo.items():
        print(f"  without {k}: " + ", ".join(f"{a}={v[a]:g}" for a in crossval.RULE_KEYS))
    recs = {n: list(recordings(n)) for n in SETS}
    rows = []
    all_outs: list[runner.Outcome] = []
    for n in SETS:
        outs = measure(recs[n], lambda r, n=n: lodo[n])
        all_outs += outs
        rows.append(line(n, outs))
    rows.append(line("all three", all_outs))
    report["lodo"] = rows
    show(f"Leave one data set out ({PLACEMENT} rule chosen on the other two; pipeline)", rows)
    rows = []
    all_outs = []
    for n in SETS:
        outs = measure(recs[n], lambda r: loso[f"{r.dataset}:{r.subject}"])
        all_outs += outs
        rows.append(line(n, outs))
    rows.append(line("all three", all_outs))
    report["loso"] = rows
    show("Leave one subject out (chosen on every other subject of all sets; pipeline)",
         rows)
    if not args.skip_defaults:
        rows = []
        base = getattr(WearableFallSettings(), PLACEMENT).model_dump()
        for n in SETS:
            rows.append(line(n, measure(recs[n], lambda r: base)))
        report["defaults"] = rows
        show(f"Shipped {PLACEMENT} defaults (chosen on all sets: in-sample, for reference only)",
             rows)
    report["roc"] = roc(flat, rules, lodo)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
