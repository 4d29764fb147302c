"""Error-segment metrics for Fitness-AQA (seeds 001 and 004): temporal IoU, segment F1, AP, mAP@IoU.

Seed 001 scores temporal localisation of form errors with mAP "as defined in [18]" (the
standard temporal action localisation protocol): a prediction is correct when its temporal IoU
with a ground-truth segment reaches the threshold (0.5), AP is computed per class (error type)
and mAP is their mean. This module implements that protocol the way ActivityNet's
``compute_average_precision_detection`` does (rank by score, greedy one-to-one matching,
all-point interpolated AP).

Deliberate differences from the UMAP25 code (seed 004; formats.md §4): its ``compute_iou`` takes
``abs(inter_end - inter_start)``, so disjoint segments get a positive "intersection", and its
"AP" is the share of clips whose single predicted span reaches IoU 0.5. Neither is reproduced:
IoU here is the standard one (0 for disjoint segments) and AP is the ranked-detection AP.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

INTERPOLATIONS = ("all_point", "none")


@dataclass(frozen=True)
class SegmentPRF:
    """Micro-averaged segment detection scores and their counts."""

    precision: float
    recall: float
    f1: float
    tp: int
    n_pred: int
    n_true: int


def _segments(value, name: str) -> np.ndarray:
    seg = np.asarray(value, dtype=float)
    if seg.size == 0:
        return np.zeros((0, 2))
    if seg.ndim != 2 or seg.shape[1] != 2:
        raise ValueError(f"{name} must be an array of [start, end] rows, got shape {seg.shape}.")
    if np.any(seg[:, 1] < seg[:, 0]) or not np.all(np.isfinite(seg)):
        raise ValueError(f"{name} has a segment that ends before it starts or is not finite.")
    return seg


def temporal_iou(segments_a, segments_b) -> np.ndarray:
    """Temporal intersection over union of every pair of segments.

    ``IoU = |A n B| / |A u B|`` with ``|A n B| = max(0, min(end) - max(start))``, so disjoint or
    touching segments score 0. Two zero-length segments (union 0) score 0.

    Parameters
    ----------
    segments_a : array_like, shape (n, 2)
    segments_b : array_like, shape (m, 2)
        ``[start, end]`` rows, in seconds (or frames; any one unit).

    Returns
    -------
    ndarray, shape (n, m)
    """
    a = _segments(segments_a, "segments_a")
    b = _segments(segments_b, "segments_b")
    start = np.maximum(a[:, None, 0], b[None, :, 0])
    end = np.minimum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(end - start, 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _check_clips(*lists) -> None:
    if len({len(x) for x in lists}) != 1:
        raise ValueError("Every argument must hold one entry per clip.")


def segment_f1(pred_segments: Sequence, true_segments: Sequence, iou: float = 0.5) -> SegmentPRF:
    """Precision, recall and F1 of predicted error segments at a temporal-IoU threshold.

    Within each clip, predicted and true segments are matched one-to-one so that the number of
    pairs with ``IoU >= iou`` is as large as possible (ties broken towards higher total IoU),
    via ``scipy.optimize.linear_sum_assignment``. Counts are summed over clips (micro average):
    ``P = TP / n_pred``, ``R = TP / n_true``, ``F1 = 2PR / (P + R)``, each 0 when its
    denominator is 0 (scikit-learn's ``zero_division=0``).

    This is the segment-level counterpart of the per-error F1 of Fitness-AQA (seeds 001/004),
    which those papers compute on presence labels; for presence F1 pass per-clip booleans to
    :func:`tasks.core.metrics.precision_recall_f1`.

    Parameters
    ----------
    pred_segments, true_segments : sequence of array_like, each (n_c, 2)
        One array of ``[start, end]`` rows per clip, for one error type.
    iou : float
        IoU threshold (0.5 in seeds 001/004).

    Returns
    -------
    SegmentPRF
    """
    _check_clips(pred_segments, true_segments)
    tp = n_pred = n_true = 0
    for pred, true in zip(pred_segments, true_segments):
        overlap = temporal_iou(pred, true)
        n_pred += overlap.shape[0]
        n_true += overlap.shape[1]
        valid = overlap >= iou
        if not valid.any():
            continue
        # A match is worth more than any sum of IoUs (each < 1), so the assignment maximises
        # the number of matches first and their IoU second.
        worth = np.where(valid, min(overlap.shape) + 1.0 + overlap, 0.0)
        rows, cols = linear_sum_assignment(worth, maximize=True)
        tp += int(valid[rows, cols].sum())
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SegmentPRF(precision=precision, recall=recall, f1=f1, tp=tp, n_pred=n_pred, n_true=n_true)


def average_precision_iou(
    pred_segments: Sequence,
    pred_scores: Sequence,
    true_segments: Sequence,
    *,
    iou: float = 0.5,
    interpolation: str = "all_point",
) -> float:
    """Average precision of scored segment detections for one class, at a temporal-IoU threshold.

    The temporal action localisation protocol cited by Fitness-AQA seed 001 ("as defined in
    [18]"), as ActivityNet's ``compute_average_precision_detection`` codes it:

    1. all predictions of all clips are ranked by score, highest first (ties keep input order);
    2. each prediction, in rank order, is a true positive if some not-yet-matched true segment
       of its clip has ``IoU >= iou``; it takes the one with the highest IoU; otherwise it is a
       false positive (a second detection of a matched segment is a false positive);
    3. precision and recall are computed after every rank, recall over all true segments
       (true segments never detected keep the final recall below 1);
    4. ``interpolation="all_point"`` (default, VOC2010+/ActivityNet): the precision at each
       recall is replaced by the best precision at any higher recall, and AP is the area under
       that step curve. ``interpolation="none"``: ``AP = sum_n (R_n - R_{n-1}) P_n``, the
       definition of ``sklearn.metrics.average_precision_score``; the two agree whenever the
       precision at the true positives does not rise along the ranking.

    Parameters
    ----------
    pred_segments : sequence of array_like, each (n_c, 2)
        Predicted ``[start, end]`` rows per clip.
    pred_scores : sequence of array_like, each (n_c,)
        Confidence of each predicted segment.
    true_segments : sequence of array_like, each (m_c, 2)
        True segments per clip.
    iou : float
        IoU threshold (0.5 in seeds 001/004).
    interpolation : {"all_point", "none"}

    Returns
    -------
    float
        In [0, 1]; NaN when there is no true segment (AP is undefined).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}.")
    _check_clips(pred_segments, pred_scores, true_segments)
    preds = [_segments(p, "pred_segments") for p in pred_segments]
    trues = [_segments(t, "true_segments") for t in true_segments]
    scores = [np.asarray(s, dtype=float).ravel() for s in pred_scores]
    if any(s.shape[0] != p.shape[0] for s, p in zip(scores, preds)):
        raise ValueError("pred_scores must hold one score per predicted segment.")
    n_true = sum(t.shape[0] for t in trues)
    if n_true == 0:
        return float("nan")
    n_pred = sum(p.shape[0] for p in preds)
    if n_pred == 0:
        return 0.0

    clip_of = np.repeat(np.arange(len(preds)), [p.shape[0] for p in preds])
    row_in_clip = np.concatenate([np.arange(p.shape[0]) for p in preds])
    rank = np.argsort(-np.concatenate(scores), kind="stable")
    overlaps = [temporal_iou(p, t) for p, t in zip(preds, trues)]
    taken = [np.zeros(t.shape[0], dtype=bool) for t in trues]
    tp = np.zeros(n_pred)
    for r, k in enumerate(rank):
        c = clip_of[k]
        ious = np.where(taken[c], -1.0, overlaps[c][row_in_clip[k]])
        if ious.size and ious.max() >= iou:
            taken[c][int(np.argmax(ious))] = True
            tp[r] = 1.0
    tp_cum = np.cumsum(tp)
    recall = tp_cum / n_true
    precision = tp_cum / np.arange(1, n_pred + 1)
    if interpolation == "none":
        return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    # All-point interpolation: the precision envelope from the right, integrated over recall.
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mprec[steps]))


