"""Wrist fall detection on people and devices it has never seen: the headline figures.

    nice -n 15 python benchmarks/wrist_crossval.py [--cache /tmp/episodes] [--json OUT]
    nice -n 15 python benchmarks/wrist_crossval.py --placement waist   # SisFall, UMAFall waist

Four wrist data sets: SisFall (a belt sensor, used as a check of the wrist settings on a
third lab and on elderly people's activities), UMAFall wrist, FallAllD wrist and SmartFallMM
(a consumer smartwatch with its own bursty timing; 24 older wearers' everyday movements).
- leave one data set out: choose the wrist rule on two, measure on the third;
- leave one subject out: choose on every other subject (all sets), measure on one.
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

from detectors.wearable_fall import PLACEMENT_DEFAULTS, WearableFallSettings
from gateway.commands.evaluate import _factory
from gateway.evaluation import (
    crossval,
    episodes,
    fallalld,
    metrics,
    runner,
    sisfall,
    smartfallmm,
    umafall,
)
from gateway.evaluation.recording import Recording

DATA = _util.REPO.parent / "shared" / "data"
SETS = ("sisfall", "umafall", "fallalld", "smartfallmm")
PLACEMENT = "wrist"
CACHE_TAG = ""        # the variants' episode tables differ in values, not in shape


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
    elif name == "smartfallmm":
        skipped = smartfallmm.Skipped([], [])
        yield from smartfallmm.load_all(smartfallmm.files(DATA / "smartfallmm-wrist-dev"),
                                        skipped)
        print(f"  smartfallmm: left out {skipped}", file=sys.stderr, flush=True)
    else:
        for i, p in enumerate(fallalld.files(DATA / "fallalld-wrist-dev")):
            yield fallalld.load(p, i)


def table(name: str, cache: Path | None) -> list[episodes.Episodes]:
    path = cache / f"episodes_{PLACEMENT}{CACHE_TAG}_{name}.pkl" if cache else None
    if path is not None and path.is_file():
        cached: list[episodes.Episodes] = pickle.loads(path.read_bytes())
        # a cache written before the features changed has other columns: collect again
        if all(e.features.shape[1] == len(episodes.FEATURES) for e in cached):
            return cached
    t0 = time.monotonic()
    tab = [episodes.collect(r, PLACEMENT) for r in recordings(name)]
    print(f"  episodes of {name}: {len(tab)} recordings, {sum(len(e.features) for e in tab)} "
          f"episodes ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(tab))
    return tab


# The decision's timeline, step by step (docs/detection.md "Confirmation from what happens
# next"): each step adds one kind of evidence to the one before; all use the rule chosen
# without the recording's data set (or subject). `rule` may drop the arm-pattern gate;
# `evidence` sets the cancel-window rules (a get-up slower than any recording is "off").
NO_RHYTHM = {"max_similar_peaks": 100.0}
NO_GATE = {"max_pre_activity_g": 100.0, **NO_RHYTHM}
NO_WALK = {"walk_s": 0.0, "active_peaks": 0}
STEPS: tuple[tuple[str, dict[str, float], dict[str, float]], ...] = (
    ("impact + score rule, no evidence after", {**NO_GATE, **NO_WALK}, {"getup_s": 1e6}),
    ("+ arm's pattern before the impact", {**NO_RHYTHM, **NO_WALK}, {"getup_s": 1e6}),
    ("+ arm's rhythm around the impact (at most 2 similar peaks)", NO_WALK, {"getup_s": 1e6}),
    ("+ back upright (get-up, 1 s)", NO_WALK, {}),
    ("+ steps resumed (3 s of step rhythm)", {"walk_s": 3.0, "active_peaks": 0}, {}),
    ("+ the arm at work again (2 more peaks of the impact's size)",
     {"walk_s": 3.0, "active_peaks": 2}, {}),
)


def variants(getup_needs_pre_fall: bool) -> None:
    """Switch the measured-but-not-kept wrist setting on everywhere (tables, pipeline,
    grid): a get-up only against a recorded pre-fall orientation."""
    global CACHE_TAG
    if getup_needs_pre_fall:
        PLACEMENT_DEFAULTS["wrist"]["getup_needs_pre_fall"] = True
        CACHE_TAG += "_prefall"


def add_variants(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--getup-needs-pre-fall", action="store_true",
                    help="wrist get-up only against a recorded pre-fall orientation (measured, "
                         "not kept: docs/detection.md)")


def settings_of(rule: dict[str, float], evidence: dict[str, float] | None = None
                ) -> WearableFallSettings:
    return WearableFallSettings(**{PLACEMENT: rule, **(evidence or {})})


def measure(recs: list[Recording], rule_of: Any, evidence: dict[str, float] | None = None
            ) -> list[runner.Outcome]:
    """Run each recording through the pipeline with the rule chosen without it."""
    outs = []
    makers: dict[str, Any] = {}
    for r in recs:
        rule = rule_of(r)
        key = json.dumps(rule, sort_keys=True)
        if key not in makers:
            makers[key] = _factory(settings_of(rule, evidence))
        outs += runner.evaluate([r], makers[key], 0.25)
    return outs


def measure_steps(recs: list[Recording], rule_of: Any) -> list[list[runner.Outcome]]:
    """Outcomes of every step of STEPS. The first step is the most permissive (no gate, no
    cancel), so a recording without any `fall_suspected` there has none in any later step
    (a gate only removes suspicions; a cancel only lets the search resume after one): later
    steps re-run only the recordings the first one suspected, and share the rest."""
    first = measure(recs, lambda r: {**rule_of(r), **STEPS[0][1]}, STEPS[0][2])
    out = [first]
    again = [i for i, o in enumerate(first) if o.suspected]
    for _title, gate, evidence in STEPS[1:]:
        redo = measure([recs[i] for i in again], lambda r, g=gate: {**rule_of(r), **g}, evidence)
        outs = list(first)
        for i, o in zip(again, redo, strict=True):
            outs[i] = o
        out.append(outs)
    return out


def _timing(outs: list[runner.Outcome]) -> dict[str, Any]:
    """Delays from the impact (the alarm's occurred_at) over the detected falls: to the
    `fall_suspected` the centre sees, and to the `fall` alarm (the window closing)."""
    sus, alarm = [], []
    for o in outs:
        if o.rec.is_fall and o.detected and o.alarms:
            a = o.alarms[0]
            sus.append(a["emitted_at"] - a["occurred_at"])
            alarm.append(a.get("cancel_window_s", np.nan))
    def q(v: list[float]) -> dict[str, float] | None:
        return {"n": len(v), "median": float(np.median(v)), "p90": float(np.percentile(v, 90))
                } if v else None
    return {"impact_to_suspected_s": q(sus), "impact_to_alarm_s": q(alarm)}


def line(name: str, outs: list[runner.Outcome]) -> dict[str, Any]:
    s = metrics.summary(outs)
    eld = [o for o in outs if not o.rec.is_fall and o.rec.group == "elderly"]
    acts = metrics.by_key([o for o in outs if not o.rec.is_fall], "activity")
    eld_acts = metrics.by_key(eld, "activity")
    fall_acts = metrics.by_key([o for o in outs if o.rec.is_fall], "activity")
    fa = [o for o in outs if not o.rec.is_fall and o.false_alarm]
    # how such alarms are scored: a recording that ends inside the cancel window gives the
    # evidence rules nothing more to see, and the window runs out into the alarm
    cut = sum(o.alarms[0]["occurred_at"] + o.alarms[0].get("cancel_window_s", 0.0)
              > o.rec.t[-1] for o in fa)
    no_before = sum(o.alarms[0]["occurred_at"] - o.rec.t[0] < 2.5 for o in fa)
    return {"set": name, "per_adl_false_alarms": {a: [v["false_positives"], v["adls"]]
                                                  for a, v in acts.items()},
            "elderly_per_activity": {a: [v["false_positives"], v["adls"]]
                                     for a, v in eld_acts.items()},
            "per_fall_detected": {a: [v["detected"], v["falls"]] for a, v in fall_acts.items()},
            "falls": s["falls"], "detected": s["detected"],
            "seen": sum(o.seen for o in outs if o.rec.is_fall), "adls": s["adls"],
            "false_alarms": s["false_positives"], "sensitivity": s["sensitivity"],
            "specificity": s["specificity"],
            "false_alarms_recording_ended_in_window": cut,
            "false_alarms_impact_in_first_2_5_s": no_before,
            "elderly_adls": len(eld), "elderly_false_alarms": sum(o.false_alarm for o in eld),
            "delay_s": s["delay_s"], **_timing(outs)}


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


def table_rows(flat: crossval.Table, chosen: dict[str, dict[str, float]], by: str
               ) -> list[dict[str, Any]]:
    """Held-out verdicts on the episode table: each recording under the rule chosen
    without its data set (`by="dataset"`) or subject."""
    ok = np.array([episodes.verdicts([e], chosen[e.dataset if by == "dataset" else
                                                 f"{e.dataset}:{e.subject}"])[0][1]
                   for e in flat.recs])
    fall = np.array([e.is_fall for e in flat.recs])
    old = np.array([e.group == "elderly" and not e.is_fall for e in flat.recs])
    out = []
    for n in (*SETS, "all pooled"):
        m = np.array([n == "all pooled" or e.dataset == n for e in flat.recs])
        out.append({"set": n, "falls": int((m & fall).sum()), "detected": int(ok[m & fall].sum()),
                    "adls": int((m & ~fall).sum()), "false_alarms": int((~ok[m & ~fall]).sum()),
                    "elderly_adls": int((m & old).sum()),
                    "elderly_false_alarms": int((~ok[m & old]).sum())})
    return out


def show_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print("| test set | sensitivity | specificity | older wearers' false alarms |")
    print("|---|---|---|---|")
    for r in rows:
        eld = (f"{r['elderly_false_alarms']}/{r['elderly_adls']} "
               f"({pct(r['elderly_false_alarms'] / r['elderly_adls'])})" if r["elderly_adls"]
               else "-")
        sens = r["detected"] / r["falls"] if r["falls"] else None
        spec = 1 - r["false_alarms"] / r["adls"] if r["adls"] else None
        print(f"| {r['set']} | {pct(sens)} ({r['detected']}/{r['falls']}) | {pct(spec)} "
              f"({r['adls'] - r['false_alarms']}/{r['adls']}) | {eld} |", flush=True)


def show_steps(step_rows: list[list[dict[str, Any]]], steps: tuple[Any, ...]) -> None:
    """What each step of the timeline buys, held out (LODO), one row per step."""
    names = [r["set"] for r in step_rows[0]]
    print("\nWhat each step buys (leave one data set out; sensitivity / specificity; older "
          "wearers' false alarms; impact -> fall_suspected and -> alarm, median / p90)")
    print("| step | " + " | ".join(names) + " | older wearers' false alarms | "
          "impact -> suspected | impact -> alarm |")
    print("|---|" + "---|" * (len(names) + 3))
    for (title, _, _), rows in zip(steps, step_rows, strict=True):
        cells = [f"{pct(r['sensitivity'])} / {pct(r['specificity'])}" for r in rows]
        pool = rows[-1]
        eld = (f"{pool['elderly_false_alarms']}/{pool['elderly_adls']} "
               f"({pct(pool['elderly_false_alarms'] / pool['elderly_adls'])})"
               if pool["elderly_adls"] else "-")
        d = [pool[k] for k in ("impact_to_suspected_s", "impact_to_alarm_s")]
        dd = [f"{x['median']:.2f} / {x['p90']:.2f} s" if x else "-" for x in d]
        print(f"| {title} | " + " | ".join(cells) + f" | {eld} | {dd[0]} | {dd[1]} |",
              flush=True)


def show_elderly(rows: list[dict[str, Any]]) -> None:
    """Older wearers' false alarms per activity, per set that has older wearers."""
    print("\n| test set | older wearers' activities: false alarms / recordings |")
    print("|---|---|")
    for r in rows:
        if r["elderly_adls"] and r["set"] != "all pooled":
            acts = ", ".join(f"{a} {v[0]}/{v[1]}" for a, v in
                             sorted(r["elderly_per_activity"].items(),
                                    key=lambda kv: (-kv[1][0], kv[0])))
            print(f"| {r['set']} | {acts} |")
    for r in rows:
        if r["false_alarms"]:
            print(f"  {r['set']}: {r['false_alarms']} false alarms, "
                  f"{r['false_alarms_recording_ended_in_window']} in recordings that end inside "
                  f"the cancel window, {r['false_alarms_impact_in_first_2_5_s']} with the impact "
                  "in the first 2.5 s (nothing recorded before it)")


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
    ap.add_argument("--measure", nargs="+", default=None, metavar="SET",
                    help="run the pipeline only on these held-out sets (default: all); every "
                         "set is still scored on the episode table")
    ap.add_argument("--loso", choices=("pipeline", "table"), default="pipeline",
                    help="score leave-one-subject-out through the pipeline (default) or on "
                         "the episode table only (a fraction of the CPU)")
    ap.add_argument("--choose-on-observed", action="store_true",
                    help="when choosing, an everyday-movement recording that ends inside the "
                         "cancel window's evidence span after every episode that alarms it does "
                         "not vote in the training specificity (measured, docs/detection.md "
                         "'Choosing on what a recording shows'); measuring is unchanged")
    add_variants(ap)
    args = ap.parse_args()
    global SETS, PLACEMENT
    variants(args.getup_needs_pre_fall)
    PLACEMENT = args.placement
    if PLACEMENT == "waist":
        SETS = ("sisfall", "umafall")
    tabs = {n: table(n, args.cache) for n in SETS}
    flat = crossval.Table.of([e for n in SETS for e in tabs[n]])
    rules = crossval.rule_grid(getattr(WearableFallSettings(), PLACEMENT),
                               gate=PLACEMENT == "wrist")
    # the arm's rhythm is a fixed physical limit added to every chosen rule (not chosen)
    fixed = {"max_similar_peaks": float(getattr(WearableFallSettings(), PLACEMENT)
                                        .max_similar_peaks)}
    observed_s = (episodes.evidence_s(WearableFallSettings(), PLACEMENT)
                  if args.choose_on_observed else None)
    lodo = {k: {**v, **fixed} for k, v in
            crossval.held_out_choices(flat, rules, "dataset", observed_s).items()}
    loso = {k: {**v, **fixed} for k, v in
            crossval.held_out_choices(flat, rules, "subject", observed_s).items()}
    report: dict[str, Any] = {"grid_size": len(rules), "lodo_chosen": lodo,
                              "loso_chosen": loso, "choose_on_observed_s": observed_s}
    if observed_s is not None:
        print(f"choosing: an ADL whose alarms all come from episodes judged less than "
              f"{observed_s:g} s before its recording ends does not vote (measuring: strict)")
    print(f"{PLACEMENT}: grid of {len(rules)} rules; chosen per held-out data set:")
    for k, v in lodo.items():
        print(f"  without {k}: " + ", ".join(f"{a}={v[a]:g}" for a in crossval.RULE_KEYS))
    for by, ch in (("dataset", lodo), ("subject", loso)):
        report[f"table_{by}"] = table_rows(flat, ch, by)
        show_table(f"Leave one {'data set' if by == 'dataset' else 'subject'} out "
                   "(episode table: get-up cancels included, steps not)", report[f"table_{by}"])
    measured = tuple(n for n in SETS if args.measure is None or n in args.measure)
    recs = {n: list(recordings(n)) for n in measured}
    if PLACEMENT == "waist":      # the waist has no evidence steps to measure: one table
        steps: tuple[Any, ...] = (("shipped evidence", {}, {}),)
    else:
        steps = STEPS
    step_rows: list[list[dict[str, Any]]] = [[] for _ in steps]
    pooled: list[list[runner.Outcome]] = [[] for _ in steps]
    for n in measured:
        if PLACEMENT == "waist":
            per_step = [measure(recs[n], lambda r, n=n: lodo[n])]
        else:
            per_step = measure_steps(recs[n], lambda r, n=n: lodo[n])
        for k, outs in enumerate(per_step):
            pooled[k] += outs
            step_rows[k].append(line(n, outs))
    for k in range(len(steps)):
        step_rows[k].append(line("all pooled", pooled[k]))
    report["lodo_steps"] = [{"step": t, "rows": r} for (t, _, _), r in zip(steps, step_rows, strict=True)]
    report["lodo"] = rows = step_rows[-1]
    for (title, _, _), r in zip(steps, step_rows, strict=True):
        show(f"Leave one data set out ({PLACEMENT}; {title}; pipeline)", r)
    show_steps(step_rows, steps)
    show_elderly(rows)
    loso_evidence = steps[-1][2]
    rows = []
    all_outs = []
    for n in (measured if args.loso == "pipeline" else ()):
        outs = measure(recs[n], lambda r: loso[f"{r.dataset}:{r.subject}"], loso_evidence)
        all_outs += outs
        rows.append(line(n, outs))
    if all_outs:
        rows.append(line("all pooled", all_outs))
    report["loso"] = rows
    if rows:
        show("Leave one subject out (chosen on every other subject of all sets; every step; "
             "pipeline)", rows)
        show_elderly(rows)
    if not args.skip_defaults:
        rows = []
        base = getattr(WearableFallSettings(), PLACEMENT).model_dump()
        for n in measured:
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
