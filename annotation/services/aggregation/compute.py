"""The numbers of one severity aggregation, per error type and combined. No Django here.

Each error type is aggregated on its own: its items are (repetition, this error type), its BMM
is fitted to its own mean votes and its Dawid-Skene model estimates its own confusion matrices
(an annotator who reads "heels off floor" well may not read "knee inside the foot line" well).
That makes an error type the unit of work of a split run: ``compute_error_type`` takes plain
arrays and returns plain arrays, so it gives the same bytes whichever process runs it.

Everything here calls the numeric core (``annotation.core``); see its docstrings for the models.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np

from annotation.core.agreement import annotator_agreement, halo_target, krippendorff_alpha_ordinal
from annotation.core.bmm import bmm_severity_scores
from annotation.core.dawid_skene import DawidSkene
from annotation.core.votes import aggregate_votes

N_CLASSES = 4
METHODS = ("all", "mean", "majority", "bmm", "dawid_skene")


@dataclass(frozen=True)
class SeverityParams:
    """Everything that shapes a severity label set (recorded on it as ``params``)."""

    method: str = "all"
    bmm_components: int = 2
    ds_max_iter: int = 100
    ds_tol: float = 1e-5
    with_agreement: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")

    @property
    def bmm(self) -> bool:
        return self.method in ("all", "bmm")

    @property
    def dawid_skene(self) -> bool:
        return self.method in ("all", "dawid_skene")

    def as_dict(self) -> dict:
        return asdict(self)


def finite_or_none(x):
    """JSON has no NaN: undefined statistics are stored as null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def json_safe(value):
    """Plain JSON types all the way down; NaN and infinities become null (jsonb rejects them)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return finite_or_none(value)
    return value


def _items_of_sorted(rep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Item index of each vote and repetition of each item, for votes sorted by repetition."""
    new = np.ones(rep.size, dtype=bool)
    new[1:] = rep[1:] != rep[:-1]
    return np.cumsum(new, dtype=np.int64) - 1, rep[new]


def compute_error_type(rep: np.ndarray, ann: np.ndarray, value: np.ndarray, *, n_annotators: int,
                       params: SeverityParams) -> dict[str, np.ndarray]:
    """Aggregate the votes of one error type.

    Parameters
    ----------
    rep : int64 array, repetition id of each vote, sorted (then by annotator).
    ann : int array, dense annotator index of each vote in ``[0, n_annotators)`` (shared by all
        error types of the run, so per-annotator arrays line up).
    value : int array, vote 0..3.

    Returns
    -------
    dict of arrays: per item ``item_rep``, ``n_votes``, ``mean``, ``majority``, and when computed
    ``bmm_score``, ``ds_class``, ``ds_confidence``; per annotator ``ann_votes`` and, with
    agreement, ``ann_items``, ``ann_kappa0``, ``ann_kappa1``; with Dawid-Skene ``ann_confusion``
    (n_annotators, true class, vote); and ``info``, a JSON string of the error type's figures.
    """
    item, item_rep = _items_of_sorted(rep)
    n_items = int(item_rep.size)
    ann = ann.astype(np.intp, copy=False)
    value = value.astype(np.intp, copy=False)
    summary = aggregate_votes(item, value, n_items=n_items, n_classes=N_CLASSES)
    out = {
        "item_rep": item_rep.astype(np.int64),
        "n_votes": summary.count.astype(np.int16),
        "mean": summary.mean,
        "majority": summary.majority.astype(np.int8),
        "ann_votes": np.bincount(ann, minlength=n_annotators).astype(np.int64),
    }
    info = {"n_items": n_items, "n_votes": int(value.size),
            "n_annotators": int(np.count_nonzero(out["ann_votes"])),
            "majority_counts": np.bincount(summary.majority, minlength=N_CLASSES).tolist()}
    if params.bmm:
        scores, bmm_info = bmm_severity_scores(summary.mean, n_classes=N_CLASSES,
                                               n_components=params.bmm_components)
        out["bmm_score"] = scores
        info["bmm"] = bmm_info
    if params.dawid_skene:
        model = DawidSkene(n_classes=N_CLASSES, max_iter=params.ds_max_iter, tol=params.ds_tol)
        model.fit(item, ann, value, n_items=n_items, n_annotators=n_annotators)
        out["ds_class"] = model.labels_.astype(np.int8)
        out["ds_confidence"] = model.probas_[np.arange(n_items), model.labels_]
        # Expected count of each (annotator, vote, true class): the posterior of the vote's item.
        cell = ann * N_CLASSES + value
        confusion = np.stack([np.bincount(cell, weights=model.probas_[item, c], minlength=n_annotators * N_CLASSES)
                              for c in range(N_CLASSES)], axis=-1)
        out["ann_confusion"] = confusion.reshape(n_annotators, N_CLASSES, N_CLASSES).transpose(0, 2, 1).copy()
        info["dawid_skene"] = {"priors": model.priors_.tolist(), "n_iter": int(model.n_iter_),
                               "class_counts": np.bincount(model.labels_, minlength=N_CLASSES).tolist()}
    if params.with_agreement:
        agreement = annotator_agreement(item, ann, value, n_items=n_items, n_annotators=n_annotators,
                                        n_classes=N_CLASSES)
        out["ann_items"] = agreement.n_items.astype(np.int64)
        out["ann_kappa0"] = agreement.kappa0
        out["ann_kappa1"] = agreement.kappa1
        info["agreement"] = {
            "kappa0": finite_or_none(agreement.pooled_kappa0),
            "kappa1": finite_or_none(agreement.pooled_kappa1),
            "mean_annotator_kappa1": finite_or_none(agreement.mean_kappa1),
            "alpha": finite_or_none(krippendorff_alpha_ordinal(
                item, ann, value, n_items=n_items, n_annotators=n_annotators, n_classes=N_CLASSES)),
        }
    out["info"] = np.array(json.dumps(json_safe(info)))
    return out


