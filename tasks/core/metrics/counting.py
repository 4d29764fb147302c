"""Repetition-counting metrics of Halo Trainer (seed 000, §6.1, Tables 2, 7, 8): OBO, MAE, EORL(K)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EORL_DENOMINATORS = ("max", "pred", "true")


def _counts_pair(pred, true) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=float)
    true = np.asarray(true, dtype=float)
    if pred.ndim != 1 or pred.shape != true.shape:
        raise ValueError("pred and true must be 1-D arrays of the same length.")
    if pred.size == 0:
        raise ValueError("There are no clips to score.")
    return pred, true


def obo(pred_counts, true_counts) -> float:
    """Off-by-one accuracy: the share of clips whose count is off by at most one.

    Halo Trainer (seed 000, §6.1) reports OBO with MAE, following RepNet and TransRAC:
    ``OBO = (1/N) sum_i [|c_hat_i - c_i| <= 1]``.

    Parameters
    ----------
    pred_counts, true_counts : array_like, shape (n_clips,)
        Repetition count per clip. Pass integer predictions: TransRAC rounds a continuous
        predicted count before comparing; do that first if your model outputs real counts.

    Returns
    -------
    float
        In [0, 1]; higher is better.
    """
    pred, true = _counts_pair(pred_counts, true_counts)
    return float(np.mean(np.abs(pred - true) <= 1))


def count_mae(pred, true) -> float:
    """Normalised mean absolute counting error, ``(1/N) sum_i |c_hat_i - c_i| / c_i``.

    This is the "MAE" of Halo Trainer (seed 000, Tables 2, 7, 8, e.g. 0.010 for the full test
    split) and of RepNet/TransRAC: the absolute error is divided by the true count, so it is a
    relative error, not a count.

    Parameters
    ----------
    pred, true : array_like, shape (n_clips,)
        Predicted and true repetition counts; every true count must be positive.

    Returns
    -------
    float
        Lower is better; 0 is perfect.

    Raises
    ------
    ValueError
        If a true count is zero or negative (the normalisation is undefined).
    """
    pred, true = _counts_pair(pred, true)
    if np.any(true <= 0):
        raise ValueError("count_mae divides by the true count, which must be positive for every clip.")
    return float(np.mean(np.abs(pred - true) / true))


def eorl_matches(pred_ends_s, true_ends_s, k_s: float = 0.5) -> int:
    """Number of one-to-one matches between predicted and true repetition ends of one clip.

    A predicted end matches a true end when ``|pred - true| < k_s`` (strict, as in seed 000
    Eq. 1); each end is used at most once, and the count is the largest possible. Because every
    true end accepts the same window width, a two-pointer sweep over both sorted lists that
    matches the earliest compatible pair is a maximum matching (an interval-graph argument), so
    no assignment solver is needed.

    Parameters
    ----------
    pred_ends_s, true_ends_s : array_like, shape (n,)
        Repetition end times of one clip, in seconds (any order).
    k_s : float
        Tolerance K in seconds.

    Returns
    -------
    int
    """
    if k_s <= 0:
        raise ValueError(f"k_s must be positive, got {k_s}.")
    pred = np.sort(np.asarray(pred_ends_s, dtype=float).ravel())
    true = np.sort(np.asarray(true_ends_s, dtype=float).ravel())
    i = j = matched = 0
    while i < pred.size and j < true.size:
        if abs(pred[i] - true[j]) < k_s:
            matched += 1
            i += 1
            j += 1
        elif pred[i] < true[j]:
            i += 1
        else:
            j += 1
    return matched


def eorl(
    pred_ends_s: Sequence,
    true_ends_s: Sequence,
    k_s: float = 0.5,
    *,
    denominator: str = "max",
    average: str = "clip",
) -> float:
    """End-of-Repetition Localisation, EORL(K), of Halo Trainer (seed 000, §6.1, Eq. 1).

    The seed defines ``EORL(K) = (1/N) sum_i [|l_hat_i - l_i| < K]`` over predicted and true
    repetition end timestamps, with K = 0.5 s by default (Tables 2, 7) and 1 s, 2 s in Table 8.
    It pairs the i-th prediction with the i-th truth and leaves N open when the counts differ.
    FormLab makes it precise:

    - **per clip**: ``m`` = the maximum one-to-one matching of predicted to true ends with
      ``|pred - true| < K`` (:func:`eorl_matches`); the clip's EORL is ``m / N`` with
      ``N = max(n_pred, n_true)`` by default. An unmatched prediction (an extra repetition) and
      an unmatched truth (a missed one) both count as a miss, as an unpaired index would in
      Eq. 1; so a clip scores 1 only if its count is right and every end is within K.
      ``denominator="pred"`` gives the share of predicted ends within K of a true end
      (a precision), ``"true"`` the share of true ends found (a recall).
      A clip with no predicted and no true end scores 1; a clip whose chosen denominator is 0
      while the other side is not empty (e.g. ``"pred"`` and nothing predicted) scores 0.
    - **over clips**: ``average="clip"`` (default) is the mean of the per-clip values, so each
      clip weighs the same, as for OBO and MAE and the per-exercise tables of the seed;
      ``average="rep"`` is ``sum m / sum N`` (each repetition weighs the same).

    Parameters
    ----------
    pred_ends_s, true_ends_s : sequence of array_like
        One array of end times in seconds per clip (a list of clips, even for one clip).
    k_s : float
        Tolerance K in seconds.
    denominator : {"max", "pred", "true"}
    average : {"clip", "rep"}

    Returns
    -------
    float
        In [0, 1]; higher is better.
    """
    if denominator not in EORL_DENOMINATORS:
        raise ValueError(f"denominator must be one of {EORL_DENOMINATORS}, got {denominator!r}.")
    if average not in ("clip", "rep"):
        raise ValueError(f"average must be 'clip' or 'rep', got {average!r}.")
    if len(pred_ends_s) != len(true_ends_s):
        raise ValueError("pred_ends_s and true_ends_s must hold the same number of clips.")
    if len(pred_ends_s) == 0:
        raise ValueError("There are no clips to score.")
    matched = np.empty(len(pred_ends_s))
    denom = np.empty(len(pred_ends_s))
    both_empty = np.zeros(len(pred_ends_s), dtype=bool)
    for c, (pred, true) in enumerate(zip(pred_ends_s, true_ends_s)):
        pred, true = np.asarray(pred, dtype=float), np.asarray(true, dtype=float)
        if pred.ndim != 1 or true.ndim != 1:
            raise ValueError("Each clip's end times must be a 1-D array (pass a list of clips).")
        matched[c] = eorl_matches(pred, true, k_s)
        denom[c] = {"max": max(pred.size, true.size), "pred": pred.size, "true": true.size}[denominator]
        both_empty[c] = pred.size == 0 and true.size == 0
    if average == "rep":
        return float(matched.sum() / denom.sum()) if denom.sum() else float(both_empty.all())
    zero = denom == 0
    per_clip = np.where(zero, both_empty.astype(float), matched / np.where(zero, 1.0, denom))
    return float(per_clip.mean())
