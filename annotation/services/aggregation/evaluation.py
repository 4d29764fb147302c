"""Scoring label sets of a synthetic dataset against its hidden truth (``evaluate_labels``).

Severity (per item, against ``TrueSeverity``), each method's class:

- ``mean``: the mean vote rounded to the nearest class (half up);
- ``majority``: the majority class (ties toward the lower severity);
- ``bmm``: the BMM score is continuous, so it is turned into a class the way Halo Trainer turns
  its model's scores into classes (seed 000, Sec. 5): per error type, three thresholds found by
  the coarse-to-fine grid search maximising 0.9 Kappa1 + 0.1 Kappa0 (``tasks.core.thresholds``)
  against the majority class. Only observable labels are used to fit them, never the truth;
- ``dawid_skene``: the Dawid-Skene most probable class.

For each: accuracy, Kappa0, Kappa1, MAE of the class, Spearman's rho of the method's score
(mean vote, majority, BMM score, DS class) against the true severity, and how well it tells
whether the error is present at all (true severity >= 1; class >= 1, or BMM score > 0.5: the
BMM is a two-component "no error / error" mixture, which is what its score is made for); plus, for the BMM score,
the expected calibration error against "the error is present" (true severity >= 1, 10 equal-width
bins) and the MAE of the mean vote itself.

End points (per clip, against ``ClipTruth``): a clip's consensus is wrong when its count differs
from the true count or an end lies K = tolerance_s or more from its true end (the EORL(K) match
of ``tasks.core.metrics``). "Caught" is the share of wrong clips the label set flagged as
disagreeing (recall); precision is the share of flagged clips that are wrong.
"""
from __future__ import annotations

import numpy as np

from annotation.core.agreement import kappa0, kappa1
from annotation.models import EndPointLabel, LabelSet
from annotation.services.aggregation.compute import N_CLASSES, finite_or_none
from annotation.services.aggregation.inputs import severity_labels_load, true_severity_load
from config.exceptions import DomainError
from datasets.models import Clip, ClipTruth, Dataset, ErrorType
from tasks.core.metrics import count_mae, eorl, eorl_matches, obo, spearman_rho
from tasks.core.thresholds import apply_thresholds, search_thresholds

CALIBRATION_BINS = 10


def label_set_pick(*, dataset: Dataset, kind: str, label_set_id: int | None) -> LabelSet | None:
    """The given set (checked to belong to the dataset), else the current one, else the newest."""
    if label_set_id is not None:
        label_set = LabelSet.objects.filter(pk=label_set_id).first()
        if label_set is None or label_set.dataset_id != dataset.pk or label_set.kind != kind:
            raise DomainError(f"Label set {label_set_id} is not a {kind} label set of dataset {dataset.name!r}.",
                              code="label_set_mismatch")
        return label_set
    sets = LabelSet.objects.filter(dataset=dataset, kind=kind)
    return sets.filter(is_current=True).first() or sets.order_by("-number").first()


def _presence(present: np.ndarray, truth: np.ndarray) -> dict:
    actual = truth >= 1
    hits = np.count_nonzero(present & actual)
    precision = hits / max(np.count_nonzero(present), 1)
    recall = hits / max(np.count_nonzero(actual), 1)
    return {"accuracy": float(np.mean(present == actual)),
            "f1": float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0}


def _class_metrics(pred: np.ndarray, truth: np.ndarray, score: np.ndarray, present: np.ndarray) -> dict:
    return {
        "accuracy": float(np.mean(pred == truth)),
        "kappa0": finite_or_none(kappa0(truth, pred, n_classes=N_CLASSES)),
        "kappa1": finite_or_none(kappa1(truth, pred, n_classes=N_CLASSES)),
        "mae": float(np.mean(np.abs(pred - truth))),
        "spearman": finite_or_none(spearman_rho(score, truth)),
        "presence": _presence(present, truth),
    }


