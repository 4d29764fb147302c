"""Reading what a training job trains on, in bulk, and refusing bad inputs before any work.

Every function here reads; none writes. Errors are `DomainError`s with stable codes
(``no_frozen_split``, ``split_not_found``, ``no_label_set``, ``label_set_not_found``,
``label_set_wrong_kind``, ``empty_test_split``, ``pose_missing``), raised before the job computes
anything, so a refused job leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from config.exceptions import DomainError
from datasets.models import Clip, ErrorType, Exercise, Repetition, SplitMembership, SplitVersion

__all__ = [
    "SPLIT_CODES",
    "ClipTable",
    "clip_table",
    "endpoint_table",
    "error_type_table",
    "holdout_exercise_ids",
    "label_set_resolve",
    "require_test_clips",
    "severity_table",
    "split_resolve",
]

#: SplitMembership.split codes.
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
TRAIN, VAL, TEST = 0, 1, 2


def split_resolve(*, dataset, split_version_id: int | None) -> SplitVersion:
    """The split version to train on: the given one (of this dataset) or the newest one.

    Split versions are frozen when written; a dataset without any has no frozen split.
    """
    versions = SplitVersion.objects.filter(dataset=dataset)
    if split_version_id is None:
        split = versions.order_by("-version", "-id").first()
        if split is None:
            raise DomainError(
                f"Dataset {dataset.name!r} has no frozen split version; run make_split first.",
                code="no_frozen_split",
            )
        return split
    split = versions.filter(pk=split_version_id).first()
    if split is None:
        raise DomainError(f"Split version {split_version_id} is not a split of dataset {dataset.name!r}.",
                          code="split_not_found", fields={"split_version": split_version_id})
    return split


@dataclass
class ClipTable:
    """Clips of a split version (one row per member clip), sorted by clip id."""

    clip_id: np.ndarray
    exercise_id: np.ndarray
    participant_id: np.ndarray
    fps: np.ndarray
    frame_count: np.ndarray
    split: np.ndarray
    pose_path: list[str]

    def __len__(self):
        return int(self.clip_id.shape[0])

    def take(self, mask) -> ClipTable:
        idx = np.flatnonzero(mask)
        return ClipTable(self.clip_id[idx], self.exercise_id[idx], self.participant_id[idx], self.fps[idx],
                         self.frame_count[idx], self.split[idx], [self.pose_path[i] for i in idx])

    def position(self, clip_ids) -> np.ndarray:
        """Row of each clip id (-1 if absent)."""
        clip_ids = np.asarray(clip_ids, dtype=np.int64)
        if len(self) == 0:
            return np.full(clip_ids.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.clip_id, clip_ids), len(self) - 1)
        return np.where(self.clip_id[pos] == clip_ids, pos, -1)


def clip_table(*, split_version: SplitVersion) -> ClipTable:
    """Member clips of a split version with their exercise, fps, pose path and split code."""
    member = dict(SplitMembership.objects.filter(split_version=split_version).values_list("clip_id", "split"))
    rows = list(
        Clip.objects.filter(pk__in=list(member)).order_by("pk")
        .values_list("pk", "exercise_id", "participant_id", "fps", "frame_count", "pose_file")
    )
    if not rows:
        return ClipTable(*(np.empty(0, dtype=t) for t in (np.int64, np.int64, np.int64, np.float64, np.int64, np.int8)),
                         [])
    ids, exercises, participants, fps, frames, paths = zip(*rows)
    ids = np.asarray(ids, dtype=np.int64)
    return ClipTable(
        clip_id=ids, exercise_id=np.asarray(exercises, dtype=np.int64),
        participant_id=np.asarray([p if p is not None else -1 for p in participants], dtype=np.int64),
        fps=np.asarray(fps, dtype=np.float64), frame_count=np.asarray(frames, dtype=np.int64),
        split=np.asarray([member[int(i)] for i in ids], dtype=np.int8), pose_path=[str(p or "") for p in paths],
    )


def holdout_exercise_ids(split_version: SplitVersion) -> set[int]:
    """Exercises the split holds out for zero-shot evaluation (ids or slugs in its params)."""
    params = split_version.params or {}
    raw = params.get("holdout_exercises") or params.get("holdout_exercise_ids") or []
    ids = {int(x) for x in raw if isinstance(x, int) or (isinstance(x, str) and x.isdigit())}
    slugs = [x for x in raw if isinstance(x, str) and not x.isdigit()]
    if slugs:
        ids |= set(Exercise.objects.filter(dataset_id=split_version.dataset_id, slug__in=slugs)
                   .values_list("pk", flat=True))
    return ids


def require_test_clips(*, table: ClipTable, exercise_ids, names: dict[int, str]) -> None:
    """Refuse a split whose test part has no clip of an exercise the job evaluates."""
    empty = sorted(int(e) for e in exercise_ids if not np.any((table.exercise_id == e) & (table.split == TEST)))
    if empty:
        labels = [names.get(e, str(e)) for e in empty]
        raise DomainError(
            f"The split's test part is empty for exercise(s): {', '.join(labels)}.",
            code="empty_test_split", fields={"exercises": labels},
        )


def label_set_resolve(*, dataset, kind: str, label_set_id: int | None):
    """The label set to read: the given one (of this dataset and kind) or the dataset's current one."""
    from annotation.models import LabelSet

    sets = LabelSet.objects.filter(dataset=dataset)
    if label_set_id is None:
        label_set = sets.filter(kind=kind, is_current=True).order_by("-pk").first()
        if label_set is None:
            raise DomainError(
                f"Dataset {dataset.name!r} has no current {kind} label set; run aggregate_{kind} first.",
                code="no_label_set", fields={"kind": kind},
            )
        return label_set
    label_set = sets.filter(pk=label_set_id).first()
    if label_set is None:
        raise DomainError(f"Label set {label_set_id} is not a label set of dataset {dataset.name!r}.",
                          code="label_set_not_found", fields={"label_set": label_set_id})
    if label_set.kind != kind:
        raise DomainError(f"Label set {label_set_id} holds {label_set.kind} labels, not {kind}.",
                          code="label_set_wrong_kind", fields={"label_set": label_set_id})
    return label_set


