"""`safehome evaluate`: how well does fall detection work on labelled recordings?

    safehome evaluate --format sisfall ../shared/data/sisfall-dev
    safehome evaluate --format umafall ../shared/data/umafall-dev --placement wrist
    safehome evaluate --format fallalld ../shared/data/fallalld-wrist-dev
    safehome evaluate --format smartfallmm ../shared/data/smartfallmm-wrist-dev
    safehome evaluate --format sisfall DIR --sample 40 --json     # a quick, fixed subset
    safehome evaluate --format umafall DIR --cross-subject        # held-out subjects
    safehome evaluate home.mcap ...                               # recorded/simulated homes
    safehome evaluate --format radar ../shared/data/radar-real-dev/mmfall   # TI captures
    safehome evaluate --format radar ../shared/data/radar-real-dev/safesenior  # CSV clips
    safehome evaluate --format radar-tracks DIR [--mounting-height 1.8] --json  # any radar

Every recording runs through the same detection as `safehome run` and `safehome replay`
(detectors, fall fusion, the 30 s cancel window), with the default settings unless
--set changes them. A fall recording counts as detected when a fall alarm goes out at
the labelled fall; an activity recording counts as a false alarm when any fall alarm
goes out. Delay is from the labelled fall onset to the gateway announcing the suspected
fall (SisFall only; the other data sets have no onset labels).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gateway.evaluation.options import overrides as _overrides
from gateway.evaluation.options import progress as _progress

DEFAULT_THRESHOLDS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="measure the fall detector on labelled recordings",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="data set directory (sisfall, umafall, fallalld, smartfallmm, radar: TI .bin captures or "
                        "SafeSenior .csv clips) or trace files")
    p.add_argument("--format", choices=sorted([*FORMATS, "trace", "radar", "radar-tracks"]), default="trace",
                   help="what PATH holds (default: trace, i.e. .mcap files from record/simulate)")
    p.add_argument("--placement", default="wrist",
                   help="UMAFall sensor position: wrist (default), waist, chest, ankle, pocket")
    p.add_argument("--sample", "--limit", dest="sample", type=int, default=0, metavar="N",
                   help="use N files spread deterministically over activities and subjects")
    p.add_argument("--block-s", type=float, default=0.25,
                   help="deliver samples in blocks of this many seconds, as a BLE wearable "
                        "batches them (default 0.25)")
    p.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="resample every recording to HZ first (rate-invariance check)")
    p.add_argument("--jitter", type=float, default=0.0, metavar="FRACTION",
                   help="with --rate: random timing error, as a fraction of the period")
    p.add_argument("--burst", type=int, default=0, metavar="N",
                   help="stamp every N samples with one time and step 1%% of the batches back, "
                        "as batching wearables do (timing robustness check)")
    p.add_argument("--threshold", type=float, default=None,
                   help="override the main score threshold of the placement")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a detector setting, e.g. --set wrist.impact_g=2.0 "
                        "--set post_s=1.2 (repeatable)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument("--files", choices=("all", "errors", "none"), default=None,
                   help="per-file table: all, only misses and false alarms, or none "
                        "(default: all up to 200 files, else errors)")
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="write roc.png and activities.png (sweeps the main threshold)")
    p.add_argument("--cross-subject", action="store_true",
                   help="leave-one-subject-out check of the settings (runs a 16-point grid)")
    p.add_argument("--mounting", choices=("measured", "configured", "self", "self-after-walk"),
                   default="measured",
                   help="radar: the mounting measured from the setup's walk capture "
                        "(default), the one the chirp config claims, or the configured one "
                        "with the detector measuring its own (self: from each capture alone; "
                        "self-after-walk: after running the setup's walk capture). "
                        "A directory of SafeSenior .csv clips: configured runs every "
                        "config/*.cfg's claim, measured the mounting the walking clips show")
    p.add_argument("--mounting-height", type=float, default=None, metavar="H",
                   help="radar-tracks: the radar hangs H m above the floor (z in the files is "
                        "then from the radar, floor at -H); without it heights are judged "
                        "only relative to where each person stood")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (shown only when stderr is a terminal)")
    p.set_defaults(func=main)


# -- loaders --------------------------------------------------------------------------
def _sisfall(args: argparse.Namespace) -> tuple[int, Iterator[Any]]:
    from gateway.evaluation import sample, sisfall
    paths = [p for d in args.paths for p in sisfall.files(Path(d))]
    paths = sample.spread(paths, sisfall.key, args.sample)
    return len(paths), (sisfall.load(p, i) for i, p in enumerate(paths))


def _umafall(args: argparse.Namespace) -> tuple[int, Iterator[Any]]:
    from gateway.evaluation import sample, umafall
    paths = [p for d in args.paths for p in umafall.files(Path(d))]
    paths = sample.spread(paths, umafall.key, args.sample)

    def gen() -> Iterator[Any]:
        for i, p in enumerate(paths):
            try:
                yield umafall.load(p, args.placement, i)
            except umafall.MissingPosition:
                continue  # early recordings lack some positions: not an error
    return len(paths), gen()


def _fallalld(args: argparse.Namespace) -> tuple[int, Iterator[Any]]:
    from gateway.evaluation import fallalld, sample
    paths = [p for d in args.paths for p in fallalld.files(Path(d))]
    paths = sample.spread(paths, fallalld.key, args.sample)
    return len(paths), (fallalld.load(p, i) for i, p in enumerate(paths))


def _smartfallmm(args: argparse.Namespace) -> tuple[int, Iterator[Any]]:
    from gateway.evaluation import sample, smartfallmm
    paths = [p for d in args.paths for p in smartfallmm.files(Path(d))]
    paths = sample.spread(paths, smartfallmm.key, args.sample)
    skipped = smartfallmm.Skipped([], [])
    recs = smartfallmm.load_all(paths, skipped)
    if skipped.unreadable or skipped.duplicates:
        print(f"smartfallmm: left out {skipped}", file=sys.stderr)
    return len(recs), iter(recs)


FORMATS: dict[str, Callable[[argparse.Namespace], tuple[int, Iterator[Any]]]] = {
    "sisfall": _sisfall,
    "umafall": _umafall,
    "fallalld": _fallalld,
    "smartfallmm": _smartfallmm,
}


# -- running --------------------------------------------------------------------------
def _settings(args: argparse.Namespace, placement: str, threshold: float | None = None) -> Any:
    from detectors.wearable_fall import WearableFallSettings
    data = _overrides(getattr(args, "set", []) or [])
    th = threshold if threshold is not None else args.threshold
    if th is not None:
        key = placement if placement in ("wrist", "chest", "pendant") else "waist"
        data.setdefault(key, {})["score_threshold"] = th
    return WearableFallSettings(**data)


def _factory(settings: Any) -> Callable[[Any], Any]:
    """Recording -> the home config the pipeline runs (the one replay would build)."""
    from gateway.evaluation import runner
    tables = {"wearable_fall": settings.model_dump()}
    configs: dict[str, Any] = {}

    def make(rec: Any) -> Any:
        if rec.placement not in configs:
            configs[rec.placement] = runner.home_config(rec.placement, tables)
        return configs[rec.placement]
    return make


def _have_matplotlib() -> bool:
    import importlib.util
    return importlib.util.find_spec("matplotlib") is not None


def main(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from gateway.evaluation import runner
    if args.format == "trace":  # whole homes with ground-truth labels, through the pipeline
        from gateway.commands.evaluate_formats import traces
        return traces(args)
    if args.format == "radar":  # raw TI captures through the pipeline, hand labels
        from gateway.commands import evaluate_formats
        from gateway.evaluation import radar
        root = Path(args.paths[0])
        if not any(root.glob("*.bin")) and any(root.glob("*.csv")):
            # SafeSenior clustered point-cloud clips: their reader uses the radar module's
            # home, so the choice is made here, not inside the radar reader (no import circle)
            tables = radar.radar_fall_overrides(args)
            if tables is None:
                return 2
            return evaluate_formats.safesenior_clips(args, tables)
        return evaluate_formats.radar_captures(args)
    if args.format == "radar-tracks":  # any 3D radar's tracks as CSV clips
        from gateway.commands.evaluate_formats import radar_tracks
        return radar_tracks(args)
    if args.format == "sisfall":
        args.placement = "waist"  # the SisFall device was worn on a belt
    try:
        settings = _settings(args, args.placement)
    except (ValueError, ValidationError) as exc:
        print(f"safehome evaluate: bad --set: {exc}", file=sys.stderr)
        return 2
    if args.plot is not None and not _have_matplotlib():
        print("safehome evaluate: --plot needs matplotlib, which is not installed; install it "
              "with: pip install 'safehome[plot]' (or leave out --plot)", file=sys.stderr)
        return 2
    total, recs = FORMATS[args.format](args)
    if total == 0:
        print(f"safehome evaluate: no {args.format} recordings under {' '.join(args.paths)}",
              file=sys.stderr)
        return 2
    keep = args.plot is not None or args.cross_subject
    kept: list[Any] = []
    show = not args.no_progress and sys.stderr.isatty()
    with _progress(total, show) as prog:
        task = prog.add_task(f"{args.format}", total=total)

        def tick(rec: Any) -> None:
            prog.advance(task)
            if keep:
                kept.append(rec)
        if args.rate:
            from gateway.evaluation.recording import resampled
            recs = (resampled(r, args.rate, args.jitter, i) for i, r in enumerate(recs))
        if args.burst:
            from gateway.evaluation.recording import bursty
            recs = (bursty(r, args.burst, seed=i) for i, r in enumerate(recs))
        outcomes = runner.evaluate(recs, _factory(settings), args.block_s, tick)
    if not outcomes:
        print("safehome evaluate: no usable recordings", file=sys.stderr)
        return 2
    placement = outcomes[0].rec.placement
    report = _report(outcomes, args, placement)
    if args.plot is not None:
        with _progress(len(DEFAULT_THRESHOLDS), show) as prog:
            task = prog.add_task("ROC threshold sweep", total=len(DEFAULT_THRESHOLDS))
            report["plots"] = _plots(kept, outcomes, report, args, placement,
                                     lambda: prog.advance(task))
    if args.cross_subject:
        from gateway.evaluation import crossval
        with _progress(16, show) as prog:
            task = prog.add_task("cross-subject grid", total=16)
            report["cross_subject"] = crossval.leave_one_subject_out(
                kept, _settings(args, placement), _factory, args.block_s,
                lambda: prog.advance(task))
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        from gateway.commands.evaluate_report import print_report
        print_report(report, outcomes, args.files)
    return 0


def _report(outcomes: list[Any], args: argparse.Namespace, placement: str) -> dict[str, Any]:
    from gateway.evaluation import metrics, runner
    per_subject = metrics.by_key(outcomes, "subject")
    settings = _settings(args, placement)
    return {
        "format": args.format,
        "placement": placement,
        "rule": (runner.__doc__ or "").split("Scoring the events:", 1)[-1].strip(),
        "cancel_window_s": runner.home_config(placement).alarm.cancel_window,
        "block_s": args.block_s,
        "resampled_hz": args.rate,
        "burst": args.burst,
        "settings": settings.model_dump(),
        "summary": metrics.summary(outcomes),
        "timing": {k: sum(o.timing.get(k, 0) for o in outcomes)
                   for k in ("samples_repeated_time", "samples_stepped_back")},
        "per_activity": metrics.by_key(outcomes, "activity"),
        "per_subject": per_subject,
        "subject_spread": metrics.spread(per_subject),
        "files": [{
            "name": o.rec.name, "subject": o.rec.subject, "activity": o.rec.activity,
            "fall": o.rec.is_fall, "detected": o.detected, "false_alarm": o.false_alarm,
            "suspected": o.suspected, "cancelled": o.cancelled,
            "delay_s": None if o.delay_s is None else round(o.delay_s, 3),
            "evidence": {k: round(v, 3) for k, v in o.evidence.items()},
            "timing": o.timing,
        } for o in outcomes],
    }


def _plots(recs: list[Any], outcomes: list[Any], report: dict[str, Any],
           args: argparse.Namespace, placement: str,
           tick: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Sweep the main threshold (re-running the detector) for the ROC, then draw."""
    from gateway.evaluation import metrics, plots, runner
    args.plot.mkdir(parents=True, exist_ok=True)
    points = []
    for th in DEFAULT_THRESHOLDS:
        outs = runner.evaluate(recs, _factory(_settings(args, placement, th)), args.block_s)
        s = metrics.summary(outs)
        points.append({"threshold": th, "sensitivity": s["sensitivity"],
                       "specificity": s["specificity"]})
        tick()
    title = f"{args.format} ({placement}), {len(outcomes)} files"
    roc = plots.roc(points, args.plot / "roc.png", f"ROC over the score threshold: {title}")
    bars = plots.activity_bars(report["per_activity"], args.plot / "activities.png", title)
    return {"roc": str(roc), "activities": str(bars), "roc_points": points}
