"""Severity thresholds of Halo Trainer: a coarse-to-fine grid search maximising 0.9 Kappa1 + 0.1 Kappa0.

Halo Trainer (seed 000, §5 "Error Severity Classification") turns each continuous error-severity
score into a class with three thresholds, ``class = 0 if s < t1, 1 if t1 <= s < t2, 2 if
t2 <= s < t3, 3 if t3 <= s``, "found via a coarse-to-fine grid search that maximizes
0.9 Kappa1 + 0.1 Kappa0" once the model is trained. Kappa1 (Cohen's kappa with a +/-1 class
tolerance) is the key metric; the 0.1 Kappa0 term pins down thresholds that Kappa1 alone leaves
loose.

How the search works
--------------------
Only the partition of the sorted scores matters, so the search runs over *cut positions*
``0..U`` between the ``U`` distinct score values (position ``p`` means "classes change just
before the p-th distinct value"), and turns the winning cuts into threshold values at the end.

1. Per-class cumulative counts ``C[t, p] = #{y = t and score < u_p}`` are computed once
   (one sort and one cumulative sum). The confusion matrix of any cut tuple
   ``p_1 <= ... <= p_{K-1}`` is then a few differences of columns of ``C``, so a whole grid
   level of tuples is scored at once: confusions of shape (B, K, K), then Kappa0 and Kappa1 of
   all of them with ``annotation.core.agreement``'s batched kappa.
2. Coarse level: every non-decreasing tuple over ``coarse + 1`` evenly spaced quantile cuts,
   ``coarse`` cuts evenly spaced in score value, the cuts of the uniform quantiles
   (25/50/75 %) and the cuts that reproduce the true class frequencies. When there are at most
   ``coarse`` distinct scores, every cut is in the grid and the search is exhaustive.
3. Fine levels: around the best tuple, each cut moves over ``fine_points`` positions within
   +/- the current step; the step shrinks by ``(fine_points - 1) / 2`` per level, down to a
   single distinct value. The best tuple so far is kept, so the objective never decreases.
4. Ties go to the first tuple in lexicographic order of cuts: deterministic.

The cuts become thresholds strictly inside the gaps between distinct scores (midpoints; several
cuts in one gap are spread inside it), so a class can be left empty when that is best, and the
returned thresholds are strictly increasing.
"""
from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np

# The batched kappa lives with the other agreement statistics; importing it keeps a single
# definition of Kappa0/Kappa1 for the metrics and for this search.
from annotation.core.agreement import _kappa_from_confusion, kappa0, kappa1

#: Seed 000: "classifier loss = 0.9 Kappa1 + 0.1 Kappa0".
HALO_KAPPA1_WEIGHT = 0.9
# Tuples scored per batch, to bound memory (B x K x K floats) on large grids.
_BATCH = 20_000


def apply_thresholds(scores, thresholds) -> np.ndarray:
    """Classes from scores: the number of thresholds at or below each score.

    ``class = k`` for ``t_k <= score < t_{k+1}`` (``t_0 = -inf``), as in seed 000 §5.

    Parameters
    ----------
    scores : array_like
    thresholds : array_like, shape (K - 1,)
        Non-decreasing. Equal thresholds leave the class between them empty.

    Returns
    -------
    ndarray of intp, same shape as ``scores``
    """
    thresholds = np.asarray(thresholds, dtype=float)
    if thresholds.ndim != 1 or np.any(np.diff(thresholds) < 0) or not np.all(np.isfinite(thresholds)):
        raise ValueError("thresholds must be a 1-D, finite, non-decreasing array.")
    return np.searchsorted(thresholds, np.asarray(scores, dtype=float), side="right")


