"""Evaluation metrics of the seed papers, as plain functions over numpy arrays (no Django).

- Halo Trainer (seed 000): Kappa0 / Kappa1 (:func:`kappa0`, :func:`kappa1`, :func:`cohen_kappa`,
  re-exported from ``annotation.core.agreement``, not reimplemented); OBO and MAE
  (:func:`obo`, :func:`count_mae`); EORL(K) (:func:`eorl`, :func:`eorl_matches`); exercise
  classification precision / recall / F1 (:func:`precision_recall_f1`).
- FLEX (seed 002): Spearman's rho, L2 and R-l2 (:func:`spearman_rho`, :func:`l2`, :func:`r_l2`).
- QEVD / FitCoach (seed 003): temporal precision / recall / F-score (:func:`temporal_prf`,
  :func:`temporal_match`).
- Fitness-AQA (seeds 001, 004): temporal IoU, segment F1, AP and mAP at an IoU threshold
  (:func:`temporal_iou`, :func:`segment_f1`, :func:`average_precision_iou`, :func:`map_at_iou`).
"""
from annotation.core.agreement import cohen_kappa, kappa0, kappa1
from tasks.core.metrics.classification import PRF, precision_recall_f1
from tasks.core.metrics.counting import count_mae, eorl, eorl_matches, obo
from tasks.core.metrics.regression import l2, r_l2, spearman_rho
from tasks.core.metrics.segments import (
    SegmentPRF,
    average_precision_iou,
    map_at_iou,
    segment_f1,
    temporal_iou,
)
from tasks.core.metrics.temporal import TemporalPRF, temporal_match, temporal_prf

__all__ = [
    "PRF",
    "SegmentPRF",
    "TemporalPRF",
    "average_precision_iou",
    "cohen_kappa",
    "count_mae",
    "eorl",
    "eorl_matches",
    "kappa0",
    "kappa1",
    "l2",
    "map_at_iou",
    "obo",
    "precision_recall_f1",
    "r_l2",
    "segment_f1",
    "spearman_rho",
    "temporal_iou",
    "temporal_match",
    "temporal_prf",
]