@dataclass
class Combined:
    """All error types of a run put together, ready to be written."""

    item_rep: np.ndarray
    item_error_type: np.ndarray
    n_votes: np.ndarray
    mean: np.ndarray
    majority: np.ndarray
    bmm_score: np.ndarray | None
    ds_class: np.ndarray | None
    ds_confidence: np.ndarray | None
    error_types: list[dict]  # per error type: id + info
    annotators: list[dict]  # per annotator who voted: user id + figures
    summary: dict


def _weighted_kappa(kappas: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Per annotator: mean over error types of their kappa, weighted by their scored items."""
    defined = np.isfinite(kappas) & (items > 0)
    weights = np.where(defined, items, 0)
    total = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.where(defined, kappas, 0.0) * weights).sum(axis=0) / total, np.nan)


def combine(parts: list[tuple[int, dict]], *, annotator_ids: np.ndarray, params: SeverityParams,
            reference_kappa1: dict[int, float | None]) -> Combined:
    """Concatenate per-error-type results (in error-type id order) and pool per-annotator figures."""
    parts = sorted(parts, key=lambda p: p[0])
    infos = [json.loads(str(p["info"])) for _, p in parts]

    def cat(key, dtype=None):
        if not parts:
            return np.zeros(0, dtype=dtype or np.float64)
        return np.concatenate([p[key] for _, p in parts]).astype(dtype or parts[0][1][key].dtype, copy=False)

    counts = [int(p["item_rep"].size) for _, p in parts]
    et_ids = np.array([et for et, _ in parts], dtype=np.int64)
    error_types = []
    for (et, _), info in zip(parts, infos):
        agreement = info.get("agreement") or {}
        kappa1 = agreement.get("kappa1")
        error_types.append({
            "error_type_id": et, **info,
            "target_kappa1": None if kappa1 is None else halo_target(kappa1),
            "reference_kappa1": reference_kappa1.get(et),
        })

    n_ann = annotator_ids.size
    stack = (lambda key: np.stack([p[key] for _, p in parts]) if parts else np.zeros((0, n_ann)))
    ann_votes = stack("ann_votes").sum(axis=0) if parts else np.zeros(n_ann, dtype=np.int64)
    annotators = []
    if params.with_agreement and parts:
        items = stack("ann_items")
        kappa0, kappa1 = _weighted_kappa(stack("ann_kappa0"), items), _weighted_kappa(stack("ann_kappa1"), items)
        items_total = items.sum(axis=0)
    confusion = stack("ann_confusion").sum(axis=0) if params.dawid_skene and parts else None
    for a in np.flatnonzero(ann_votes):
        row = {"annotator_id": int(annotator_ids[a]), "n_votes": int(ann_votes[a])}
        if params.with_agreement:
            row.update(n_items_scored=int(items_total[a]), kappa0=finite_or_none(kappa0[a]),
                       kappa1=finite_or_none(kappa1[a]))
        if confusion is not None:
            total = confusion[a].sum()
            row.update(ds_accuracy=finite_or_none(np.trace(confusion[a]) / total) if total else None,
                       confusion=np.round(confusion[a], 6).tolist())
        annotators.append(row)

    majority = cat("majority", np.int8)
    summary = {
        "n_error_types": len(parts),
        "n_items": int(sum(counts)),
        "n_votes": int(ann_votes.sum()),
        "n_annotators": int(np.count_nonzero(ann_votes)),
        "majority_counts": np.bincount(majority, minlength=N_CLASSES).tolist(),
        "error_types": {str(e["error_type_id"]): {k: e[k] for k in ("n_items", "n_votes", "bmm", "dawid_skene")
                                                  if k in e} for e in error_types},
    }
    combined = Combined(
        item_rep=cat("item_rep", np.int64), item_error_type=np.repeat(et_ids, counts),
        n_votes=cat("n_votes", np.int16), mean=cat("mean", np.float64), majority=majority,
        bmm_score=cat("bmm_score", np.float64) if params.bmm else None,
        ds_class=cat("ds_class", np.int8) if params.dawid_skene else None,
        ds_confidence=cat("ds_confidence", np.float64) if params.dawid_skene else None,
        error_types=error_types, annotators=annotators, summary=summary,
    )
    if combined.ds_class is not None:
        summary["ds_class_counts"] = np.bincount(combined.ds_class, minlength=N_CLASSES).tolist()
    if params.with_agreement:
        summary["agreement"] = agreement_summary(error_types)
    return combined


def agreement_summary(error_types: list[dict]) -> dict:
    """Dataset-wide agreement: item-weighted mean Kappa1 / alpha, and error types with a target."""
    rows = [(e["n_items"], (e.get("agreement") or {})) for e in error_types]

    def weighted(key):
        pairs = [(n, a[key]) for n, a in rows if a.get(key) is not None]
        total = sum(n for n, _ in pairs)
        return sum(n * v for n, v in pairs) / total if total else None

    return {"kappa0": weighted("kappa0"), "kappa1": weighted("kappa1"), "alpha": weighted("alpha"),
            "error_types_with_kappa1": sum(1 for _, a in rows if a.get("kappa1") is not None)}
