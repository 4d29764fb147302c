"""FLEX score metrics: Spearman's rho and R-l2 (seed 002, appendix 8.1, Eq. 2 and 3).

These live in ``tasks.core.metrics.regression`` with every other evaluation metric; the kg app
re-exports them so FLEX code has one import. Conventions (stated there in full):

- ``r_l2(pred, true)`` takes the range ``max(true) - min(true)`` over the *evaluated true scores*,
  as the FLEX code does (``tools/runner.py``), and is **not** multiplied by 100. FLEX Tables 4
  and 5 print R-l2 x 100; :func:`r_l2_x100` gives that figure.
- ``spearman_rho(pred, true)`` is ``scipy.stats.spearmanr`` (average ranks for ties).
"""
from tasks.core.metrics.regression import l2, r_l2, spearman_rho

__all__ = ["l2", "r_l2", "r_l2_x100", "spearman_rho"]


def r_l2_x100(pred, true, *, score_range=None) -> float:
    """R-l2 multiplied by 100, the scale of FLEX Tables 4 and 5 (e.g. 0.8877 for MV+Pose+EMG)."""
    return 100.0 * r_l2(pred, true, score_range=score_range)
