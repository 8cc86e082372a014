"""The ROC plot's threshold labels (gateway/evaluation/plots.py) never print over each other."""

from __future__ import annotations


def test_roc_labels_do_not_overprint() -> None:
    from gateway.evaluation.plots import roc_labels
    thresholds = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    fpr = [0.30, 0.10, 0.0101, 0.0100, 0.0100, 0.0]
    tpr = [1.00, 1.00, 0.99, 0.99, 0.985, 0.90]
    labels = roc_labels(thresholds, fpr, tpr, (-0.002, 0.39), (0.8, 1.01))
    assert [text for _, _, text in labels] == ["0.5", "1", "1.5-2.5", "3"]
