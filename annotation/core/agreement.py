"""Agreement statistics for ordinal severity labels: Kappa0, Kappa1, annotator agreement, alpha.

Halo Trainer (seed 000, Sec. 6.2 and Table 9) scores severity with Cohen's kappa without
tolerance (Kappa0) and with a +/-1 severity-level tolerance (Kappa1), and sets the per-error-type
target to 85 % of the annotators' own Kappa1. The annotators' Kappa1 is measured here as each
annotator against the leave-one-out majority of the other annotators of the same item.
"""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np

from annotation.core.votes import majority_from_histogram, vote_histogram

__all__ = [
    "HALO_TARGET_RATIO",
    "AgreementSummary",
    "annotator_agreement",
    "cohen_kappa",
    "halo_target",
    "kappa0",
    "kappa1",
    "krippendorff_alpha_ordinal",
]

#: Halo Trainer (seed 000, Table 9): "Target is 85% of reliability between annotators".
HALO_TARGET_RATIO = 0.85


def _tolerance_mask(n_classes: int, tolerance: int) -> np.ndarray:
    classes = np.arange(n_classes)
    return np.abs(classes[:, None] - classes[None, :]) <= tolerance


def _kappa_from_confusion(confusion: np.ndarray, tolerance: int) -> np.ndarray:
    """Kappa of one or many confusion matrices, shape (..., K, K) -> (...).

    observed = share of pairs within ``tolerance``; expected = sum_ij p_i q_j [|i-j| <= tolerance]
    with p, q the two raters' marginals; kappa = (observed - expected) / (1 - expected).
    NaN when there are no pairs or when chance agreement is total (expected == 1): kappa is then
    undefined, which is also what scikit-learn returns (0/0) for tolerance 0.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    mask = _tolerance_mask(confusion.shape[-1], tolerance)
    n = confusion.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = confusion.sum(axis=-1) / n[..., None]
        q = confusion.sum(axis=-2) / n[..., None]
        observed = (confusion * mask).sum(axis=(-2, -1)) / n
        expected = np.einsum("...i,ij,...j->...", p, mask.astype(np.float64), q)
        # 1 - expected below ~1e-12 is total chance agreement up to rounding: undefined.
        defined = (n > 0) & (1.0 - expected > 1e-12)
        kappa = np.where(defined, (observed - expected) / np.where(defined, 1.0 - expected, 1.0), np.nan)
    return kappa


def _check_labels(y, n_classes: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer classes")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, {n_classes})")
    return y.astype(np.intp, copy=False)


def cohen_kappa(y1, y2, *, n_classes: int = 4, tolerance: int = 0) -> float:
    """Cohen's kappa between two raters, optionally with an ordinal tolerance.

    ``tolerance=0`` is Cohen's kappa (equal to ``sklearn.metrics.cohen_kappa_score``);
    ``tolerance=1`` is Halo Trainer's Kappa1: observed agreement is the share of pairs with
    ``|a - b| <= 1``, expected agreement is ``sum_ij p_i q_j [|i - j| <= 1]``.

    Parameters
    ----------
    y1, y2 : array_like of int, shape (n,)
        Classes in ``[0, n_classes)`` from the two raters (e.g. ground truth and prediction).
    n_classes : int, default 4
    tolerance : int, default 0
        Largest class distance that still counts as agreement.

    Returns
    -------
    float
        NaN when undefined (no pairs, or chance agreement is 1, e.g. Kappa1 when both raters only
        use classes 0 and 1).

    References
    ----------
    J. Cohen. A coefficient of agreement for nominal scales. Educ. Psychol. Meas. 20 (1960).
    Halo Trainer (seed 000), Sec. 4 and 6.2 (Kappa0, Kappa1).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    y1 = _check_labels(y1, n_classes, "y1")
    y2 = _check_labels(y2, n_classes, "y2")
    if y1.shape != y2.shape:
        raise ValueError("y1 and y2 must have the same length")
    confusion = np.bincount(y1 * n_classes + y2, minlength=n_classes * n_classes)
    return float(_kappa_from_confusion(confusion.reshape(n_classes, n_classes), tolerance))


def kappa0(y1, y2, n_classes: int = 4) -> float:
    """Halo Trainer's Kappa0: Cohen's kappa without tolerance. See `cohen_kappa`."""
    return cohen_kappa(y1, y2, n_classes=n_classes, tolerance=0)


def kappa1(y1, y2, n_classes: int = 4) -> float:
    """Halo Trainer's Kappa1: Cohen's kappa with a +/-1 severity tolerance. See `cohen_kappa`."""
    return cohen_kappa(y1, y2, n_classes=n_classes, tolerance=1)


def halo_target(annotator_kappa1):
    """Per-error-type Kappa1 target: ``HALO_TARGET_RATIO`` (85 %) of the annotators' Kappa1.

    Accepts a scalar (returns float) or an array (returns an array).
    """
    target = HALO_TARGET_RATIO * np.asarray(annotator_kappa1, dtype=np.float64)
    return float(target) if target.ndim == 0 else target


