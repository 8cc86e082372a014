"""What `safehome evaluate` prints for the radar data sets and for recorded homes: the
command's side of the offline evaluation library (gateway/evaluation/), which only
computes and returns. gateway/commands/evaluate.py picks one of these by `--format`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def radar_captures(args: argparse.Namespace) -> int:
    """`--format radar` on a DIR of TI `.bin` captures (gateway/evaluation/radar.py)."""
    from gateway.evaluation import radar
    root = Path(args.paths[0])
    tables = radar.radar_fall_overrides(args)
    if tables is None:
        return 2
    if not any(root.glob("*.bin")) or not (root / "config").is_dir():
        print(f"safehome evaluate: {root}: no .bin captures with a config/ directory",
              file=sys.stderr)
        return 2
    scores = radar.evaluate(root, getattr(args, "mounting", "measured"), tables or None)
    falls = sum(len(s.falls) for s in scores)
    found = sum(s.detected for s in scores)
    fa = sum(s.false_alarms for s in scores)
    if args.json:
        print(json.dumps({"format": "radar", "captures": [
            {**s.__dict__, "detected": s.detected, "recognised": s.recognised,
             "false_alarms": s.false_alarms}
            for s in scores], "falls": falls, "detected": found,
            "recognised": sum(s.recognised for s in scores), "false_alarms": fa}))
        return 0
    for s in scores:
        print(f"{s.capture}: mounting {s.mounting}; falls detected {s.detected}/{len(s.falls)} "
              f"(recognised {s.recognised}), false alarms {s.false_alarms}, suspected "
              f"{s.suspected}, cancelled {s.cancelled}")
    print(f"radar: falls detected {found}/{falls} (fall_suspected at "
          f"{sum(s.recognised for s in scores)}), false alarms {fa}")
    return 0



def radar_tracks(args: argparse.Namespace) -> int:
    """`--format radar-tracks`: any radar's tracks as CSV clips (gateway/evaluation/radar_tracks.py)."""
    from gateway.evaluation import radar_tracks as rt
    from gateway.evaluation.radar import radar_fall_overrides
    root = Path(args.paths[0])
    height = getattr(args, "mounting_height", None)
    if height is not None and not 0 < height <= 10:
        print(f"safehome evaluate: --mounting-height {height}: expected the radar's height "
              "above the floor in metres (0-10), e.g. --mounting-height 1.8", file=sys.stderr)
        return 2
    tables = radar_fall_overrides(args)
    if tables is None:
        return 2
    if not root.is_dir() or not rt.clip_paths(root):
        print(f"safehome evaluate: {root}: no clips: expected {root}/fall/*.csv and other "
              "folders of non-fall clips (any name but fall), each CSV with a t,x,y,z header",
              file=sys.stderr)
        return 2
    try:
        results = rt.evaluate(root, height, tables or None)
    except rt.TrackCsvError as exc:
        print(f"safehome evaluate: {exc}", file=sys.stderr)
        return 2
    summ = rt.summary(results)
    if args.json:
        print(json.dumps({"format": "radar-tracks", "mounting_height_m": height,
                          "tail_s": rt.TAIL_S, "recordings": [r.__dict__ for r in results],
                          "summary": summ}))
        return 0
    for r in results:
        print(f"{r.file}: {r.label}, {r.frames} frames, {r.seconds:.1f} s: "
              f"{'FALL ALARM' if r.alarm else 'no alarm'} (suspected {r.suspected}, "
              f"cancelled {r.cancelled})")
    print(f"radar-tracks: falls alarmed {summ['falls_alarmed']}/{summ['falls']}, false alarms "
          f"{summ['false_alarms']}/{summ['others']} other clips")
    return 0



