"""`safehome trace plot`: one panel per stream, ground truth shaded, detections marked.

Streams are reduced while reading (an accelerometer block becomes its min and max
magnitude, a radar frame its target height), so a 24 h trace plots in constant memory.
matplotlib is imported here only, with the Agg backend, so a headless Pi can plot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from sensordata.readings import (
    AccelBlock,
    Availability,
    Battery,
    Contact,
    FallFlag,
    HeartRate,
    Motion,
    Presence,
    RadarPoints,
    RadarTargets,
    Reading,
    reading_time,
)
from sensordata.trace.model import Label, local_time
from sensordata.trace.reader import RecordedEvent, TraceReader

#: Closer than this (fraction of the plot's width) two event labels would overprint.
LABEL_GAP = 0.07
LABEL_ROWS = 3


def label_rows(marks: list[tuple[float, str]], lo: float, hi: float,
               gap: float = LABEL_GAP, rows: int = LABEL_ROWS) -> list[tuple[float, str, int]]:
    """Event labels that do not overprint: marks of one type closer than `gap` become one
    label ("fall_suspected x3"), and labels are stacked on up to `rows` rows so that no two
    on a row are closer than `gap`. Returns (time, text, row)."""
    width = max(hi - lo, 1e-9)
    merged: list[list[Any]] = []
    open_by_type: dict[str, list[Any]] = {}
    for when, typ in sorted(marks):
        cluster = open_by_type.get(typ)
        if cluster is not None and (when - cluster[2]) / width < gap:
            cluster[2] = when
            cluster[3] += 1
        else:
            open_by_type[typ] = cluster = [when, typ, when, 1]
            merged.append(cluster)
    last_x = [-1.0] * rows
    out = []
    for first, typ, _, n in sorted(merged, key=lambda c: c[0]):
        x = (first - lo) / width
        row = next((r for r in range(rows) if x - last_x[r] >= gap),
                   min(range(rows), key=lambda r: last_x[r]))
        last_x[row] = x
        out.append((first, typ if n == 1 else f"{typ} x{n}", row))
    return out


def _value(item: Reading) -> float:
    """One plotted number per reading: heights, counts, rates, or 0/1 for states."""
    if isinstance(item, RadarTargets):
        return (max((g.height if g.height is not None else g.z) for g in item.targets)
                if item.targets else np.nan)
    if isinstance(item, RadarPoints):
        return float(len(item.points))
    if isinstance(item, HeartRate):
        return float(item.bpm) if item.bpm else np.nan
    if isinstance(item, Motion):
        return float(item.active)
    if isinstance(item, Contact):
        return float(item.open)
    if isinstance(item, Presence):
        return float(bool(item.present))
    if isinstance(item, FallFlag):
        return float(item.fall)
    if isinstance(item, Availability):
        return float(item.online)
    if isinstance(item, Battery):
        return np.nan if item.percent is None else float(item.percent)
    return 1.0


def collect(reader: TraceReader, start: float | None = None, end: float | None = None,
            progress: Callable[[float], None] | None = None,
            ) -> tuple[dict[str, dict[str, list[float]]], list[Label], list[dict[str, Any]]]:
    series: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    labels: list[Label] = []
    recorded: list[dict[str, Any]] = []
    for n, item in enumerate(reader.items(start, end)):
        if isinstance(item, Label):
            labels.append(item)
            continue
        if isinstance(item, RecordedEvent):
            recorded.append(dict(item.row))
            continue
        if progress is not None and n % 4096 == 0:
            progress(reading_time(item))
        s = series[f"{item.sensor}/{item.kind}"]
        if isinstance(item, AccelBlock):
            if len(item):
                mag = np.linalg.norm(item.xyz, axis=1)
                s["t"].append(item.end)
                s["hi"].append(float(mag.max()))
                s["lo"].append(float(mag.min()))
            continue
        s["t"].append(item.t)
        s["v"].append(_value(item))
    return series, labels, recorded


YLABEL = {"accel": "|a| g", "radar_targets": "height m", "radar_points": "points",
          "heart_rate": "bpm", "motion": "motion", "contact": "open", "battery": "%"}


def plot(path: str, out: str, events: list[Any] | None = None,
         start: float | None = None, end: float | None = None,
         progress: Callable[[float], None] | None = None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    reader = TraceReader(path)
    tzname = reader.timezone or "UTC"
    tz = ZoneInfo(tzname)
    series, labels, recorded = collect(reader, start, end, progress)
    keys = sorted(series)
    if not keys:
        raise ValueError(f"{path}: no readings to plot")
    fig, axes = plt.subplots(len(keys), 1, sharex=True, figsize=(14, 1.6 * len(keys) + 1.2),
                             squeeze=False)

    def dt(ts: Any) -> Any:
        return [datetime.fromtimestamp(x, tz) for x in ts]

    lo = min(min(series[k]["t"]) for k in keys if series[k]["t"])
    hi = max(max(series[k]["t"]) for k in keys if series[k]["t"])
    labels = [lb for lb in labels if lb.t <= hi and lb.end >= lo]
    marks = [(e.occurred_at, e.type, e.is_alarm) for e in (events or [])]
    marks += [(float(r.get("occurred_at", 0)), str(r.get("type")), False) for r in recorded]
    marks = [m for m in marks if lo <= m[0] <= hi]
    for ax, key in zip(axes[:, 0], keys, strict=True):
        s = series[key]
        kind = key.rsplit("/", 1)[1]
        t = dt(s["t"])
        if kind == "accel":
            ax.fill_between(t, s["lo"], s["hi"], step="post", lw=0.4, color="tab:blue")
        elif kind in ("motion", "contact"):
            ax.step(t, s["v"], where="post", lw=0.8)
            ax.set_ylim(-0.1, 1.2)
        else:
            ax.plot(t, s["v"], lw=0.6)
        ax.set_ylabel(f"{key}\n{YLABEL.get(kind, '')}", fontsize=7, rotation=0, ha="right")
        for lb in labels:
            color = "tab:red" if lb.expect else "0.85"
            ax.axvspan(*dt([max(lb.t, lo), min(max(lb.end, lb.t + 1), hi)]), color=color,
                       alpha=0.25, lw=0)
        for when, _typ, alarm in marks:
            ax.axvline(dt([when])[0], color="red" if alarm else "orange", lw=0.8, ls="--")
    top = axes[0, 0]
    for lb in labels:
        if lb.expect:
            top.annotate(lb.what, (dt([lb.t])[0], 1.0), xycoords=("data", "axes fraction"),
                         fontsize=7, color="tab:red", va="bottom")
    for when, text, row in label_rows([(m[0], m[1]) for m in marks], lo, hi):
        top.annotate(text, (dt([when])[0], 1.10 + 0.28 * row), xycoords=("data", "axes fraction"),
                     fontsize=6, color="darkorange", va="bottom")
    axes[-1, 0].set_xlim(*dt([lo, hi]))
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=tz))
    offset = local_time(lo, tzname)[-6:]
    axes[-1, 0].set_xlabel(f"local time, {tzname} (UTC{offset}); from {local_time(lo, tzname)}")
    fig.suptitle(f"{reader.name}: shaded = ground truth, dashed = detected events", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return len(keys)
