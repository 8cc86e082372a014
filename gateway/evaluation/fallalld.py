"""FallAllD loader: `raw/S<subject>_D<device>_A<activity>_T<trial>_A.dat[.gz]`.

One recording per file, 20 s of an LSM9DS1 accelerometer at 238 Hz, headerless `x,y,z`
lines of signed counts at +-8 g (0.244 mg per count). Activity ids >= 101 are falls, the
rest activities of daily living. There are no timestamps (the rate is uniform) and no
fall onset (the fall lies somewhere in the window), so delay cannot be measured here.
Device D2 is the wrist; D1 the neck (a pendant), D3 the waist.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np

from gateway.evaluation.recording import EPOCH0, Recording

RATE_HZ = 238.0
G_PER_COUNT = 0.000244
NAME_RE = re.compile(r"^S(?P<subject>\d+)_D(?P<device>\d)_A(?P<activity>\d+)_T(?P<trial>\d+)_A"
                     r"\.dat(\.gz)?$")
PLACEMENTS = {"1": "pendant", "2": "wrist", "3": "waist"}


def files(root: Path) -> list[Path]:
    root = Path(root)
    raw = root / "raw" if (root / "raw").is_dir() else root
    return sorted(p for p in raw.rglob("*") if NAME_RE.match(p.name))


def key(path: Path) -> tuple[str, str]:
    """(subject, activity) of a file, for deterministic samples."""
    m = NAME_RE.match(Path(path).name)
    return (f"S{m['subject']}", f"A{int(m['activity']):03d}") if m else ("", "")


def parse(text: str) -> tuple[np.ndarray, int]:
    """(counts (N, 3), skipped lines): lines that are not three integers are skipped."""
    rows: list[tuple[float, float, float]] = []
    skipped = 0
    for line in text.splitlines():
        parts = line.strip().split(",")
        if len(parts) == 1 and not parts[0]:
            continue
        try:
            x, y, z = (float(v) for v in parts)
        except ValueError:
            skipped += 1
            continue
        rows.append((x, y, z))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3), skipped


def load(path: Path, index: int = 0) -> Recording:
    """Read one recording; `index` staggers start times so recordings never overlap."""
    path = Path(path)
    m = NAME_RE.match(path.name)
    if not m:
        raise ValueError(f"not a FallAllD file name: {path.name}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii", errors="replace") as fh:
        counts, _skipped = parse(fh.read())
    t = EPOCH0 + index * 3600.0 + np.arange(len(counts)) / RATE_HZ
    activity = int(m["activity"])
    return Recording(
        name=path.name.split(".")[0], dataset="fallalld", subject=f"S{m['subject']}",
        activity=f"A{activity:03d}", is_fall=activity >= 101,
        placement=PLACEMENTS.get(m["device"], "wrist"), t=t, xyz=counts * G_PER_COUNT,
        group="young")