def safesenior_clips(args: argparse.Namespace, tables: dict[str, Any]) -> int:
    """`--format radar` on a DIR of SafeSenior `.csv` clips (gateway/evaluation/safesenior.py)."""
    from gateway.evaluation import safesenior
    root = Path(args.paths[0])
    if not safesenior.clips(root) or not any((root / "config").glob("*.cfg")):
        print(f"safehome evaluate: {root}: no SafeSenior .csv clips with a config/ directory",
              file=sys.stderr)
        return 2
    mode = getattr(args, "mounting", "measured")
    scores, est = safesenior.evaluate(root, mode, tables or None)
    summ = safesenior.summary(scores)
    if args.json:
        print(json.dumps({"format": "radar", "dataset": "safesenior", "mode": mode,
                          "walk_estimate": est.to_json() if est else None,
                          "clips": [{**s.__dict__, "outcome": s.outcome} for s in scores],
                          "summary": summ}))
        return 0
    print("walking clips pooled: " + (
        f"measured height {est.height_m:.2f} m, tilt {est.elevation_tilt_deg:.1f} deg down "
        f"(from {est.points} clustered points in {est.bins} range bins, "
        f"{est.range_m[0]:.1f}-{est.range_m[1]:.1f} m)" if est else "no mounting measured"))
    for s in scores:
        print(f"{s.clip}: mounting {s.mounting}; {s.outcome} (suspected {s.suspected}, "
              f"fall alarms {s.alarms}, cancelled {s.cancelled})")
    for m, d in summ.items():
        print(f"safesenior [{m}]: falls with a fall alarm {d['alarmed']}/{d['falls']}, "
              f"at least suspected {d['suspected']}/{d['falls']}; false alarms "
              f"{d['false_alarms']}/{d['others']} standUp+walking clips "
              f"(suspected {d['others_suspected']})")
    return 0



def traces(args: argparse.Namespace) -> int:
    """`--format trace`: recorded or simulated homes with ground-truth labels (gateway/evaluation/traces.py)."""
    from gateway.evaluation import traces as tr
    from gateway.evaluation.options import progress as _progress
    from gateway.trace.replay import replay
    from sensordata.trace.reader import TraceError

    scores: list[tr.TraceScore] = []
    show = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    with _progress(len(args.paths), show) as prog:   # a day of a home takes seconds
        task = prog.add_task("replaying traces", total=len(args.paths))
        for path in args.paths:
            try:
                scores.append(tr.score(replay(path)))
            except (OSError, TraceError) as exc:
                print(f"safehome evaluate: {path}: {exc}", file=sys.stderr)
                return 2
            prog.advance(task)
    incidents = [i for s in scores for i in s.incidents]
    detected = sum(i["detected"] for i in incidents)
    days = sum(s.days for s in scores)
    false_alarms = sum(len(s.false_alarms) for s in scores)
    delays = sorted(i["delay_s"] for i in incidents if i["detected"] and i["delay_s"] is not None)
    summary = {
        "traces": len(scores), "days": round(days, 3), "incidents": len(incidents),
        "detected": detected, "sensitivity": detected / len(incidents) if incidents else None,
        "false_alarms": false_alarms,
        "false_alarms_per_day": false_alarms / days if days > 0 else None,
        "median_delay_s": delays[len(delays) // 2] if delays else None,
    }
    if args.json:
        print(json.dumps({"format": "trace", "rule": (tr.__doc__ or "").split("\n\n")[1].replace("\n", " "),
                          "summary": summary,
                          "traces": [s.__dict__ for s in scores]}, ensure_ascii=False))
        return 0
    for s in scores:
        print(f"{s.trace}: {s.days:.2f} simulated days, incidents {s.detected}/{len(s.incidents)}, "
              f"false alarms {len(s.false_alarms)}" + (f" (damaged: {s.damage})" if s.damage else ""))
        for i in s.incidents:
            mark = "detected" if i["detected"] else "MISSED  "
            delay = f", after {i['delay_s']:.0f} s" if i["delay_s"] is not None else ""
            print(f"  {mark} {i['at']} {i['what']} ({i['room'] or '-'}): "
                  f"{', '.join(i['expect'])}{delay}"
                  + (f"; missing {', '.join(i['missing'])}" if i["missing"] else ""))
        for f in s.false_alarms:
            print(f"  FALSE ALARM {f['at']} {f['type']} ({f['room'] or '-'}, sensor {f['sensor']})")
    sens = f"{summary['sensitivity']:.1%}" if incidents else "n/a"
    fpd = f"{summary['false_alarms_per_day']:.2f}" if days > 0 else "n/a"
    print(f"incidents detected: {detected}/{len(incidents)} ({sens}); false alarms: {false_alarms} "
          f"over {days:.1f} simulated days ({fpd} per day)")
    return 0
