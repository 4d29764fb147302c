"""Evaluation metrics of the seed papers, as plain functions over numpy arrays (no Django).

========================  ==========================================================  ==========
metric                    function                                                    seed
========================  ==========================================================  ==========
Kappa0 / Kappa1           :func:`kappa0`, :func:`kappa1`, :func:`cohen_kappa`          000
                          (re-exported from ``annotation.core.agreement``)
OBO, MAE                  :func:`obo`, :func:`count_mae`                               000
EORL(K)                   :func:`eorl`, :func:`eorl_matches`                           000
precision / recall / F1   :func:`precision_recall_f1`                                  000
Spearman's rho, L2, R-l2  :func:`spearman_rho`, :func:`l2`, :func:`r_l2`                002 (FLEX)
temporal F-score          :func:`temporal_prf`, :func:`temporal_match`                 003 (QEVD)
segment F1, AP, mAP@IoU   :func:`segment_f1`, :func:`average_precision_iou`,           001, 004
                          :func:`map_at_iou`, :func:`temporal_iou`                     (Fitness-AQA)
========================  ==========================================================  ==========
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
