"""Classification metrics (computed by scikit-learn), their intervals, and the calibration error (ECE)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             multilabel_confusion_matrix, precision_recall_fscore_support, recall_score, roc_auc_score,
                             roc_curve)


def specificity_per_class(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """TN / (TN + FP) for each class, one-vs-rest."""
    mcm = multilabel_confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))
    tn, fp = mcm[:, 0, 0], mcm[:, 0, 1]
    return np.divide(tn, tn + fp, out=np.zeros(n_classes), where=(tn + fp) > 0)


def roc_auc_per_class(y_true: np.ndarray, probs: np.ndarray) -> list[float | None]:
    """One-vs-rest ROC-AUC per class; ``None`` where a class has no positives or no negatives."""
    out: list[float | None] = []
    for c in range(probs.shape[1]):
        positives = y_true == c
        out.append(float(roc_auc_score(positives, probs[:, c])) if 0 < positives.sum() < len(y_true) else None)
    return out


def classification_metrics(y_true: Sequence[int], probs: np.ndarray, classes: Sequence[str]) -> dict:
    """Every figure the evaluation report shows.

    Args:
        y_true: integer labels, ``(N,)``.
        probs: predicted probabilities, ``(N, C)``.
        classes: class names in column order.
    Returns:
        JSON-ready dict: accuracy, balanced accuracy, macro/weighted F1, macro
        one-vs-rest ROC-AUC, per-class precision/recall/specificity/F1/AUC/support,
        and the confusion matrix (rows = truth, columns = prediction).
    """
    y_true = np.asarray(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    n = len(classes)
    labels = list(range(n))
    y_pred = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    specificity = specificity_per_class(y_true, y_pred, n)
    auc = roc_auc_per_class(y_true, probs)
    defined = [a for a in auc if a is not None]
    return {
        "n_images": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "macro_roc_auc_ovr": float(np.mean(defined)) if defined else None,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]),
                   "specificity": float(specificity[i]), "f1": float(f1[i]),
                   "roc_auc": auc[i], "support": int(support[i])}
            for i, name in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": list(classes),
        "tumour_vs_no_tumour": tumour_vs_normal(y_true, y_pred, list(classes)),
    }


def tumour_vs_normal(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str],
                     normal: str = "notumor") -> dict | None:
    """Any tumour class against no tumour: sensitivity (tumours found) and specificity.

    Missing a tumour is the costly error, so sensitivity is the figure to watch.
    """
    if normal not in classes:
        return None
    k = classes.index(normal)
    truth, guess = np.asarray(y_true) != k, np.asarray(y_pred) != k
    return {"sensitivity": float(recall_score(truth, guess, pos_label=True, zero_division=0)),
            "specificity": float(recall_score(truth, guess, pos_label=False, zero_division=0)),
            "missed_tumours": int((truth & ~guess).sum()), "tumours": int(truth.sum())}


def bootstrap_ci(y_true: Sequence[int], y_pred: Sequence[int], statistic, confidence: float = 0.95,
                 n_resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(y_true, y_pred)`` over images (scipy.stats.bootstrap).

    Returns:
        ``(low, high)``; ``(value, value)`` when every resample gives the same figure.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return _percentile_interval((y_true, y_pred), statistic, confidence, n_resamples, seed)


def mean_with_ci(values: Sequence[float], confidence: float = 0.95, n_resamples: int = 1000,
                 seed: int = 0) -> dict:
    """Mean of per-image figures, with its percentile bootstrap interval, and their median.

    Returns:
        ``{"mean", "ci95", "median", "n"}``.
    """
    values = np.asarray(values, dtype=np.float64)
    interval = _percentile_interval((values,), np.mean, confidence, n_resamples, seed)
    return {"mean": float(values.mean()), "ci95": list(interval), "median": float(np.median(values)),
            "n": int(values.size)}


def cluster_rate_ci(groups: Sequence, hits: Sequence, confidence: float = 0.95, n_resamples: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a share of rows (``hits.mean()``) that resamples whole case groups.

    Slices of one case are not independent: resampling them one by one would give intervals that
    are too narrow. scipy.stats.bootstrap draws case groups with replacement, and each resample's
    share is its drawn groups' hits over their rows (the ratio estimator: a group weighs as many
    slices as it holds, as in the figure itself). docs/intervals.md gives the method and its
    coverage, measured by tests/test_metrics.py and benchmarks/interval_coverage.py.

    Args:
        groups: one group id per row.
        hits: one 0/1 (or bool) per row.
    """
    per_group = rows_and_hits_per_group(groups, hits)
    return _percentile_interval(per_group, share_of_rows, confidence, n_resamples, seed, vectorized=True)


