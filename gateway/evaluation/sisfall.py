"""SisFall loader: `raw/<SUBJECT>/<CODE>_<SUBJECT>_R<trial>.txt[.gz]`, optional `labels/`.

Each line holds nine ADC counts ending with `;`; columns 1-3 are the ADXL345 (+-16 g,
256 counts per g), the accelerometer we use because its range covers hard impacts. Files
may be gzipped or plain. Labels ("SisFall enhanced": 0, 1 alert, 2 fall, one per sample)
are optional; when present the first and last sample labelled 2 give the fall span that
detection delay is measured from.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gateway.evaluation.recording import EPOCH0, Recording

RATE_HZ = 200.0
COUNTS_PER_G = 256.0
NAME_RE = re.compile(r"^(?P<code>[DF]\d\d)_(?P<subject>S[AE]\d\d)_R(?P<trial>\d+)\.txt(\.gz)?$")


def _read_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii", errors="replace") as fh:
        return fh.read()


def parse_samples(text: str) -> np.ndarray:
    """Parse SisFall text to an (N, 9) int array; an incomplete trailing line is dropped."""
    rows = []
    for line in text.splitlines():
        line = line.strip().rstrip(";")
        if not line:
            continue
        rows.append(line)
    flat = np.array(",".join(rows).replace(" ", "").split(","), dtype=np.float64) if rows else \
        np.zeros(0)
    n = len(flat) // 9
    if n * 9 != len(flat):  # a ragged line: fall back to line-by-line and drop bad ones
        good = [r for r in rows if r.count(",") == 8]
        flat = np.array(",".join(good).replace(" ", "").split(","), dtype=np.float64)
        n = len(flat) // 9
    return flat[: n * 9].reshape(n, 9)


def parse_labels(text: str) -> np.ndarray:
    return np.array([int(x) for x in text.split()], dtype=np.int8)


def files(root: Path) -> list[Path]:
    """All raw recordings under `root` (the dataset directory or its `raw/`), sorted."""
    root = Path(root)
    raw = root / "raw" if (root / "raw").is_dir() else root
    return sorted(p for p in raw.rglob("*") if NAME_RE.match(p.name))


def label_path(raw_file: Path) -> Path | None:
    """The labels file that mirrors `raw_file` (`raw/` -> `labels/`), if it exists."""
    parts = list(raw_file.parts)
    if "raw" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("raw")
    parts[i] = "labels"
    cand = Path(*parts)
    for p in (cand, cand.with_suffix("") if cand.suffix == ".gz" else cand.with_name(cand.name + ".gz")):
        if p.is_file():
            return p
    return None


def load(path: Path, index: int = 0) -> Recording:
    """Read one recording. `index` staggers start times so recordings never overlap in time."""
    path = Path(path)
    m = NAME_RE.match(path.name)
    if not m:
        raise ValueError(f"not a SisFall file name: {path.name}")
    data = parse_samples(_read_text(path))
    t0 = EPOCH0 + index * 3600.0
    t = t0 + np.arange(len(data)) / RATE_HZ
    xyz = data[:, 0:3] / COUNTS_PER_G
    onset = end = None
    lp = label_path(path)
    if lp is not None:
        labels = parse_labels(_read_text(lp))
        n = min(len(labels), len(t))
        idx = np.flatnonzero(labels[:n] == 2)
        if len(idx):
            onset, end = float(t[idx[0]]), float(t[idx[-1]])
    subject = m["subject"]
    return Recording(
        name=path.name.split(".")[0], dataset="sisfall", subject=subject, activity=m["code"],
        is_fall=m["code"].startswith("F"), placement="waist", t=t, xyz=xyz,
        fall_onset=onset, fall_end=end, group="elderly" if subject.startswith("SE") else "young")


def iter_recordings(paths: list[Path]) -> Iterator[Recording]:
    for i, p in enumerate(paths):
        yield load(p, i)


def key(path: Path) -> tuple[str, str]:
    """(subject, activity code) of a file, used to pick deterministic samples."""
    m = NAME_RE.match(Path(path).name)
    return (m["subject"], m["code"]) if m else ("", "")
