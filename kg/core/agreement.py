"""Krippendorff's alpha on binary slot marks, for many groups at once (per action, per error type).

A *unit* is one (sample, slot); its values are the marks (0/1) of the coders who saw it. For
binary nominal data with ``m_u`` coders of whom ``k_u`` marked the slot, the coincidence matrix
gives (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"):

    o_01 = sum_u k_u (m_u - k_u) / (m_u - 1),   n_1 = sum_u k_u,   n_0 = sum_u (m_u - k_u),
    n = n_0 + n_1,   alpha = 1 - (n - 1) o_01 / (n_0 n_1)

over pairable units (``m_u >= 2``). Alpha is undefined (NaN) when every value is the same
(``n_0 n_1 = 0``). This matches ``krippendorff.alpha(..., level_of_measurement="nominal")``,
which the tests use as the reference, but runs as bincounts over all groups in one pass.
"""
from __future__ import annotations

import numpy as np

__all__ = ["binary_alpha", "grouped_binary_alpha"]


def grouped_binary_alpha(ones, coders, groups, n_groups: int) -> np.ndarray:
    """Alpha per group from per-unit counts.

    Parameters
    ----------
    ones : array_like of int, shape (U,)
        Coders that marked the unit (``k_u``).
    coders : array_like of int, shape (U,)
        Coders that saw the unit (``m_u``); units with fewer than two are not pairable and ignored.
    groups : array_like of int, shape (U,)
        Group index of each unit in ``0..n_groups-1``.
    n_groups : int

    Returns
    -------
    ndarray of float64, shape (n_groups,)
        NaN for a group without pairable units or without any variation.
    """
    ones = np.asarray(ones, dtype=np.float64)
    coders = np.asarray(coders, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    if not (ones.shape == coders.shape == groups.shape):
        raise ValueError("ones, coders and groups must have the same shape")
    if np.any(ones < 0) or np.any(ones > coders):
        raise ValueError("ones must lie in 0..coders")
    pairable = coders >= 2
    ones, coders, groups = ones[pairable], coders[pairable], groups[pairable]
    zeros = coders - ones
    o01 = np.bincount(groups, weights=ones * zeros / (coders - 1), minlength=n_groups)
    n1 = np.bincount(groups, weights=ones, minlength=n_groups)
    n0 = np.bincount(groups, weights=zeros, minlength=n_groups)
    n = n0 + n1
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(n0 * n1 > 0, 1.0 - (n - 1.0) * o01 / (n0 * n1), np.nan)
    return alpha


def binary_alpha(marks) -> float:
    """Alpha of one reliability matrix of binary marks.

    Parameters
    ----------
    marks : array_like, shape (coders, units)
        0/1 values; NaN for a coder who did not see the unit (the ``krippendorff`` package's
        layout).
    """
    marks = np.asarray(marks, dtype=np.float64)
    seen = ~np.isnan(marks)
    ones = np.where(seen, marks, 0).sum(axis=0)
    coders = seen.sum(axis=0)
    return float(grouped_binary_alpha(ones, coders, np.zeros(marks.shape[1], dtype=np.int64), 1)[0])
