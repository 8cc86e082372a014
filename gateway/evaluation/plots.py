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
    fpr = [1 - (p["specificity"] or 0) for p in pts]
    tpr = [p["sensitivity"] or 0 for p in pts]
    ax.plot(fpr, tpr, "o-")
    for p, x, y in zip(pts, fpr, tpr, strict=True):
        ax.annotate(f'{p["threshold"]:g}', (x, y), textcoords="offset points", xytext=(4, -10),
                    fontsize=7)
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("sensitivity")
    ax.set_xlim(-0.002, max(0.02, 1.3 * max(fpr)))
    ax.set_ylim(min(0.8, min(tpr) - 0.02), 1.01)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
