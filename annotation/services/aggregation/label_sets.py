"""Writing label sets and agreement reports, and moving the current flag.

Every write here happens in ONE transaction that takes the dataset row lock first (so two runs on
one dataset number their versions one after the other), writes the label set row and all its
per-item rows with COPY (``datasets.bulk.bulk_insert``) and its uncertainty ranking
(``annotation.services.uncertainty``), and commits. A run killed before the
commit leaves nothing; a job re-run after its first attempt committed finds that set (one set per
job) and returns it instead of writing a second one.

Label sets are immutable: there is no update service, and the models refuse any save or
``update()`` of a written row (``annotation.models.label_sets``). The only change a label set ever
sees is ``is_current``, moved by ``label_set_set_current``.
"""
from __future__ import annotations

import numpy as np
from django.db import transaction
from django.db.models import Max

from annotation.models import (
    AgreementReport, AnnotatorAgreement, EndPointLabel, ErrorTypeAgreement, LabelSet, SeverityLabel,
)
from annotation.services.aggregation.compute import Combined, json_safe
from annotation.services.uncertainty import label_set_ranking_store
from config.exceptions import ConflictError
from config.version import code_version
from datasets.bulk import bulk_insert
from datasets.models import Dataset


def _lock_dataset(dataset_id: int) -> Dataset:
    return Dataset.objects.select_for_update().get(pk=dataset_id)


def _next_number(dataset_id: int, kind: str) -> int:
    top = LabelSet.objects.filter(dataset_id=dataset_id, kind=kind).aggregate(top=Max("number"))["top"]
    return (top or 0) + 1


def _create_label_set(*, dataset_id, kind, method, params, input_count, input_hash, item_count, summary,
                      timings, job, user, started_at, finished_at, set_current) -> LabelSet:
    label_set = LabelSet.objects.create(
        dataset_id=dataset_id, kind=kind, number=_next_number(dataset_id, kind), method=method,
        params=json_safe(params), code_version=code_version(), input_count=input_count, input_hash=input_hash,
        item_count=item_count, summary=json_safe(summary), timings=json_safe(timings), job=job,
        created_by=user if user is not None and user.pk else None, started_at=started_at, finished_at=finished_at,
    )
    if set_current:
        _move_current(label_set)
    return label_set


def label_set_for_job(*, job) -> LabelSet | None:
    """The set a job already committed (a re-delivered job returns it instead of writing again)."""
    return None if job is None else LabelSet.objects.filter(job=job).first()


def severity_label_set_write(*, dataset_id: int, combined: Combined | None, params: dict, input_count: int,
                             input_hash: str, timings: dict, job=None, user=None, started_at, finished_at,
                             set_current: bool = False, write_items: bool = True) -> tuple[LabelSet | None,
                                                                                            AgreementReport | None]:
    """Write a severity label set (and its agreement report), or only a report (``write_items``
    False, the ``compute_agreement`` job). One transaction; see the module docstring."""
    with transaction.atomic():
        _lock_dataset(dataset_id)
        if job is not None:
            existing = LabelSet.objects.filter(job=job).first()
            report = AgreementReport.objects.filter(job=job).first()
            if existing is not None or report is not None:
                return existing, report
        label_set = None
        if write_items:
            label_set = _create_label_set(
                dataset_id=dataset_id, kind=LabelSet.Kind.SEVERITY, method=params["method"], params=params,
                input_count=input_count, input_hash=input_hash, item_count=int(combined.item_rep.size),
                summary=combined.summary, timings=timings, job=job, user=user, started_at=started_at,
                finished_at=finished_at, set_current=set_current,
            )
            n = int(combined.item_rep.size)
            bulk_insert(SeverityLabel, {
                "label_set_id": label_set.pk, "repetition_id": combined.item_rep,
                "error_type_id": combined.item_error_type, "n_votes": combined.n_votes.astype(np.int64),
                "mean": combined.mean, "majority": combined.majority.astype(np.int64),
                "bmm_score": combined.bmm_score if combined.bmm_score is not None else None,
                "ds_class": combined.ds_class.astype(np.int64) if combined.ds_class is not None else None,
                "ds_confidence": combined.ds_confidence if combined.ds_confidence is not None else None,
            }, n_rows=n)
            label_set_ranking_store(label_set)
        report = None
        if params.get("with_agreement", True):
            report = _write_agreement(dataset_id=dataset_id, label_set=label_set, combined=combined, params=params,
                                      input_count=input_count, input_hash=input_hash, job=job, user=user)
    return label_set, report


