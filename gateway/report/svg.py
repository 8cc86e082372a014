"""Small hand-written SVG charts for the care report: one feature over the days, the usual
range as a band, this week drawn stronger.

Why hand-written and not matplotlib: the gateway builds the report itself and matplotlib
is not on it (the `plot` extra is for developers); ~60 lines of SVG give charts of a few
kilobytes whose text is the page's own font and which scale to any width (viewBox).
"""

from __future__ import annotations

import math
from datetime import date
from html import escape
from typing import Callable

W, H = 320, 110
LEFT, RIGHT, TOP, BOTTOM = 62, 8, 8, 20


def chart(points: list[tuple[date, float]], usual: float, spread: float, week_start: date,
          label: Callable[[float], str], title: str, day_label: Callable[[date], str]) -> str:
    """A line of daily values; band = usual +- spread; this week's points filled."""
    known = [(d, v) for d, v in points if not math.isnan(v)]
    if not known:
        return ""
    d0, d1 = points[0][0], points[-1][0]
    span = max((d1 - d0).days, 1)
    vals = [v for _, v in known]
    lo, hi = min(vals), max(vals)
    if not math.isnan(usual):
        lo, hi = min(lo, usual - spread), max(hi, usual + spread)
    lo = max(lo, 0.0) if min(vals) >= 0 else lo   # hours and counts never go below 0
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad

    def x(d: date) -> float:
        return LEFT + (W - LEFT - RIGHT) * (d - d0).days / span

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (hi - v) / (hi - lo)

    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    if not math.isnan(usual):
        y0, y1 = y(usual + spread), y(usual - spread)
        parts.append(f'<rect class="band" x="{LEFT}" y="{y0:.1f}" width="{W - LEFT - RIGHT}" '
                     f'height="{max(y1 - y0, 1):.1f}"/>')
        parts.append(f'<line class="usual" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(usual):.1f}" '
                     f'y2="{y(usual):.1f}"/>')
    xw = x(week_start) - 2
    parts.append(f'<rect class="week" x="{xw:.1f}" y="{TOP}" width="{W - RIGHT - xw:.1f}" '
                 f'height="{H - TOP - BOTTOM}"/>')
    path, pen = [], "M"
    for d, v in points:
        if math.isnan(v):
            pen = "M"
            continue
        path.append(f"{pen}{x(d):.1f},{y(v):.1f}")
        pen = "L"
    parts.append(f'<path class="line" d="{" ".join(path)}"/>')
    for d, v in known:
        if d >= week_start:
            parts.append(f'<circle class="dot" cx="{x(d):.1f}" cy="{y(v):.1f}" r="2.6"/>')
    for v in (max(vals), min(vals)):
        parts.append(f'<text class="tick" x="{LEFT - 4}" y="{y(v) + 3:.1f}" '
                     f'text-anchor="end">{escape(label(v))}</text>')
    parts.append(f'<text class="tick" x="{LEFT}" y="{H - 5}">{escape(day_label(d0))}</text>')
    parts.append(f'<text class="tick" x="{W - RIGHT}" y="{H - 5}" text-anchor="end">'
                 f'{escape(day_label(d1))}</text>')
    parts.append("</svg>")
    return "".join(parts)
