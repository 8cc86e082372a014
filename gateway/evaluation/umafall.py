"""UMAFall loader: `UMAFall_Subject_<NN>_<ADL|Fall>_<Movement>_<trial>_<date>_<time>.csv[.gz]`.

Each file carries five sensors; the header maps position (WRIST, WAIST, CHEST, ANKLE,
RIGHTPOCKET) to a sensor id that differs between files, so the id is looked up per file.
Samples are `ms; sample no; x; y; z; sensor type; sensor id`, accelerometer type 0, in g.
SensorTags sample at an irregular ~20 Hz with repeated timestamps; that is passed on as is
(the detector must cope, as it must with real BLE timing). Malformed lines (numbers like
`-101.123.046.875`, truncated rows) are skipped and counted, never fatal. The dataset has
no per-sample labels, so no fall onset: delay cannot be measured here.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np

from gateway.evaluation.recording import EPOCH0, Recording

NAME_RE = re.compile(
    r"^UMAFall_Subject_(?P<subject>\d+)_(?P<kind>ADL|Fall)_(?P<movement>[A-Za-z_]+?)_(?P<trial>\d+)_"
    r".*\.csv(\.gz)?$")
POSITIONS = {"wrist": "WRIST", "waist": "WAIST", "chest": "CHEST", "ankle": "ANKLE",
             "pocket": "RIGHTPOCKET", "pendant": "CHEST"}
ACCEL = 0


class MissingPosition(LookupError):
    """The recording has no sensor at the requested position (some early files lack one)."""


def files(root: Path) -> list[Path]:
    root = Path(root)
    raw = root / "raw" if (root / "raw").is_dir() else root
    return sorted(p for p in raw.rglob("*") if NAME_RE.match(p.name))


def key(path: Path) -> tuple[str, str]:
    m = NAME_RE.match(Path(path).name)
    return (m["subject"], m["movement"]) if m else ("", "")


def _read_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="latin-1") as fh:
        return fh.read()


def parse(text: str, position: str) -> tuple[np.ndarray, np.ndarray, int, dict[str, str]]:
    """Return (t_ms, xyz, skipped_lines, header) of the accelerometer at `position`."""
    sensor_id: str | None = None
    header: dict[str, str] = {}
    t: list[float] = []
    xyz: list[tuple[float, float, float]] = []
    skipped = 0
    for line in text.splitlines():
        if line.startswith("%"):
            fields = [f.strip() for f in line[1:].split(";")]
            if len(fields) >= 4 and fields[2].upper() == position:
                sensor_id = fields[1]
            elif ":" in line:
                k, _, v = line[1:].partition(":")
                header.setdefault(k.strip(), v.strip())
            continue
        if not line.strip():
            continue
        f = line.split(";")
        if sensor_id is None or len(f) < 7:
            skipped += sensor_id is not None
            continue
        if f[6].strip() != sensor_id or f[5].strip() != "0":
            continue
        try:
            row = (float(f[2]), float(f[3]), float(f[4]))
            ms = float(f[0])
        except ValueError:
            skipped += 1
            continue
        t.append(ms)
        xyz.append(row)
    if sensor_id is None:
        raise MissingPosition(position)
    return np.asarray(t, dtype=np.float64), np.asarray(xyz, dtype=np.float64).reshape(-1, 3), \
        skipped, header


def load(path: Path, placement: str = "wrist", index: int = 0) -> Recording:
    """Read the accelerometer at `placement` from one file (raises MissingPosition)."""
    path = Path(path)
    m = NAME_RE.match(path.name)
    if not m:
        raise ValueError(f"not a UMAFall file name: {path.name}")
    position = POSITIONS.get(placement, placement.upper())
    t_ms, xyz, _skipped, header = parse(_read_text(path), position)
    if len(t_ms) < 2:
        raise MissingPosition(f"{position} has no samples")
    try:
        age = int(header.get("Age", "0"))
    except ValueError:
        age = 0
    t = EPOCH0 + index * 3600.0 + t_ms / 1000.0
    return Recording(
        name=path.name.split(".")[0], dataset="umafall", subject=m["subject"],
        activity=m["movement"], is_fall=m["kind"] == "Fall", placement=placement, t=t, xyz=xyz,
        group="elderly" if age >= 60 else "young")
