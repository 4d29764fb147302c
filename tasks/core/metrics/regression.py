"""Score-regression metrics of FLEX (seed 002, §AQA metrics, Eq. 2-3): Spearman's rho, L2, R-l2.

The definitions follow the FLEX code (``HaoYin116/FLEX_AQA_Dataset@7c434d9``,
``tools/runner.py`` lines 164-166 and 233-235), see ``/work/shared/formats.md`` §1.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def _scores_pair(pred, true) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=float)
    true = np.asarray(true, dtype=float)
    if pred.ndim != 1 or pred.shape != true.shape:
        raise ValueError("pred and true must be 1-D arrays of the same length.")
    if pred.size == 0:
        raise ValueError("There are no scores to compare.")
    return pred, true


def spearman_rho(pred, true) -> float:
    """Spearman's rank correlation between predicted and true quality scores (FLEX Eq. 2).

    Computed by ``scipy.stats.spearmanr`` exactly as the FLEX code does (average ranks for ties).

    Returns
    -------
    float
        In [-1, 1]; NaN when either side is constant (the ranks have no variance).
    """
    pred, true = _scores_pair(pred, true)
    if pred.size < 2 or np.ptp(pred) == 0 or np.ptp(true) == 0:
        return float("nan")
    return float(stats.spearmanr(pred, true).statistic)


def l2(pred, true) -> float:
    """Mean squared error, ``mean((pred - true)**2)`` (the FLEX code's ``L2``)."""
    pred, true = _scores_pair(pred, true)
    return float(np.mean((pred - true) ** 2))


def r_l2(pred, true, *, score_range: tuple[float, float] | None = None) -> float:
    """Relative L2 distance, R-l2 (FLEX Eq. 3, from Yu et al.'s CoRe).

    ``R-l2 = mean(((pred - true) / (s_max - s_min))**2)``.

    Conventions, stated because papers differ:

    - **Range**: by default ``s_max - s_min`` is taken over the *evaluated true scores*, as the
      FLEX code does (``true_scores.max() - true_scores.min()``). The paper's Eq. 3 words it as
      the range of the action category; pass ``score_range=(s_min, s_max)`` for that (FLEX
      hard-codes one observed (min, max) per action, formats.md §1).
    - **Scale**: the value is returned as is, **not multiplied by 100**. FLEX Tables 4 and 5
      print ``R-l2 (x100)`` (e.g. 0.8877 for MV+Pose+EMG means 0.008877 here); multiply by 100
      yourself to compare with them.

    Parameters
    ----------
    pred, true : array_like, shape (n,)
    score_range : (s_min, s_max), optional

    Returns
    -------
    float
        Lower is better.

    Raises
    ------
    ValueError
        If the range is zero (all true scores equal and no ``score_range``).
    """
    pred, true = _scores_pair(pred, true)
    lo, hi = (true.min(), true.max()) if score_range is None else score_range
    if not hi > lo:
        raise ValueError(f"R-l2 needs a positive score range, got ({lo}, {hi}).")
    return float(np.mean(((pred - true) / (hi - lo)) ** 2))