def _write_agreement(*, dataset_id, label_set, combined: Combined, params, input_count, input_hash, job, user):
    report = AgreementReport.objects.create(
        dataset_id=dataset_id, label_set=label_set, params=json_safe(params), code_version=code_version(),
        input_count=input_count, input_hash=input_hash, summary=json_safe(combined.summary.get("agreement", {})),
        job=job, created_by=user if user is not None and user.pk else None,
    )
    ErrorTypeAgreement.objects.bulk_create(
        ErrorTypeAgreement(
            report=report, error_type_id=e["error_type_id"], n_items=e["n_items"], n_votes=e["n_votes"],
            n_annotators=e["n_annotators"], kappa0=e["agreement"]["kappa0"], kappa1=e["agreement"]["kappa1"],
            mean_annotator_kappa1=e["agreement"]["mean_annotator_kappa1"], alpha=e["agreement"]["alpha"],
            target_kappa1=e["target_kappa1"], reference_kappa1=e["reference_kappa1"],
            majority_counts=e["majority_counts"],
        )
        for e in combined.error_types
    )
    AnnotatorAgreement.objects.bulk_create(
        AnnotatorAgreement(
            report=report, annotator_id=a["annotator_id"], n_votes=a["n_votes"],
            n_items_scored=a.get("n_items_scored", 0), kappa0=a.get("kappa0"), kappa1=a.get("kappa1"),
            ds_accuracy=a.get("ds_accuracy"), confusion=a.get("confusion"),
        )
        for a in combined.annotators
    )
    return report


def end_point_label_set_write(*, dataset_id: int, columns: dict, n_rows: int, params: dict, input_count: int,
                              input_hash: str, summary: dict, timings: dict, job=None, user=None, started_at,
                              finished_at, set_current: bool = False) -> LabelSet:
    """Write an end-point label set with one row per clip of the dataset. One transaction."""
    with transaction.atomic():
        _lock_dataset(dataset_id)
        existing = label_set_for_job(job=job)
        if existing is not None:
            return existing
        label_set = _create_label_set(
            dataset_id=dataset_id, kind=LabelSet.Kind.ENDPOINTS, method="consensus", params=params,
            input_count=input_count, input_hash=input_hash, item_count=n_rows, summary=summary, timings=timings,
            job=job, user=user, started_at=started_at, finished_at=finished_at, set_current=set_current,
        )
        bulk_insert(EndPointLabel, {"label_set_id": label_set.pk, **columns}, n_rows=n_rows)
        label_set_ranking_store(label_set)
    return label_set


def _move_current(label_set: LabelSet) -> None:
    # Clear the old flag first: the partial unique constraint allows one current set per (dataset, kind).
    for old in LabelSet.objects.select_for_update().filter(dataset_id=label_set.dataset_id, kind=label_set.kind,
                                                           is_current=True).exclude(pk=label_set.pk):
        old.is_current = False
        old.save(update_fields=["is_current"])
    if not label_set.is_current:
        label_set.is_current = True
        label_set.save(update_fields=["is_current"])


def label_set_set_current(*, label_set: LabelSet) -> LabelSet:
    """Make this set the current one of its dataset and kind (a curator action). Idempotent."""
    with transaction.atomic():
        _lock_dataset(label_set.dataset_id)
        fresh = LabelSet.objects.select_for_update().filter(pk=label_set.pk).first()
        if fresh is None:
            raise ConflictError(f"Label set {label_set.pk} no longer exists.", code="label_set_gone")
        _move_current(fresh)
    return fresh
