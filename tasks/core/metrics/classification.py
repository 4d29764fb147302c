"""Per-class precision, recall and F1 (Halo Trainer exercise classification, seed 000 Table 10;
Fitness-AQA per-error detection F1, seeds 001/004)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PRF:
    """Per-class scores and their macro averages; arrays are aligned with ``labels``."""

    labels: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    macro_precision: float
    macro_recall: float
    macro_f1: float


def precision_recall_f1(y_true, y_pred, labels=None) -> PRF:
    """Precision, recall and F1 per class, and their unweighted (macro) means.

    Halo Trainer (seed 000, §6.3, Table 10) reports exercise-classification precision, recall
    and F1 per exercise and their average ("an average F1 score of 0.972"); Fitness-AQA
    (seeds 001/004) reports F1 per error on presence labels. The definitions are scikit-learn's
    ``precision_recall_fscore_support`` with ``zero_division=0``: a class never predicted has
    precision 0, a class never true has recall 0, and macro F1 is the mean of the per-class F1
    (not the F1 of the macro precision and recall).

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)
        Class labels (any comparable values).
    labels : array_like, optional
        Classes to score, in output order. Default: the sorted union of both arrays. Samples
        of other classes still count as false positives/negatives of the listed ones.

    Returns
    -------
    PRF
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("y_true and y_pred must be 1-D arrays of the same length.")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    if labels.size == 0:
        raise ValueError("There are no labels to score.")
    if np.unique(labels).size != labels.size:
        raise ValueError("labels must not repeat.")
    # Map every value onto its position in ``labels`` (or -1 when unlisted), then count.
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def position(values):
        idx = np.clip(np.searchsorted(sorted_labels, values), 0, labels.size - 1)
        return np.where(sorted_labels[idx] == values, order[idx], -1)

    t, p = position(y_true), position(y_pred)
    n = labels.size
    tp = np.bincount(t[(t == p) & (t >= 0)], minlength=n).astype(float)
    support = np.bincount(t[t >= 0], minlength=n)
    predicted = np.bincount(p[p >= 0], minlength=n).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(n), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n), where=denom > 0)
    return PRF(
        labels=labels,
        precision=precision,
        recall=recall,
        f1=f1,
        support=support,
        macro_precision=float(precision.mean()),
        macro_recall=float(recall.mean()),
        macro_f1=float(f1.mean()),
    )
