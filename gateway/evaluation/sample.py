"""Deterministic samples of a data set for CI: a spread over activities and subjects.

Why not the first N files: sorted names start with one activity of one subject, which
says nothing. We deal files out round-robin over activity codes, and within each code
rotate through the subjects, so even 20 files cover falls and ADLs, young and elderly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path


def spread(paths: list[Path], key: Callable[[Path], tuple[str, str]], n: int) -> list[Path]:
    """Pick `n` of `paths` (all if n <= 0 or n >= len); same input, same output."""
    if n <= 0 or n >= len(paths):
        return list(paths)
    by_act: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for p in sorted(paths):
        subject, activity = key(p)
        by_act[activity][subject].append(p)
    queues = []
    for a_i, act in enumerate(sorted(by_act)):
        subjects = sorted(by_act[act])
        # rotate the starting subject per activity so subjects are spread across codes
        order = subjects[a_i % len(subjects):] + subjects[:a_i % len(subjects)]
        q: list[Path] = []
        depth = max(len(v) for v in by_act[act].values())
        for d in range(depth):
            q.extend(by_act[act][s][d] for s in order if d < len(by_act[act][s]))
        queues.append(q)
    out: list[Path] = []
    r = 0
    while len(out) < n:
        for q in queues:
            if r < len(q) and len(out) < n:
                out.append(q[r])
        r += 1
    return sorted(out)
