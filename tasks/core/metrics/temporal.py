"""Temporal precision, recall and F-score of timed feedback, as the QEVD/FitCoach evaluator
computes them (seed 003, §"Temporal F-Score"; ``Qualcomm-AI-research/FitCoach@a573ee0``,
``src/evaluators.py``, ``_get_alignment_matrix`` and ``_compute_temporal_fscore``; see
``/work/shared/formats.md`` §2.3)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The evaluator adds this to every denominator.
FITCOACH_EPS = 1e-12


@dataclass(frozen=True)
class TemporalPRF:
    """Micro-averaged temporal scores and the running totals they come from."""

    precision: float
    recall: float
    f_score: float
    matched_true: int
    matched_pred: int
    n_true: int
    n_pred: int


def temporal_match(ref_ts, other_ts, window_s: float = 1.5) -> tuple[list[int], list[int]]:
    """Match each reference timestamp, in order, to its nearest other timestamp (FitCoach).

    For each reference time ``x`` in the given order, the nearest other time (first index on a
    tie, ``argmin`` of the squared gap) is accepted if ``|x - other| < window_s`` and its index
    is greater than the last accepted index, so matches are one-to-one and keep temporal order.
    A rejected nearest candidate is not replaced by the second nearest. This is
    ``_get_alignment_matrix`` with ``tolerance = 2 * window_s`` (3 s: a window of +/-1.5 s
    centred on the reference).

    The evaluator also refuses a candidate whose text is ``""``; FitCoach drops empty responses
    when it extracts predictions, so pass only the timestamps of non-empty feedback.

    Parameters
    ----------
    ref_ts, other_ts : array_like, shape (n,), (m,)
        Timestamps in seconds, in the order the evaluator sees them (not re-sorted here).
    window_s : float
        Half-width of the window.

    Returns
    -------
    (ref_indices, other_indices) : two lists of int
        Matched pairs, e.g. to score the text of (GT, prediction) pairs.
    """
    ref = np.asarray(ref_ts, dtype=float).ravel()
    other = np.asarray(other_ts, dtype=float).ravel()
    if ref.size == 0 or other.size == 0:
        return [], []
    nearest = np.argmin((other[None, :] - ref[:, None]) ** 2, axis=1)
    close = np.abs(ref - other[nearest]) < window_s
    rows: list[int] = []
    cols: list[int] = []
    last = -1
    for i in np.flatnonzero(close):
        j = int(nearest[i])
        if j > last:
            rows.append(int(i))
            cols.append(j)
            last = j
    return rows, cols


def temporal_prf(
    pred: Sequence,
    true: Sequence,
    window_s: float = 1.5,
) -> TemporalPRF:
    """Temporal precision, recall and F-score of predicted feedback times, micro-averaged.

    Exactly the QEVD/FitCoach evaluator (seed 003; formats.md §2.3):

    - recall: match ground truth to predictions with :func:`temporal_match` (+/-1.5 s, in order,
      one-to-one); precision: a second, separate pass matching predictions to ground truth;
    - the matched and total counts are summed over **all videos** before dividing (micro
      average), i.e. the evaluator's running totals after its last video;
    - ``P = matched_pred / (n_pred + eps)``, ``R = matched_true / (n_true + eps)``,
      ``F = 2 P R / (P + R + eps)`` with ``eps = 1e-12``.

    The two passes can disagree (greedy nearest-neighbour matching is not symmetric), so
    ``matched_pred`` need not equal ``matched_true``.

    Parameters
    ----------
    pred, true : sequence of array_like
        One array of feedback timestamps in seconds per video (a list of videos).
    window_s : float
        Half-width of the matching window (the evaluator's ``tolerance / 2``).

    Returns
    -------
    TemporalPRF
    """
    if len(pred) != len(true):
        raise ValueError("pred and true must hold the same number of videos.")
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, got {window_s}.")
    matched_true = matched_pred = n_true = n_pred = 0
    for p, t in zip(pred, true):
        p = np.asarray(p, dtype=float)
        t = np.asarray(t, dtype=float)
        if p.ndim != 1 or t.ndim != 1:
            raise ValueError("Each video's timestamps must be a 1-D array (pass a list of videos).")
        matched_true += len(temporal_match(t, p, window_s)[0])
        matched_pred += len(temporal_match(p, t, window_s)[0])
        n_true += t.size
        n_pred += p.size
    precision = matched_pred / (n_pred + FITCOACH_EPS)
    recall = matched_true / (n_true + FITCOACH_EPS)
    f_score = 2 * ((precision * recall) / (precision + recall + FITCOACH_EPS))
    return TemporalPRF(
        precision=precision, recall=recall, f_score=f_score,
        matched_true=matched_true, matched_pred=matched_pred, n_true=n_true, n_pred=n_pred)
