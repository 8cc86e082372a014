"""`safehome trace plot`: one panel per stream, ground truth shaded, detections marked.

Streams are reduced while reading (an accelerometer block becomes its min and max
magnitude, a radar frame its target height), so a 24 h trace plots in constant memory.
matplotlib is imported here only, with the Agg backend, so a headless Pi can plot.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import numpy as np

from sensordata.trace.model import Label
from sensordata.trace.reader import RecordedEvent, TraceReader


def collect(reader: TraceReader, start: float | None = None, end: float | None = None
            ) -> tuple[dict[str, dict[str, list[float]]], list[Label], list[dict[str, Any]]]:
    series: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    labels: list[Label] = []
    recorded: list[dict[str, Any]] = []
    for item in reader.items(start, end):
        if isinstance(item, Label):
            labels.append(item)
            continue
        if isinstance(item, RecordedEvent):
            recorded.append(dict(item.row))
            continue
        key = f"{item.sensor}/{item.kind}"
        s = series[key]
        if item.kind == "accel":
            if len(item):
                mag = np.linalg.norm(item.xyz, axis=1)
                s["t"].append(item.end)
                s["hi"].append(float(mag.max()))
                s["lo"].append(float(mag.min()))
        elif item.kind == "radar_targets":
            s["t"].append(item.t)
            s["v"].append(max((g.height if g.height is not None else g.z) for g in item.targets)
                          if item.targets else np.nan)
        elif item.kind == "radar_points":
            s["t"].append(item.t)
            s["v"].append(float(len(item.points)))
        elif item.kind == "heart_rate":
            s["t"].append(item.t)
            s["v"].append(float(item.bpm) if item.bpm else np.nan)
        elif item.kind in ("motion", "contact", "presence", "fall_flag", "availability"):
            s["t"].append(item.t)
            s["v"].append(float(bool(getattr(item, {"motion": "active", "contact": "open",
                                                   "presence": "present", "fall_flag": "fall",
                                                   "availability": "online"}[item.kind]))))
        elif item.kind == "battery":
            s["t"].append(item.t)
            s["v"].append(np.nan if item.percent is None else float(item.percent))
        else:
            s["t"].append(item.t)
            s["v"].append(1.0)
    return series, labels, recorded


YLABEL = {"accel": "|a| g", "radar_targets": "height m", "radar_points": "points",
          "heart_rate": "bpm", "motion": "motion", "contact": "open", "battery": "%"}


def plot(path: str, out: str, events: list[Any] | None = None,
         start: float | None = None, end: float | None = None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    reader = TraceReader(path)
    series, labels, recorded = collect(reader, start, end)
    keys = sorted(series)
    if not keys:
        raise ValueError(f"{path}: no readings to plot")
    fig, axes = plt.subplots(len(keys), 1, sharex=True, figsize=(14, 1.6 * len(keys) + 1.2),
                             squeeze=False)

    def dt(ts: Any) -> Any:
        return [datetime.fromtimestamp(x, timezone.utc) for x in ts]

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
    for when, typ, _ in marks:
        top.annotate(typ, (dt([when])[0], 1.12), xycoords=("data", "axes fraction"),
                     fontsize=6, color="darkorange", rotation=20, va="bottom")
    axes[-1, 0].set_xlim(*dt([lo, hi]))
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    axes[-1, 0].set_xlabel("UTC")
    fig.suptitle(f"{reader.name}: shaded = ground truth, dashed = detected events", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return len(keys)
