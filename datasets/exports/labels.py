"""Which labels an export (or a stratified split) reads: label-set versions, or raw labels.

A label set is the curated, versioned aggregation of the annotation app
(``annotation.models.LabelSet``), of one of two kinds: ``severity`` (``SeverityLabel`` per
(repetition, error type): n_votes, mean, majority, optional BMM score and Dawid-Skene class) and
``endpoints`` (``EndPointLabel`` per clip: consensus ends, count, disagree flag). An export takes
one of each, explicitly or by default (the split version's, else the dataset's current one).
Where a kind has no label set yet, exports carry the raw labels summarised on the fly: per
(repetition, error type) the mean vote, the majority class (ties toward the lower class, as
``annotation.core.votes``) and the vote histogram; per clip the end-point consensus of
``annotation.core.consensus`` (Halo Trainer, seed 000 §3: the average of the annotators' marks).

This module is the only place that reads the label-set tables, and it degrades to raw labels
while they do not exist (an installation migrated before they did).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from config.exceptions import DomainError, NotFoundError

SEVERITY, ENDPOINTS = "severity", "endpoints"


@dataclass
class LabelSource:
    """The label sets an export reads (``None`` = raw labels for that kind)."""

    severity_id: int | None = None
    endpoints_id: int | None = None
    info: dict = field(default_factory=dict)  # kind -> snapshot of the label set

    @property
    def kind(self) -> str:
        return "label_set" if self.severity_id or self.endpoints_id else "raw"

    @property
    def label_set_id(self) -> int | None:
        return self.severity_id or self.endpoints_id

    def describe(self) -> str:
        parts = []
        if self.severity_id:
            s = self.info.get(SEVERITY, {})
            parts.append(f"severity: label set {self.severity_id} (version {s.get('number')}, method {s.get('method')}); "
                         "severity_score is its BMM score where computed, else the mean vote; severity_class its "
                         "Dawid-Skene class where computed, else the majority vote")
        else:
            parts.append("severity: raw votes, per (repetition, error type) the mean vote (severity_score, 0-3), the "
                         "majority class (ties to the lower class) and the vote histogram, computed at export time")
        if self.endpoints_id:
            e = self.info.get(ENDPOINTS, {})
            parts.append(f"repetition bounds: end-point label set {self.endpoints_id} (version {e.get('number')}, "
                         f"method {e.get('method')})")
        else:
            parts.append("repetition bounds: imported spans, else the consensus of the raw end-point marks (mean of "
                         "the annotators' matched marks), computed at export time")
        return "; ".join(parts)

    def as_json(self) -> dict:
        return {"kind": self.kind, "label_set_id": self.label_set_id, "severity_label_set": self.severity_id,
                "endpoints_label_set": self.endpoints_id, **{k: v for k, v in sorted(self.info.items())}}


@functools.cache
def _tables_exist() -> bool:
    from annotation.models import LabelSet

    return LabelSet._meta.db_table in connection.introspection.table_names()


def _model():
    try:
        from annotation.models import LabelSet
    except ImportError:
        return None
    return LabelSet if _tables_exist() else None


def label_sets_available() -> bool:
    return _model() is not None


def _snapshot(label_set) -> dict:
    return {"id": label_set.pk, "kind": label_set.kind, "number": label_set.number, "method": label_set.method,
            "params": label_set.params, "code_version": label_set.code_version, "input_hash": label_set.input_hash}


def label_source_resolve(*, dataset, label_set_id=None, endpoint_label_set_id=None,
                         default_label_set_ids=()) -> LabelSource:
    """Label sets asked for, else the given defaults (a split version's), else the current ones.

    ``label_set_id`` may name a set of either kind; ``"raw"`` forces raw labels for both kinds.
    """
    if label_set_id == "raw":
        return LabelSource()
    model = _model()
    chosen: dict[str, object] = {}
    for wanted in (label_set_id, endpoint_label_set_id):
        if wanted in (None, ""):
            continue
        if model is None:
            raise DomainError("This installation has no label sets yet; export raw labels.",
                              code="label_sets_unavailable")
        try:
            label_set = model.objects.get(pk=int(wanted), dataset=dataset)
        except (model.DoesNotExist, ValueError, TypeError):
            raise NotFoundError(f"Label set {wanted} not found in dataset {dataset.name}.",
                                code="label_set_not_found") from None
        chosen[label_set.kind] = label_set
    if model is not None:
        defaults = [pk for pk in default_label_set_ids if pk]
        for label_set in model.objects.filter(pk__in=defaults, dataset=dataset):
            chosen.setdefault(label_set.kind, label_set)
        for kind in (SEVERITY, ENDPOINTS):
            if kind not in chosen:
                current = model.objects.filter(dataset=dataset, kind=kind, is_current=True).first()
                if current is not None:
                    chosen[kind] = current
    return LabelSource(severity_id=chosen[SEVERITY].pk if SEVERITY in chosen else None,
                       endpoints_id=chosen[ENDPOINTS].pk if ENDPOINTS in chosen else None,
                       info={kind: _snapshot(ls) for kind, ls in chosen.items()})


def label_set_severity_columns(source: LabelSource, *, rep_ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """Severity rows of the source's severity set for these repetitions, or None (raw labels).

    ``score``: BMM score where computed, else the mean vote; ``cls``: Dawid-Skene class where
    computed, else the majority vote.
    """
    if not source.severity_id:
        return None
    from annotation.models import SeverityLabel
    from datasets.selectors_splits import copy_rows

    import pyarrow as pa

    rows = copy_rows(
        f"SELECT repetition_id, error_type_id, n_votes, mean, majority, bmm_score, ds_class, ds_confidence "
        f"FROM {SeverityLabel._meta.db_table} "
        "WHERE label_set_id = %s", [source.severity_id],
        {"repetition_id": pa.int64(), "error_type_id": pa.int64(), "n_votes": pa.int64(), "mean": pa.float64(),
         "majority": pa.int64(), "bmm_score": pa.float64(), "ds_class": pa.int64(), "ds_confidence": pa.float64()})
    keep = np.isin(rows["repetition_id"], rep_ids)
    rows = {k: v[keep] for k, v in rows.items()}
    rows["score"] = np.where(np.isnan(rows["bmm_score"]), rows["mean"], rows["bmm_score"])
    rows["cls"] = np.where(rows["ds_class"] >= 0, rows["ds_class"], rows["majority"])
    return rows


def label_set_endpoint_columns(source: LabelSource, *, clip_ids: np.ndarray) -> dict | None:
    """Consensus ends per clip of the source's end-point set: clip id -> (ends, disagree, reason)."""
    if not source.endpoints_id:
        return None
    from annotation.models import EndPointLabel

    wanted = set(clip_ids.tolist())
    return {clip: (ends, disagree, reason) for clip, ends, disagree, reason in
            EndPointLabel.objects.filter(label_set_id=source.endpoints_id).values_list(
                "clip_id", "ends", "disagree", "reason").iterator(chunk_size=20000) if clip in wanted}