@dataclass(frozen=True)
class AgreementSummary:
    """Each annotator against the leave-one-out majority of the other annotators.

    Attributes
    ----------
    kappa0, kappa1 : ndarray of float, shape (n_annotators,)
        Per-annotator Kappa0 / Kappa1; NaN where undefined (no scored items, or total chance
        agreement).
    n_items : ndarray of int, shape (n_annotators,)
        Items scored per annotator (items where at least one other annotator voted).
    mean_kappa0, mean_kappa1 : float
        Mean of the defined per-annotator kappas weighted by ``n_items`` (an annotator with three
        items should not weigh as much as one with thousands); NaN if none is defined.
    pooled_kappa0, pooled_kappa1 : float
        Kappa of all (own vote, leave-one-out majority) pairs pooled over annotators.
    """

    kappa0: np.ndarray
    kappa1: np.ndarray
    n_items: np.ndarray
    mean_kappa0: float
    mean_kappa1: float
    pooled_kappa0: float
    pooled_kappa1: float


def _weighted_nanmean(values: np.ndarray, weights: np.ndarray) -> float:
    defined = ~np.isnan(values) & (weights > 0)
    if not defined.any():
        return float("nan")
    return float(np.average(values[defined], weights=weights[defined]))


def annotator_agreement(
    item_idx, annotator_idx, values, *, n_items: int, n_annotators: int, n_classes: int = 4
) -> AgreementSummary:
    """Kappa0 / Kappa1 of each annotator against the leave-one-out majority of the others.

    For every vote, the reference is the majority of the *other* votes on the same item (ties
    toward the lower severity, as in `annotation.core.votes`). Vectorised: the leave-one-out
    histogram is the item histogram gathered per vote minus the vote itself, and the per-annotator
    confusion matrices come from one ``np.bincount``. Items where nobody else voted are skipped.
    Assumes one vote per (item, annotator), which the platform enforces.

    Parameters
    ----------
    item_idx, annotator_idx, values : array_like of int, shape (n_votes,)
    n_items, n_annotators : int
    n_classes : int, default 4

    Returns
    -------
    AgreementSummary

    References
    ----------
    Halo Trainer (seed 000), Table 9: "Target is 85% of reliability between annotators".
    """
    annotator_idx = np.asarray(annotator_idx)
    histogram = vote_histogram(item_idx, values, n_items=n_items, n_classes=n_classes)
    item_idx = np.asarray(item_idx, dtype=np.intp)
    values = np.asarray(values, dtype=np.intp)
    if annotator_idx.shape != item_idx.shape:
        raise ValueError("annotator_idx must have the same length as item_idx")
    if annotator_idx.size and (annotator_idx.min() < 0 or annotator_idx.max() >= n_annotators):
        raise ValueError(f"annotator_idx must lie in [0, {n_annotators})")
    annotator_idx = annotator_idx.astype(np.intp, copy=False)

    # int32 halves the (n_votes, n_classes) gather; an item never holds 2**31 votes.
    loo = histogram.astype(np.int32)[item_idx]
    loo[np.arange(loo.shape[0]), values] -= 1
    scored = loo.sum(axis=1) > 0
    reference = majority_from_histogram(loo[scored])
    del loo

    own = values[scored]
    annotators = annotator_idx[scored]
    k2 = n_classes * n_classes
    confusion = np.bincount(
        annotators * k2 + own * n_classes + reference, minlength=n_annotators * k2
    ).reshape(n_annotators, n_classes, n_classes)
    n_scored = confusion.sum(axis=(1, 2))
    per0 = _kappa_from_confusion(confusion, 0)
    per1 = _kappa_from_confusion(confusion, 1)
    pooled = confusion.sum(axis=0)
    return AgreementSummary(
        kappa0=per0,
        kappa1=per1,
        n_items=n_scored,
        mean_kappa0=_weighted_nanmean(per0, n_scored),
        mean_kappa1=_weighted_nanmean(per1, n_scored),
        pooled_kappa0=float(_kappa_from_confusion(pooled, 0)),
        pooled_kappa1=float(_kappa_from_confusion(pooled, 1)),
    )


def krippendorff_alpha_ordinal(
    item_idx, annotator_idx, values, *, n_items: int, n_annotators: int, n_classes: int = 4
) -> float:
    """Krippendorff's alpha (ordinal) of the votes, computed by the ``krippendorff`` package.

    Alpha depends on the data only through each item's value counts, so the package is called
    with its ``value_counts`` form (items x classes) instead of the annotators x items reliability
    matrix: no NaN-padded matrix is built and no subsampling is needed. Items with fewer than two
    votes add nothing to the coincidence matrix and are dropped before the call, which is exact.
    Memory is about ``32 * n_classes**2`` bytes per pairable item (~460 MB at 900,000 items).

    Parameters
    ----------
    item_idx, annotator_idx, values : array_like of int, shape (n_votes,)
    n_items, n_annotators : int
    n_classes : int, default 4

    Returns
    -------
    float
        NaN when no item has two votes (alpha is undefined).

    References
    ----------
    K. Krippendorff. Computing Krippendorff's alpha-reliability (2011).
    """
    annotator_idx = np.asarray(annotator_idx)
    if annotator_idx.size and (annotator_idx.min() < 0 or annotator_idx.max() >= n_annotators):
        raise ValueError(f"annotator_idx must lie in [0, {n_annotators})")
    if annotator_idx.shape != np.shape(item_idx):
        raise ValueError("annotator_idx must have the same length as item_idx")
    histogram = vote_histogram(item_idx, values, n_items=n_items, n_classes=n_classes)
    pairable = histogram[histogram.sum(axis=1) >= 2]
    if pairable.shape[0] == 0:
        return float("nan")
    return float(
        krippendorff.alpha(
            value_counts=pairable,
            value_domain=np.arange(n_classes),
            level_of_measurement="ordinal",
        )
    )