def label_set_info(label_set) -> dict:
    if label_set is None:
        return {}
    return {"id": label_set.pk, "kind": label_set.kind, "version": label_set.number, "method": label_set.method}


def endpoint_table(*, label_set, clip_ids) -> dict[int, tuple[np.ndarray, bool]]:
    """Consensus end frames and the disagreement flag of each clip: {clip id: (ends, disagree)}."""
    from annotation.models import EndPointLabel

    rows = EndPointLabel.objects.filter(label_set=label_set, clip_id__in=[int(c) for c in clip_ids]) \
        .values_list("clip_id", "ends", "disagree")
    return {int(c): (np.asarray(ends or [], dtype=np.float64), bool(disagree)) for c, ends, disagree in rows}


def repetition_counts(clip_ids) -> dict[int, int]:
    """Repetition rows per clip (to check the consensus count lines up with the labelled reps)."""
    from django.db.models import Count

    rows = Repetition.objects.filter(clip_id__in=[int(c) for c in clip_ids]).values("clip_id") \
        .annotate(n=Count("id")).values_list("clip_id", "n")
    return {int(c): int(n) for c, n in rows}


@dataclass
class SeverityRows:
    """One row per (repetition, error type) of a severity label set."""

    repetition_id: np.ndarray
    clip_id: np.ndarray
    rep_index: np.ndarray
    error_type_id: np.ndarray
    bmm: np.ndarray
    mean: np.ndarray
    majority: np.ndarray

    def __len__(self):
        return int(self.repetition_id.shape[0])


def severity_table(*, label_set) -> SeverityRows:
    from annotation.models import SeverityLabel

    rows = list(
        SeverityLabel.objects.filter(label_set=label_set)
        .order_by("repetition_id", "error_type_id")
        .values_list("repetition_id", "repetition__clip_id", "repetition__index", "error_type_id",
                     "bmm_score", "mean", "majority")
    )
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return SeverityRows(empty, empty, empty, empty, np.empty(0), np.empty(0), empty)
    cols = list(zip(*rows))
    as_float = lambda col: np.asarray([np.nan if v is None else v for v in col], dtype=np.float64)  # noqa: E731
    return SeverityRows(
        repetition_id=np.asarray(cols[0], dtype=np.int64), clip_id=np.asarray(cols[1], dtype=np.int64),
        rep_index=np.asarray(cols[2], dtype=np.int64), error_type_id=np.asarray(cols[3], dtype=np.int64),
        bmm=as_float(cols[4]), mean=as_float(cols[5]),
        majority=np.asarray([-1 if v is None else v for v in cols[6]], dtype=np.int64),
    )


def annotator_kappa1_by_error_type(label_set) -> tuple[dict[int, float], int | None]:
    """Annotators' own Kappa1 per error type, as the aggregation's agreement measured it, and the
    agreement report it came from.

    The report written with the severity label set (same votes) when there is one, else the
    dataset's newest ``compute_agreement`` report; ``({}, None)`` when neither exists.
    """
    from annotation.models import AgreementReport, ErrorTypeAgreement

    report = AgreementReport.objects.filter(label_set=label_set).first() or \
        AgreementReport.objects.filter(dataset_id=label_set.dataset_id).order_by("-created_at", "-id").first()
    if report is None:
        return {}, None
    rows = ErrorTypeAgreement.objects.filter(report=report, kappa1__isnull=False).values_list("error_type_id", "kappa1")
    return {int(e): float(k) for e, k in rows}, report.pk


def error_type_table(*, dataset) -> list[dict]:
    """Every error type of the dataset with its exercise and generic name."""
    return [
        {"id": pk, "code": code, "exercise_id": exercise_id, "exercise": slug,
         "generic_name": generic or code, "annotator_kappa1": kappa1}
        for pk, code, exercise_id, slug, generic, kappa1 in
        ErrorType.objects.filter(exercise__dataset=dataset).order_by("exercise__slug", "code")
        .values_list("pk", "code", "exercise_id", "exercise__slug", "generic_name", "annotator_kappa1")
    ]


def exercise_names(*, dataset) -> dict[int, str]:
    return dict(Exercise.objects.filter(dataset=dataset).values_list("pk", "slug"))


def exercise_layouts(*, dataset) -> dict[int, tuple[str, int, int]]:
    """{exercise id: (skeleton layout, joint count, dims)}."""
    return {pk: (layout, joints, dims) for pk, layout, joints, dims in
            Exercise.objects.filter(dataset=dataset).values_list("pk", "skeleton_layout", "joint_count", "dims")}