def expected_calibration_error(probability: np.ndarray, outcome: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Share-weighted mean |mean probability - observed frequency| over equal-width bins."""
    which = np.minimum((probability * bins).astype(np.int64), bins - 1)
    n = np.bincount(which, minlength=bins)
    mean_p = np.bincount(which, weights=probability, minlength=bins)
    hits = np.bincount(which, weights=outcome.astype(np.float64), minlength=bins)
    used = n > 0
    return float(np.sum(np.abs(mean_p[used] - hits[used])) / probability.size)


def _bmm_classes(score, majority, error_type) -> tuple[np.ndarray, dict]:
    pred = np.zeros(score.size, dtype=np.int64)
    thresholds = {}
    for et in np.unique(error_type):
        rows = np.flatnonzero(error_type == et)
        try:
            cut, _ = search_thresholds(score[rows], majority[rows], n_classes=N_CLASSES)
        except ValueError:
            # One majority class only (Kappa undefined for every candidate): predict that class.
            top = int(np.bincount(majority[rows], minlength=N_CLASSES).argmax())
            cut = np.array([-1.0] * top + [2.0] * (N_CLASSES - 1 - top))
        pred[rows] = apply_thresholds(score[rows], cut)
        thresholds[int(et)] = [round(float(c), 6) for c in cut]
    return pred, thresholds


def severity_evaluate(*, label_set: LabelSet) -> dict:
    labels = severity_labels_load(label_set_id=label_set.pk)
    t_rep, t_et, t_sev = true_severity_load(dataset_id=label_set.dataset_id)
    if t_rep.size == 0:
        raise DomainError("This dataset has no hidden severity truth.", code="no_truth")
    span = int(max(labels["repetition"].max(initial=0), t_rep.max(initial=0))) + 1
    _, li, ti = np.intersect1d(labels["error_type"] * span + labels["repetition"], t_et * span + t_rep,
                               assume_unique=True, return_indices=True)
    if li.size == 0:
        raise DomainError("No labelled item has a hidden truth.", code="no_truth")
    truth = t_sev[ti]
    get = {k: v[li] for k, v in labels.items()}
    mean_class = np.clip(np.floor(get["mean"] + 0.5), 0, N_CLASSES - 1).astype(np.int64)
    majority = get["majority"].astype(np.int64)
    methods = {"mean": _class_metrics(mean_class, truth, get["mean"], mean_class >= 1),
               "majority": _class_metrics(majority, truth, majority, majority >= 1)}
    per_method_pred = {"mean": mean_class, "majority": majority}
    extra = {"mean_vote_mae": float(np.mean(np.abs(get["mean"] - truth)))}
    if np.isfinite(get["bmm_score"]).all():
        bmm_pred, thresholds = _bmm_classes(get["bmm_score"], majority, get["error_type"])
        # The score is the posterior of the mixture's "error" component: present above one half.
        methods["bmm"] = _class_metrics(bmm_pred, truth, get["bmm_score"], get["bmm_score"] > 0.5)
        per_method_pred["bmm"] = bmm_pred
        extra["bmm_calibration_error"] = expected_calibration_error(get["bmm_score"], truth >= 1)
        extra["bmm_thresholds"] = thresholds
    if (get["ds_class"] >= 0).all():
        ds = get["ds_class"].astype(np.int64)
        methods["dawid_skene"] = _class_metrics(ds, truth, ds, ds >= 1)
        per_method_pred["dawid_skene"] = ds
    codes = dict(ErrorType.objects.filter(pk__in=np.unique(get["error_type"]).tolist()).values_list("pk", "code"))
    per_error_type = {}
    for et in np.unique(get["error_type"]):
        rows = get["error_type"] == et
        per_error_type[codes.get(int(et), str(et))] = {
            "items": int(rows.sum()),
            **{m: round(float(np.mean(p[rows] == truth[rows])), 4) for m, p in per_method_pred.items()}}
    ranking = sorted(methods, key=lambda m: methods[m]["accuracy"], reverse=True)
    presence_ranking = sorted(methods, key=lambda m: methods[m]["presence"]["accuracy"], reverse=True)
    return {"label_set": label_set.pk, "items": int(li.size), "methods": methods, "ranking_by_accuracy": ranking,
            "ranking_by_presence_accuracy": presence_ranking,
            **extra, "per_error_type_accuracy": per_error_type}


def endpoints_evaluate(*, label_set: LabelSet) -> dict:
    tolerance_s = float(label_set.params.get("tolerance_s", 0.5))
    rows = list(EndPointLabel.objects.filter(label_set=label_set).values_list("clip_id", "count", "ends", "disagree"))
    truth = dict(ClipTruth.objects.filter(clip__dataset_id=label_set.dataset_id).values_list("clip_id", "true_ends"))
    fps = dict(Clip.objects.filter(dataset_id=label_set.dataset_id).values_list("id", "fps"))
    rows = [r for r in rows if r[0] in truth]
    if not rows:
        raise DomainError("This dataset has no hidden end-point truth.", code="no_truth")
    wrong = np.zeros(len(rows), dtype=bool)
    flagged = np.array([r[3] for r in rows], dtype=bool)
    pred_s, true_s = [], []
    for i, (clip_id, count, ends, _) in enumerate(rows):
        p = np.asarray(ends, dtype=float) / fps[clip_id]
        t = np.asarray(truth[clip_id], dtype=float) / fps[clip_id]
        wrong[i] = eorl_matches(p, t, tolerance_s) < max(p.size, t.size)
        pred_s.append(p)
        true_s.append(t)
    caught = wrong & flagged
    kept = ~flagged
    pred_counts = np.array([p.size for p in pred_s])
    true_counts = np.array([t.size for t in true_s])
    return {
        "label_set": label_set.pk, "clips": len(rows), "tolerance_s": tolerance_s,
        "wrong_clips": int(wrong.sum()), "flagged_clips": int(flagged.sum()),
        "share_disagreeing_caught": finite_or_none(caught.sum() / wrong.sum()) if wrong.any() else None,
        "flag_precision": finite_or_none(caught.sum() / flagged.sum()) if flagged.any() else None,
        "eorl_all": eorl(pred_s, true_s, tolerance_s),
        "eorl_kept": eorl([p for p, k in zip(pred_s, kept) if k], [t for t, k in zip(true_s, kept) if k],
                          tolerance_s) if kept.any() else None,
        "count_obo": obo(pred_counts, true_counts), "count_mae": count_mae(pred_counts, true_counts),
    }


def labels_evaluate(*, dataset: Dataset, label_set_id: int | None = None,
                    endpoint_label_set_id: int | None = None, progress=None) -> dict:
    """Score the dataset's severity and end-point label sets against its hidden truth."""
    if not dataset.is_synthetic:
        raise DomainError(f"Dataset {dataset.name!r} is not synthetic: it has no hidden truth.",
                          code="not_synthetic")
    severity_set = label_set_pick(dataset=dataset, kind=LabelSet.Kind.SEVERITY, label_set_id=label_set_id)
    endpoint_set = label_set_pick(dataset=dataset, kind=LabelSet.Kind.ENDPOINTS, label_set_id=endpoint_label_set_id)
    if severity_set is None and endpoint_set is None:
        raise DomainError("The dataset has no label set yet: run aggregate_severity or aggregate_endpoints first.",
                          code="no_label_set")
    result = {"dataset": dataset.name}
    if severity_set is not None:
        if progress:
            progress.update(0.1, f"scoring severity label set {severity_set.pk}")
        result["severity"] = severity_evaluate(label_set=severity_set)
    if endpoint_set is not None:
        if progress:
            progress.update(0.7, f"scoring end-point label set {endpoint_set.pk}")
        result["endpoints"] = endpoints_evaluate(label_set=endpoint_set)
    return result
