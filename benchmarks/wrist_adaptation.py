"""Learning the wearer: does a per-wearer impact envelope lower older wearers' false alarms?

    nice -n 10 python benchmarks/wrist_adaptation.py --cache /tmp/episodes --rules wrist.json

The idea (issue 21, part 5): over the first days the gateway sees the wearer's own
everyday movements. Any of them that the wrist rule would have taken for a fall (while
the wearer plainly did not fall: they walked on, the cancel window ran out without a
call) marks that wearer's everyday "impact envelope"; from then on, a suspicion needs a
score above that envelope (`MARGIN` above the highest such score), never below the rule.

How it is measured, never tuned on the test part: each wearer's everyday recordings are
split per activity by trial number, the first half (rounded up) the *learning* part, the
rest the *test* part; falls are never learned from and all count as test. The wrist rule
is the one `wrist_crossval.py` chose without the wearer's data set (its `--json` output,
`lodo_chosen`), applied on the episode table (`gateway/evaluation/episodes.py`, get-up
cancels included; figures are the table's, not the pipeline's). Baseline and adapted are
scored on the same test part.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import wrist_crossval

from gateway.evaluation import episodes

MARGIN = 0.25
TRIAL_RE = re.compile(r"(?:_R|T|_)(\d+)(?:_A)?$")
UMAFALL_TRIAL_RE = re.compile(r"_(\d+)_\d{4}-\d\d-\d\d")


def trial_of(e: episodes.Episodes) -> int:
    """The repetition number in a recording's name (SisFall R01, FallAllD/SmartFallMM T01,
    UMAFall `_<trial>_<date>`); 0 when the name has none."""
    m = UMAFALL_TRIAL_RE.search(e.name) if e.dataset == "umafall" else TRIAL_RE.search(e.name)
    return int(m.group(1)) if m else 0


def split(tab: list[episodes.Episodes]) -> list[bool]:
    """True for recordings in their wearer's learning part (ADLs only, first half of each
    activity's trials by number)."""
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(tab):
        if not e.is_fall:
            by[(e.subject, e.activity)].append(i)
    learn = [False] * len(tab)
    for idx in by.values():
        idx.sort(key=lambda i: (trial_of(tab[i]), tab[i].name))
        for i in idx[:(len(idx) + 1) // 2]:
            learn[i] = True
    return learn


def correct(e: episodes.Episodes, fired: np.ndarray) -> bool:
    if e.is_fall:
        t = e.features[:, episodes.column("t")] if len(e.features) else np.zeros(0)
        return bool((fired & (t >= e.fall_lo) & (t <= e.fall_hi)).any())
    return not bool(fired.any())


def evaluate(tab: list[episodes.Episodes], rule: dict[str, float], cap: float = np.inf
             ) -> dict[str, Any]:
    """Baseline and adapted verdicts on the test part; `cap` limits how far a wearer's
    envelope may raise the rule's threshold."""
    learn = split(tab)
    envelope: dict[str, float] = {}
    for e, is_learning in zip(tab, learn, strict=True):
        if is_learning and len(e.features):
            fired = episodes.alarms(e, rule)
            if fired.any():
                top = float(episodes.scores(e, rule)[fired].max())
                envelope[e.subject] = max(envelope.get(e.subject, -np.inf), top)
    rows: dict[str, list[tuple[bool, bool, bool, str]]] = {"base": [], "adapted": []}
    for e, is_learning in zip(tab, learn, strict=True):
        if is_learning:
            continue
        fired = episodes.alarms(e, rule) if len(e.features) else np.zeros(0, dtype=bool)
        own = envelope.get(e.subject)
        adapted = fired.copy()
        if own is not None and len(fired):
            need = min(own + MARGIN, rule["score_threshold"] + cap)
            adapted &= episodes.scores(e, rule) >= need
        for k, f in (("base", fired), ("adapted", adapted)):
            rows[k].append((e.is_fall, e.group == "elderly", correct(e, f), e.subject))
    out: dict[str, Any] = {"wearers_with_an_envelope": len(envelope),
                           "learning_recordings": sum(learn)}
    for k, r in rows.items():
        falls = [c for f, _, c, _ in r if f]
        adls = [c for f, _, c, _ in r if not f]
        old = [c for f, o, c, _ in r if o and not f]
        out[k] = {"falls": len(falls), "detected": sum(falls), "adls": len(adls),
                  "false_alarms": len(adls) - sum(adls), "elderly_adls": len(old),
                  "elderly_false_alarms": len(old) - sum(old)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, required=True, help="episode tables (wrist_crossval)")
    ap.add_argument("--rules", type=Path, required=True,
                    help="wrist_crossval.py --json output (the rules chosen per held-out set)")
    ap.add_argument("--cap", type=float, default=np.inf,
                    help="raise a wearer's threshold by at most this much (default: no limit)")
    args = ap.parse_args()
    chosen = json.loads(args.rules.read_text())["lodo_chosen"]
    print("| held-out set | rule | sensitivity (all falls) | specificity (test part) | "
          "older wearers' false alarms (test part) | wearers with an envelope |")
    print("|---|---|---|---|---|---|")
    for name in wrist_crossval.SETS:
        tab = wrist_crossval.table(name, args.cache)
        r = evaluate(tab, chosen[name], args.cap)
        for k in ("base", "adapted"):
            v = r[k]
            eld = (f"{v['elderly_false_alarms']}/{v['elderly_adls']}" if v["elderly_adls"]
                   else "-")
            print(f"| {name} | {k} | {v['detected']}/{v['falls']} "
                  f"({wrist_crossval.pct(v['detected'] / v['falls'] if v['falls'] else None)}) | "
                  f"{v['adls'] - v['false_alarms']}/{v['adls']} "
                  f"({wrist_crossval.pct(1 - v['false_alarms'] / v['adls'])}) | {eld} | "
                  f"{r['wearers_with_an_envelope'] if k == 'adapted' else '-'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
