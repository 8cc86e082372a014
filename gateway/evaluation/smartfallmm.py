"""SmartFallMM smartwatch loader: `<young|old>/S<subject>A<activity>T<trial>.csv[.gz]`.

Why this set: older people's everyday movements on a consumer smartwatch (24 older
wearers, A01-A08, no falls), beside 16 young people's activities and falls (A10-A14).
The other wrist sets have almost no older wearers.

Format: no header; `timestamp,x,y,z`, the timestamp a local date and time with
milliseconds (`2022-08-05 10:06:00.183`; one file has the time of day only), acceleration
in m/s^2. The watch's own timing is kept: bursts of samples within one millisecond and
steps back in time reach the detector as they are, like a live BLE watch. A file with
whole chunks written out of order (a step back of more than `REORDER_S`, which no watch
does in real time and `trace import-csv` refuses) is put in time order by a stable sort
(all of it: no sample is dropped or moved in time) and says so in `reordered`. A file whose rows do not have the time
first (a few have their columns swapped) is refused with `Unreadable`, never guessed.

Scoring caveats (docs/detection.md): trials were cut by hand close around each activity
(median about 8 s), so most end long before the gateway's cancel window; there is no fall
onset label, so any alarm in a fall trial counts and delay cannot be measured here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.evaluation.recording import EPOCH0, Recording, read_text

G = 9.80665
REORDER_S = 1.0
NAME_RE = re.compile(r"^S(?P<subject>\d+)A(?P<activity>\d+)T(?P<trial>\d+)\.csv(\.gz)?$")
FALLS = frozenset({10, 11, 12, 13, 14})
ACTIVITIES = {
    1: "drinking", 2: "picking up an object", 3: "jacket on and off", 4: "stepping up",
    5: "sweeping", 6: "washing hands", 7: "waving", 8: "walking", 9: "sit and stand",
    10: "back fall", 11: "front fall", 12: "left fall", 13: "right fall", 14: "rotating fall",
}
OLDER_ACTIVITIES = {8: "timed up-and-go"}   # the older wearers' A08 is a TUG test


class Unreadable(ValueError):
    """The file cannot be read as written (names the file, the line and the value)."""


@dataclass(frozen=True)
class Parsed:
    t: np.ndarray       # seconds from the first sample in time order
    xyz: np.ndarray     # g
    reordered: bool     # chunks written out of order were sorted back


def files(root: Path) -> list[Path]:
    root = Path(root)
    return sorted(p for p in root.rglob("*") if NAME_RE.match(p.name)
                  and p.parent.name in ("young", "old"))


def key(path: Path) -> tuple[str, str]:
    """(subject, activity) of a file, for deterministic samples."""
    m = NAME_RE.match(Path(path).name)
    return (f"S{m['subject']}", f"A{int(m['activity']):02d}") if m else ("", "")


def _time(text: str) -> float:
    """Seconds of a `YYYY-MM-DD HH:MM:SS.fff` stamp (or `HH:MM:SS.ffffff`, time of day),
    read as a naive clock: only differences are used."""
    if " " in text or "T" in text:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()
    t = dt.time.fromisoformat(text)
    return t.hour * 3600.0 + t.minute * 60.0 + t.second + t.microsecond / 1e6


def parse(text: str, name: str = "") -> Parsed:
    """Timestamps and samples of one file (raises Unreadable naming the line)."""
    t: list[float] = []
    rows: list[tuple[float, float, float]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(",")
        try:
            if len(parts) != 4:
                raise ValueError(f"{len(parts)} fields, expected timestamp,x,y,z")
            stamp = _time(parts[0].strip())
            row = (float(parts[1]), float(parts[2]), float(parts[3]))
        except ValueError as e:
            raise Unreadable(f"{name} line {n}: {line.strip()[:60]!r}: {e}; expected "
                             "'2022-08-05 10:06:00.183,x,y,z' (m/s^2)") from None
        t.append(stamp)
        rows.append(row)
    if len(t) < 2:
        raise Unreadable(f"{name}: {len(t)} samples; a recording needs at least two")
    ts = np.asarray(t, dtype=np.float64)
    xyz = np.asarray(rows, dtype=np.float64) / G
    reordered = bool((np.diff(ts) < -REORDER_S).any())
    if reordered:
        order = np.argsort(ts, kind="stable")
        ts, xyz = ts[order], xyz[order]
    return Parsed(ts - ts.min(), xyz, reordered)


def activity_name(code: int, older: bool) -> str:
    name = (OLDER_ACTIVITIES if older else {}).get(code, ACTIVITIES.get(code, "unknown"))
    return f"A{code:02d} {name}"


def load(path: Path, index: int = 0) -> Recording:
    """Read one trial; `index` staggers start times so recordings never overlap.
    `group` is "elderly" for the older wearers' folder (so the tables count them with
    SisFall's elderly subjects), "young" otherwise."""
    path = Path(path)
    m = NAME_RE.match(path.name)
    if not m:
        raise ValueError(f"not a SmartFallMM file name: {path.name}")
    p = parse(read_text(path), f"{path.parent.name}/{path.name}")
    older = path.parent.name == "old"
    code = int(m["activity"])
    return Recording(
        name=f"{path.parent.name}_{path.name.split('.')[0]}", dataset="smartfallmm",
        subject=f"S{m['subject']}", activity=activity_name(code, older),
        is_fall=code in FALLS, placement="wrist", t=EPOCH0 + index * 3600.0 + p.t, xyz=p.xyz,
        group="elderly" if older else "young")


@dataclass
class Skipped:
    """Files left out of an evaluation, with why (printed, never silent)."""

    unreadable: list[str]
    duplicates: list[str]

    def __str__(self) -> str:
        return (f"{len(self.unreadable)} unreadable ({'; '.join(self.unreadable)}), "
                f"{len(self.duplicates)} byte-identical copies of another trial of the same "
                f"wearer and activity ({', '.join(self.duplicates[:8])}"
                f"{' ...' if len(self.duplicates) > 8 else ''})")


def load_all(paths: list[Path], skipped: Skipped | None = None) -> list[Recording]:
    """Every readable trial once. A file identical to an earlier trial of the same wearer
    and activity (some wearers' T01-T05 are one recording saved five times) would count
    one movement five times, so only the first is kept; both kinds of skip are listed in
    `skipped`."""
    import hashlib
    seen: set[tuple[str, str]] = set()
    out: list[Recording] = []
    for p in paths:
        digest = hashlib.sha1(Path(p).read_bytes()).hexdigest()
        subject, activity = key(p)
        ident = (f"{Path(p).parent.name}/{subject}{activity}", digest)
        if ident in seen:
            if skipped is not None:
                skipped.duplicates.append(f"{Path(p).parent.name}/{Path(p).name}")
            continue
        seen.add(ident)
        try:
            out.append(load(p, len(out)))
        except Unreadable as e:
            if skipped is not None:
                skipped.unreadable.append(str(e).split(":")[0])
    return out