def map_at_iou(
    pred_by_class: Mapping,
    true_by_class: Mapping,
    *,
    iou: float = 0.5,
    interpolation: str = "all_point",
) -> tuple[float, dict]:
    """Mean over classes (error types) of :func:`average_precision_iou` (seed 001: mAP@0.5).

    Parameters
    ----------
    pred_by_class : mapping
        ``{class: (pred_segments, pred_scores)}``, each a sequence over the same clips.
    true_by_class : mapping
        ``{class: true_segments}``, a sequence over the same clips.
    iou, interpolation
        As in :func:`average_precision_iou`.

    Returns
    -------
    (mAP, {class: AP})
        A class missing from ``pred_by_class`` has AP 0; a class with no true segment has AP
        NaN and is left out of the mean (AP is undefined for it). mAP is NaN if no class has a
        true segment.
    """
    unknown = set(pred_by_class) - set(true_by_class)
    if unknown:
        raise ValueError(
            f"Predictions for classes without ground truth entries: {sorted(map(str, unknown))}.")
    per_class = {}
    for cls, trues in true_by_class.items():
        preds, scores = pred_by_class.get(cls, ([np.zeros((0, 2))] * len(trues), [np.zeros(0)] * len(trues)))
        per_class[cls] = average_precision_iou(preds, scores, trues, iou=iou, interpolation=interpolation)
    values = np.array(list(per_class.values()), dtype=float)
    defined = values[~np.isnan(values)]
    return (float(defined.mean()) if defined.size else float("nan")), per_class
