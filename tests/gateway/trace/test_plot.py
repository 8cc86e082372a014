"""The trace plot's event labels (gateway/trace/plot.py) never print over each other."""

from __future__ import annotations


def test_trace_plot_labels_do_not_overprint() -> None:
    from gateway.trace.plot import LABEL_GAP, label_rows
    marks = [(100.0 + i, "fall_suspected") for i in range(5)] + [
        (103.0, "inactivity"), (104.0, "fall"), (50_000.0, "daily_summary")]
    placed = label_rows(marks, 0.0, 86_400.0)
    assert ("fall_suspected x5" in [text for _, text, _ in placed])
    for a in placed:
        for b in placed:
            if a is not b and a[2] == b[2]:
                assert abs(a[0] - b[0]) / 86_400.0 >= LABEL_GAP, (a, b)