def share_of_rows(hits: np.ndarray, rows: np.ndarray, axis: int = -1) -> np.ndarray:
    """Hits over rows, summed along ``axis``: a share of slices from per-group counts (vectorised for scipy)."""
    return hits.sum(axis=axis) / rows.sum(axis=axis)


def rows_and_hits_per_group(groups: Sequence, hits: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Per case group: the number of hits and the number of rows (``np.unique`` order)."""
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    hits_per_group = np.bincount(inverse, weights=np.asarray(hits, dtype=np.float64))
    return hits_per_group, np.bincount(inverse).astype(np.float64)


def _percentile_interval(samples: tuple[np.ndarray, ...], statistic, confidence: float, n_resamples: int,
                         seed: int, vectorized: bool = False) -> tuple[float, float]:
    """scipy's percentile bootstrap over images (paired when there are several arrays)."""
    result = bootstrap(samples, statistic, paired=True, vectorized=vectorized, method="percentile",
                       confidence_level=confidence, n_resamples=n_resamples, random_state=seed)
    low, high = result.confidence_interval
    if np.isnan(low) or np.isnan(high):  # degenerate: all resamples equal
        value = float(statistic(*samples))
        return value, value
    return float(low), float(high)


def headline_with_ci(y_true: Sequence[int], probs: np.ndarray, n_classes: int) -> dict:
    """Accuracy and macro-F1 with bootstrap 95% intervals."""
    y_pred = np.asarray(probs).argmax(axis=1)
    labels = list(range(n_classes))

    def macro_f1(t, p):
        return f1_score(t, p, labels=labels, average="macro", zero_division=0)

    return {"accuracy_ci95": list(bootstrap_ci(y_true, y_pred, accuracy_score)),
            "macro_f1_ci95": list(bootstrap_ci(y_true, y_pred, macro_f1))}


def downsample_curve(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of a curve, evenly spaced along it, first and last kept."""
    if len(x) <= max_points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return x[keep], y[keep]


def roc_curve_points(y_true: Sequence[int], probs: np.ndarray, classes: Sequence[str],
                     max_points: int = 100, decimals: int = 5) -> dict[str, dict]:
    """One-vs-rest ROC curve per class (sklearn ``roc_curve``), small enough for a JSON file.

    Returns:
        ``{class: {"fpr": [...], "tpr": [...], "auc": float | None}}`` with at most
        ``max_points`` points per class; empty lists and ``None`` where a class has
        no positives or no negatives.
    """
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=np.float64)
    auc = roc_auc_per_class(y_true, probs)
    out: dict[str, dict] = {}
    for c, name in enumerate(classes):
        if auc[c] is None:
            out[name] = {"fpr": [], "tpr": [], "auc": None}
            continue
        fpr, tpr, _ = roc_curve(y_true == c, probs[:, c])
        fpr, tpr = downsample_curve(fpr, tpr, max_points)
        out[name] = {"fpr": np.round(fpr, decimals).tolist(), "tpr": np.round(tpr, decimals).tolist(),
                     "auc": auc[c]}
    return out


def reliability_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> dict:
    """Top-class confidence against accuracy in equal-width bins.

    Returns:
        ``confidence``, ``accuracy`` and ``count`` per non-empty bin, and ``ece``:
        the count-weighted mean gap between them.
    """
    probs, labels = np.asarray(probs), np.asarray(labels)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    out = {"confidence": [], "accuracy": [], "count": []}
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            out["confidence"].append(float(confidence[mask].mean()))
            out["accuracy"].append(float(correct[mask].mean()))
            out["count"].append(int(mask.sum()))
            ece += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    out["ece"] = float(ece)
    return out
