"""Which labels an export (or a stratified split) reads: a label-set version, or raw labels.

A label set is the curated, versioned aggregation (``annotation.models.LabelSet``, built by the
aggregation jobs). Until a dataset has one, exports carry the raw labels summarised on the fly:
per (repetition, error type) the mean vote, the majority class (ties toward the lower class, as
``annotation.core.votes``) and the vote histogram; per clip the end-point consensus of
``annotation.core.consensus`` (Halo Trainer, seed 000 §3: the average of the annotators' marks).

The label-set tables belong to the annotation app and may not exist in every deployment; this
module is the only place that touches them, and it degrades to raw labels when they are absent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from config.exceptions import DomainError, NotFoundError


@dataclass
class LabelSource:
    """What the labels of an export are, for the card and the manifest."""

    kind: str  # "raw" or "label_set"
    label_set_id: int | None = None
    info: dict = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "raw":
            return ("raw labels: per (repetition, error type) the mean severity vote (0-3), the majority class "
                    "(ties to the lower class) and the vote histogram, computed at export time; repetition "
                    "bounds from the end-point consensus (mean of the annotators' marks) or imported spans")
        version = self.info.get("version")
        method = self.info.get("method", "?")
        return f"label set {self.label_set_id} (version {version}, method {method})"

    def as_json(self) -> dict:
        return {"kind": self.kind, "label_set_id": self.label_set_id, **self.info}


def _label_set_model():
    try:
        from annotation.models import LabelSet
    except ImportError:
        return None
    return LabelSet


def label_sets_available() -> bool:
    return _label_set_model() is not None


def _info(label_set) -> dict:
    info = {}
    for name in ("version", "method", "kind", "name", "params", "code_version", "input_hash", "is_current"):
        value = getattr(label_set, name, None)
        if value is not None and not callable(value):
            info[name] = value if isinstance(value, (str, int, float, bool, dict, list)) else str(value)
    return info


def label_source_resolve(*, dataset, label_set_id=None, default_label_set_id=None) -> LabelSource:
    """The label set asked for, else ``default_label_set_id``, else the dataset's current one, else raw.

    ``label_set_id="raw"`` forces raw labels.
    """
    if label_set_id == "raw":
        return LabelSource(kind="raw")
    model = _label_set_model()
    if label_set_id not in (None, ""):
        if model is None:
            raise DomainError("This installation has no label sets; export raw labels instead.",
                              code="label_sets_unavailable")
        try:
            label_set = model.objects.get(pk=int(label_set_id), dataset=dataset)
        except (model.DoesNotExist, ValueError, TypeError):
            raise NotFoundError(f"Label set {label_set_id} not found in dataset {dataset.name}.",
                                code="label_set_not_found") from None
        return LabelSource(kind="label_set", label_set_id=label_set.pk, info=_info(label_set))
    if model is None:
        return LabelSource(kind="raw")
    if default_label_set_id is not None:
        label_set = model.objects.filter(pk=default_label_set_id, dataset=dataset).first()
        if label_set is not None:
            return LabelSource(kind="label_set", label_set_id=label_set.pk, info=_info(label_set))
    current = model.objects.filter(dataset=dataset, is_current=True).order_by("-pk").first()
    if current is None:
        return LabelSource(kind="raw")
    return LabelSource(kind="label_set", label_set_id=current.pk, info=_info(current))


def _first_field(model, candidates):
    names = {f.name for f in model._meta.get_fields()}
    return next((c for c in candidates if c in names), None)


def label_set_severity_columns(source: LabelSource, *, rep_ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """Severity rows of a label set for the given repetitions: rep id, error type id, score, class."""
    try:
        from annotation.models import SeverityLabel
    except ImportError:
        return None
    score_f = _first_field(SeverityLabel, ("score", "severity", "value", "mean"))
    class_f = _first_field(SeverityLabel, ("severity_class", "label_class", "majority", "class_label", "klass"))
    rows = SeverityLabel.objects.filter(label_set_id=source.label_set_id).values_list(
        "repetition_id", "error_type_id", score_f or "pk", class_f or "pk")
    data = np.array(list(rows), dtype=np.float64).reshape(-1, 4)
    keep = np.isin(data[:, 0].astype(np.int64), rep_ids)
    data = data[keep]
    score = data[:, 2] if score_f else np.full(len(data), np.nan)
    cls = data[:, 3].astype(np.int64) if class_f else np.where(np.isnan(score), -1, np.rint(score * 3)).astype(np.int64)
    return {"repetition_id": data[:, 0].astype(np.int64), "error_type_id": data[:, 1].astype(np.int64),
            "score": score, "cls": cls}


def label_set_endpoint_columns(source: LabelSource, *, clip_ids: np.ndarray) -> dict[str, np.ndarray] | None:
    """End-point rows of a label set: (clip id, repetition index, start frame, end frame), or None."""
    try:
        from annotation.models import EndPointLabel
    except ImportError:
        return None
    names = {f.name for f in EndPointLabel._meta.get_fields()}
    end_f = _first_field(EndPointLabel, ("end_frame", "end", "frame"))
    if end_f is None:
        return None
    start_f = _first_field(EndPointLabel, ("start_frame", "start"))
    if "repetition" in names:
        rows = EndPointLabel.objects.filter(label_set_id=source.label_set_id).values_list(
            "repetition__clip_id", "repetition__index", start_f or end_f, end_f)
    elif "clip" in names:
        index_f = _first_field(EndPointLabel, ("index", "rep_index", "position"))
        if index_f is None:
            return None
        rows = EndPointLabel.objects.filter(label_set_id=source.label_set_id).values_list(
            "clip_id", index_f, start_f or end_f, end_f)
    else:
        return None
    data = np.array(list(rows), dtype=np.float64).reshape(-1, 4)
    data = data[np.isin(data[:, 0].astype(np.int64), clip_ids)]
    return {"clip_id": data[:, 0].astype(np.int64), "index": data[:, 1].astype(np.int64),
            "start_frame": data[:, 2] if start_f else np.full(len(data), np.nan), "end_frame": data[:, 3]}