def threshold_objective(scores, y_true, thresholds, *, n_classes: int = 4,
                        kappa1_weight: float = HALO_KAPPA1_WEIGHT) -> float:
    """``kappa1_weight * Kappa1 + (1 - kappa1_weight) * Kappa0`` of thresholded scores (seed 000)."""
    pred = apply_thresholds(scores, thresholds)
    return (kappa1_weight * kappa1(y_true, pred, n_classes=n_classes)
            + (1.0 - kappa1_weight) * kappa0(y_true, pred, n_classes=n_classes))


def search_thresholds(
    scores,
    y_true,
    *,
    n_classes: int = 4,
    coarse: int = 32,
    fine_levels: int = 8,
    fine_points: int = 9,
    kappa1_weight: float = HALO_KAPPA1_WEIGHT,
) -> tuple[np.ndarray, float]:
    """Find ``n_classes - 1`` increasing thresholds maximising 0.9 Kappa1 + 0.1 Kappa0.

    The coarse-to-fine grid search of Halo Trainer (seed 000, §5); the module docstring
    describes the grid. Scores may have any range.

    Parameters
    ----------
    scores : array_like of float, shape (n,)
        Continuous predicted severity scores (e.g. the BMM-cleaned [0, 1] score's prediction).
    y_true : array_like of int, shape (n,)
        True classes in ``[0, n_classes)`` (the majority vote).
    n_classes : int, default 4
    coarse : int, default 32
        Cuts per axis of the coarse grid (twice that with the value-spaced cuts). The coarse
        level scores about ``C(2 * coarse + K - 2, K - 1)`` tuples: ~50k for K = 4.
    fine_levels : int, default 8
        Refinement levels after the coarse one (the search stops early once the step is one
        distinct value).
    fine_points : int, default 9
        Positions per cut and level, so up to ``fine_points ** (K - 1)`` tuples per level.
    kappa1_weight : float, default 0.9

    Returns
    -------
    thresholds : ndarray of float, shape (n_classes - 1,)
        Strictly increasing.
    objective : float
        ``kappa1_weight * Kappa1 + (1 - kappa1_weight) * Kappa0`` at those thresholds.

    Raises
    ------
    ValueError
        On malformed input, or when the objective is undefined for every candidate (e.g. with
        two classes Kappa1 is always undefined: every pair is within one class).
    """
    scores, y_true = _check_inputs(scores, y_true, n_classes)
    if coarse < 2 or fine_points < 3 or fine_levels < 0:
        raise ValueError("coarse must be >= 2, fine_points >= 3 and fine_levels >= 0.")
    n_cuts = n_classes - 1
    if n_cuts == 0:
        raise ValueError("n_classes must be at least 2.")

    order = np.argsort(scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y_true[order]
    distinct, first = np.unique(sorted_scores, return_index=True)
    n_distinct = distinct.shape[0]
    # below[t, p]: samples of class t with a score under the p-th distinct value (p = U: all).
    onehot_cum = np.zeros((n_classes, scores.shape[0] + 1))
    onehot_cum[:, 1:] = np.cumsum(np.eye(n_classes)[sorted_y].T, axis=1)
    below = onehot_cum[:, np.append(first, scores.shape[0])]
    class_totals = below[:, -1]

    def evaluate(cuts: np.ndarray) -> tuple[float, np.ndarray | None]:
        best_value, best_cut = -np.inf, None
        for start in range(0, cuts.shape[0], _BATCH):
            values = _objective(cuts[start:start + _BATCH], below, class_totals, kappa1_weight)
            i = int(np.argmax(values))
            if values[i] > best_value:
                best_value, best_cut = float(values[i]), cuts[start + i]
        return best_value, best_cut

    if n_distinct <= coarse:
        axis = np.arange(n_distinct + 1)
    else:
        quantile_cuts = np.round(np.linspace(0, n_distinct, coarse + 1)).astype(np.intp)
        value_cuts = np.searchsorted(distinct, np.linspace(distinct[0], distinct[-1], coarse), side="left")
        uniform = np.searchsorted(
            distinct, np.quantile(scores, np.arange(1, n_classes) / n_classes), side="left")
        prior = np.searchsorted(
            distinct, np.quantile(scores, np.cumsum(class_totals)[:-1] / scores.shape[0]), side="left")
        axis = np.unique(np.concatenate([quantile_cuts, value_cuts, uniform, prior]))
    grid = np.fromiter(combinations_with_replacement(axis, n_cuts), dtype=np.dtype((np.intp, n_cuts)))
    best_value, best_cut = evaluate(grid)

    if n_distinct > coarse:
        step = int(np.diff(axis).max())
        for _ in range(fine_levels):
            offsets = np.unique(np.round(np.linspace(-step, step, fine_points)).astype(np.intp))
            local = [np.unique(np.clip(c + offsets, 0, n_distinct)) for c in best_cut]
            mesh = np.stack(np.meshgrid(*local, indexing="ij"), axis=-1).reshape(-1, n_cuts)
            mesh = mesh[np.all(np.diff(mesh, axis=1) >= 0, axis=1)]
            value, cut = evaluate(mesh)
            if value > best_value:
                best_value, best_cut = value, cut
            if step == 1:
                break
            step = max(1, int(np.ceil(2 * step / (fine_points - 1))))
    if best_cut is None or not np.isfinite(best_value):
        raise ValueError("The objective is undefined (NaN kappa) for every candidate threshold set.")
    return _cuts_to_thresholds(best_cut, distinct), best_value


def _check_inputs(scores, y_true, n_classes):
    scores = np.asarray(scores, dtype=float)
    y_true = np.asarray(y_true)
    if scores.ndim != 1 or scores.shape != y_true.shape or scores.size == 0:
        raise ValueError("scores and y_true must be non-empty 1-D arrays of the same length.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite.")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min() < 0 or y_true.max() >= n_classes:
        raise ValueError(f"y_true must hold integer classes in [0, {n_classes}).")
    return scores, y_true.astype(np.intp)


def _objective(cuts, below, class_totals, kappa1_weight):
    """Objective of a batch of non-decreasing cut tuples, shape (B, K - 1) -> (B,); NaN -> -inf."""
    n_classes = below.shape[0]
    # cum[b, t, k]: samples of true class t predicted below class k + 1, i.e. in classes 0..k.
    totals = np.broadcast_to(class_totals[None, :, None], (cuts.shape[0], n_classes, 1))
    cum = np.concatenate([below[:, cuts].transpose(1, 0, 2), totals], axis=2)
    confusion = np.diff(cum, axis=2, prepend=0.0)
    k1 = _kappa_from_confusion(confusion, 1)
    k0 = _kappa_from_confusion(confusion, 0)
    value = kappa1_weight * k1 + (1.0 - kappa1_weight) * k0
    return np.where(np.isnan(value), -np.inf, value)


def _cuts_to_thresholds(cuts: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Strictly increasing thresholds realising the cut positions.

    A cut at position p (0 < p < U) lies in the open gap between the (p-1)-th and p-th distinct
    scores, so it moves no score; m cuts sharing a gap are spread evenly inside it. Cuts at 0 end
    at the lowest score (every score is at or above them); cuts at U start just above the highest.
    """
    n_distinct = distinct.shape[0]
    scale = max(float(np.ptp(distinct)), float(np.abs(distinct).max()), 1.0)
    delta = scale * 1e-9
    thresholds = np.empty(cuts.shape[0])
    for p in np.unique(cuts):
        idx = np.flatnonzero(cuts == p)
        m = idx.shape[0]
        if p == 0:
            thresholds[idx] = distinct[0] - delta * np.arange(m - 1, -1, -1)
        elif p == n_distinct:
            thresholds[idx] = distinct[-1] + delta * np.arange(1, m + 1)
        else:
            lo, hi = distinct[p - 1], distinct[p]
            thresholds[idx] = lo + (hi - lo) * np.arange(1, m + 1) / (m + 1)
    return thresholds
