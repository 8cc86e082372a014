"""The same recording scored two ways: `safehome evaluate` and CSV import + replay.

Why: an evaluation is only worth something if it scores what the daemon does. The user's
path for their own data is `trace import-csv --time-column t` then `replay`; this module
takes that path for a recording (a CSV with the samples' own timestamps, imported like the
CLI does, replayed with the config replay builds) and scores its events with the rule
`evaluate` uses, so a test and `benchmarks/evaluate_vs_replay.py` can assert both verdicts
are the same on every shared recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.evaluation import runner
from gateway.evaluation.recording import Recording

BLOCK_S = 0.25


@dataclass(frozen=True)
class BothWays:
    name: str
    evaluate: runner.Outcome
    replay: runner.Outcome

    @property
    def agree(self) -> bool:
        a, b = self.evaluate, self.replay
        return (a.detected, a.false_alarm) == (b.detected, b.false_alarm)


def write_csv(rec: Recording, path: Path) -> Path:
    """`t,ax,ay,az` with the samples' own Unix timestamps, exactly (repr round-trips)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("t,ax,ay,az\n")
        fh.writelines(f"{t!r},{x!r},{y!r},{z!r}\n"
                      for t, (x, y, z) in zip(rec.t.tolist(), rec.xyz.tolist(), strict=True))
    return path


def both_ways(rec: Recording, make_config: Callable[[Recording], Any], workdir: Path) -> BothWays:
    """Score `rec` through `evaluate`'s runner and through import-csv + replay."""
    from gateway.trace.csvimport import CsvSpec, import_csv
    from gateway.trace.replay import config_for, replay
    from sensordata.trace.reader import TraceReader

    by_eval = runner.evaluate([rec], make_config, BLOCK_S)[0]
    src = write_csv(rec, Path(workdir) / f"{rec.name}.csv")
    spec = CsvSpec("accelerometer", ("ax", "ay", "az"), "g", time_column="t",
                   placement=rec.placement, sensor=runner.SENSOR)
    trace = import_csv(src, workdir, spec).path
    cfg = config_for(TraceReader(str(trace)))
    # the settings under test, as a [detectors] table of the home's config would set them
    tables = make_config(rec).detectors
    if tables:
        cfg = cfg.model_copy(update={"detectors": tables})
    by_replay = runner.score(rec, replay(str(trace), cfg).events)
    src.unlink()
    trace.unlink()
    return BothWays(rec.name, by_eval, by_replay)
