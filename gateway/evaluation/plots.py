"""PNG plots of an evaluation: ROC over the main threshold and per-activity bars.

matplotlib is imported here, lazily and with the Agg backend, so the CLI starts fast and
works on a headless Pi.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def roc(points: list[dict[str, Any]], path: Path, title: str) -> Path:
    """`points`: dicts with threshold, sensitivity, specificity (one per swept threshold)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    pts = sorted(points, key=lambda p: (1 - (p["specificity"] or 0), p["sensitivity"] or 0))
    fpr = [1.0 - float(p["specificity"] or 0) for p in pts]
    tpr = [float(p["sensitivity"] or 0) for p in pts]
    ax.plot(fpr, tpr, "o-")
    xlim = (-0.002, max(0.02, 1.3 * max(fpr)))
    ylim = (min(0.8, min(tpr) - 0.02), 1.01)
    for x, y, text in roc_labels([p["threshold"] for p in pts], fpr, tpr, xlim, ylim):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("sensitivity")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def roc_labels(thresholds: list[float], fpr: list[float], tpr: list[float],
               xlim: tuple[float, float], ylim: tuple[float, float],
               gap: float = 0.05) -> list[tuple[float, float, str]]:
    """One label per cluster of ROC points closer than `gap` of the axes (thresholds that
    give the same sensitivity and specificity sit on one dot, and their labels overprinted):
    "1.5-2.5" at the cluster's first point."""
    xs, ys = max(xlim[1] - xlim[0], 1e-9), max(ylim[1] - ylim[0], 1e-9)
    groups: list[list[Any]] = []
    for t, x, y in zip(thresholds, fpr, tpr, strict=True):
        g = groups[-1] if groups else None
        if g is not None and abs(x - g[0]) / xs < gap and abs(y - g[1]) / ys < gap:
            g[2].append(t)
        else:
            groups.append([x, y, [t]])
    return [(x, y, f"{min(ts):g}" if len(ts) == 1 else f"{min(ts):g}-{max(ts):g}")
            for x, y, ts in groups]


def activity_bars(per_activity: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    """Per activity: share detected (falls) or share without a false alarm (ADLs)."""
    plt = _plt()
    names = list(per_activity)
    vals = [(v["sensitivity"] if v["falls"] else v["specificity"]) or 0.0
            for v in per_activity.values()]
    colours = ["tab:red" if per_activity[n]["falls"] else "tab:blue" for n in names]
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names)), 4))
    ax.bar(range(len(names)), vals, color=colours)
    ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("falls: detected / ADLs: no false alarm")
    ax.set_title(title, fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
