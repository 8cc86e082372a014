"""CSV files of accelerometer samples -> traces, with errors that name line and column.

Datasets and other people's loggers come as CSV: x, y, z per line, with a sampling
rate or a time column, in g, m/s^2 or mg. Importing checks what can be checked (numbers
where numbers belong, time that moves forward, a rate that agrees with the time column,
values whose size fits the declared unit) so a wrong flag fails loudly instead of
producing a trace that silently trains detectors on nonsense.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.readings import AccelBlock
from gateway.trace.model import StreamInfo
from gateway.trace.writer import TraceWriter

UNITS = {"g": 1.0, "m/s2": 1 / 9.80665, "mg": 1e-3}
KINDS = ("accelerometer",)


class CsvError(ValueError):
    """Names the file, line and column; the CLI prints it and exits 2."""


@dataclass(frozen=True)
class CsvSpec:
    kind: str
    columns: tuple[str, ...]
    unit: str
    rate: float | None = None
    time_column: str | None = None
    time_unit: str = "s"
    placement: str | None = None
    start: float = 946684800.0      # 2000-01-01T00:00:00Z: when the file has no clock
    sensor: str | None = None


def _column_index(name: str, header: list[str] | None, path: str) -> int:
    if header is not None and name in header:
        return header.index(name)
    if name.isdigit() and int(name) >= 1:
        return int(name) - 1
    have = ", ".join(header) if header else "(no header line)"
    raise CsvError(f"{path}:1: no column named {name!r}; columns are: {have}")


def _not_utf8(path: str) -> str:
    """Where the first non-UTF-8 byte is (line number) and how to convert the file."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        raw.decode("utf-8-sig")
        where, byte = "?", "a byte"
    except UnicodeDecodeError as exc:
        where, byte = str(raw[:exc.start].count(b"\n") + 1), f"byte 0x{raw[exc.start]:02x}"
    return (f"{path}:{where}: {byte} is not UTF-8 text; convert the file first, e.g. "
            f"iconv -f latin1 -t utf-8 {Path(path).name} > converted.csv")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_csv(path: str | Path, spec: CsvSpec) -> tuple[np.ndarray, np.ndarray]:
    """(t seconds, xyz in g) from one CSV file; CsvError naming line and column."""
    path = str(path)
    if spec.unit not in UNITS:
        raise CsvError(f"{path}: unit {spec.unit!r} unknown; allowed: {', '.join(UNITS)}")
    if spec.rate is None and spec.time_column is None:
        raise CsvError(f"{path}: give --rate HZ or --time-column NAME")
    if spec.rate is not None and not spec.rate > 0:
        raise CsvError(f"{path}: --rate must be greater than 0 (got {spec.rate})")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
            except csv.Error:
                dialect = csv.excel
            rows = csv.reader(fh, dialect)
            lines: list[tuple[int, list[str]]] = [(i, [c.strip() for c in row])
                                                  for i, row in enumerate(rows, 1)
                                                  if row and any(c.strip() for c in row)]
    except UnicodeDecodeError:
        raise CsvError(_not_utf8(path)) from None
    if not lines:
        raise CsvError(f"{path}:1: the file holds no data")
    header = None
    if not all(_is_number(c) for c in lines[0][1] if c):
        header = lines[0][1]
        lines = lines[1:]
        if not lines:
            raise CsvError(f"{path}:2: the file holds a header line but no samples")
    cols = [_column_index(c, header, path) for c in spec.columns]
    if len(cols) != 3:
        raise CsvError(f"{path}: --columns needs three names (x, y, z), got {len(cols)}")
    tcol = _column_index(spec.time_column, header, path) if spec.time_column else None
    names = list(spec.columns) + ([spec.time_column] if spec.time_column else [])
    want = cols + ([tcol] if tcol is not None else [])
    values = np.empty((len(lines), len(want)))
    for r, (lineno, row) in enumerate(lines):
        for j, (ci, name) in enumerate(zip(want, names)):
            if ci >= len(row) or row[ci] == "":
                raise CsvError(f"{path}:{lineno}: column {name!r} ({ci + 1}) is missing "
                               f"(the line has {len(row)} fields)")
            text = row[ci].rstrip(";")
            try:
                values[r, j] = float(text)
            except ValueError:
                raise CsvError(f"{path}:{lineno}: column {name!r} ({ci + 1}): {text!r} is not "
                               "a number") from None
            if not np.isfinite(values[r, j]):
                raise CsvError(f"{path}:{lineno}: column {name!r} ({ci + 1}): {text!r} is not "
                               "a finite number")
    line_of = [ln for ln, _ in lines]
    xyz = values[:, :3] * UNITS[spec.unit]
    _check_unit(path, xyz, spec, line_of)
    if tcol is not None:
        t = values[:, 3] * {"s": 1.0, "ms": 1e-3, "us": 1e-6}[spec.time_unit]
        bad = np.flatnonzero(np.diff(t) <= 0)
        if len(bad):
            i = int(bad[0]) + 1
            raise CsvError(f"{path}:{line_of[i]}: column {spec.time_column!r}: time "
                           f"{float(values[i, 3])!r} does not come after "
                           f"{float(values[i - 1, 3])!r}")
        if spec.rate is not None and len(t) > 2:
            dt = float(np.median(np.diff(t)))
            if abs(dt * spec.rate - 1) > 0.05:
                raise CsvError(f"{path}:{line_of[1]}: column {spec.time_column!r}: samples are "
                               f"{dt * 1000:.2f} ms apart, which is {1 / dt:.1f} Hz, not the "
                               f"--rate {spec.rate:g} Hz")
        if t[0] < 1e8:   # relative times: place them at the start
            t = spec.start + (t - t[0])
    else:
        t = spec.start + np.arange(len(xyz)) / float(spec.rate)  # type: ignore[arg-type]
    return t, xyz


def _check_unit(path: str, xyz: np.ndarray, spec: CsvSpec, line_of: list[int]) -> None:
    """Worn or lying, an accelerometer reads about 1 g most of the time."""
    if len(xyz) < 10:
        return
    mag = np.linalg.norm(xyz, axis=1)
    med = float(np.median(mag))
    if 0.4 <= med <= 2.5:
        return
    guess = min(UNITS, key=lambda u: abs(np.log(max(med, 1e-9) / UNITS[spec.unit] * UNITS[u])))
    i = int(np.argmin(np.abs(mag - med)))
    raise CsvError(f"{path}:{line_of[i]}: columns {','.join(spec.columns)}: typical magnitude "
                   f"is {med:.3g} g with --unit {spec.unit}, not about 1 g; the values look "
                   f"like {guess!r}")


def sensor_id(path: str | Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path(path).stem)[:63] or "imported"


def import_csv(path: str | Path, out_dir: str | Path, spec: CsvSpec) -> Path:
    """Write one trace for one CSV file; returns its path."""
    t, xyz = read_csv(path, spec)
    sid = spec.sensor or sensor_id(path)
    out = Path(out_dir) / f"{Path(path).stem}.mcap"
    out.parent.mkdir(parents=True, exist_ok=True)
    rate = spec.rate or (1.0 / float(np.median(np.diff(t))) if len(t) > 1 else None)
    with TraceWriter(out, meta={"generator": "safehome trace import-csv",
                                "source": Path(path).name}) as w:
        w.add_stream(StreamInfo(sid, "accel", driver="csv", placement=spec.placement,
                                rate_hz=rate, units="g", axes=("x", "y", "z")))
        step = max(1, int(round(rate or 50)))
        for i in range(0, len(t), step):
            w.write(AccelBlock(sid, t[i:i + step], xyz[i:i + step]))
    return out
