"""Severity aggregation end to end: load votes, aggregate every error type, write one label set.

``severity_aggregate`` is what the ``aggregate_severity`` and ``compute_agreement`` jobs run:

1. read every vote of the dataset (COPY, ``inputs.severity_votes_load``), sorted, and hash them;
2. aggregate each error type (``compute.compute_error_type``): in this process, or, for large
   datasets, split over Celery workers (``parts``), the job's task taking part too;
3. combine, then write the label set, its ~1 M per-item rows and its agreement report in ONE
   transaction (``label_sets.severity_label_set_write``).

Heavy work happens outside any transaction; progress goes to the Job row in autocommit, one
message per error type. A run killed before step 3 commits leaves no label set.
"""
from __future__ import annotations

import logging
import time

import numpy as np
from django.utils import timezone

from annotation.models import AgreementReport, LabelSet
from annotation.services.aggregation.compute import SeverityParams, combine, compute_error_type
from annotation.services.aggregation.inputs import dense_rank, severity_votes_load
from annotation.services.aggregation.label_sets import severity_label_set_write
from config.exceptions import DomainError
from datasets.models import Dataset, ErrorType

logger = logging.getLogger(__name__)

#: ``split="auto"`` spreads a run over workers from this many votes on; below it the staging
#: round trip costs more than it saves.
SPLIT_MIN_VOTES = 2_000_000
SPLIT_CHOICES = ("auto", "always", "never")
# How often the job's task looks at the parts while it has none of its own to compute.
_POLL_S = 0.2


class NullProgress:
    """Progress sink for calls outside a job (tests, shell)."""

    def update(self, fraction, message=""):
        pass

    def log(self, message):
        pass

    def check_cancelled(self):
        pass


def _split_by_error_type(votes, annotator_index, et_rank, et_ids):
    """Yield (error type id, repetition ids, annotator index, values) per error type, in id order,
    each still sorted by (repetition, annotator)."""
    narrow = et_rank.astype(np.int16 if et_ids.size < 2 ** 15 else np.int64)
    order = np.argsort(narrow, kind="stable")  # radix sort on 16-bit keys: O(n)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(narrow, minlength=et_ids.size))])
    del narrow
    for k, et_id in enumerate(et_ids):
        idx = order[bounds[k]:bounds[k + 1]]
        yield int(et_id), votes.repetition[idx], annotator_index[idx], votes.value[idx]


def _compute_here(slices, *, n_annotators, params, progress, codes, n_error_types):
    parts = []
    for k, (et_id, rep, ann, value) in enumerate(slices):
        parts.append((et_id, compute_error_type(rep, ann, value, n_annotators=n_annotators, params=params)))
        progress.update(0.15 + 0.7 * (k + 1) / n_error_types,
                        f"error type {codes.get(et_id, et_id)} done ({k + 1}/{n_error_types})")
    return parts, {"this process": len(parts)}


def _compute_split(slices, *, job, n_annotators, params, progress, codes, n_error_types):
    from annotation.services.aggregation import parts as chord

    attempt = int(job.attempts or 1)
    me = chord.worker_name()
    try:
        chord.parts_stage(job=job, attempt=attempt, slices=slices, n_annotators=n_annotators, params=params,
                          queue=job.queue or "default")
        progress.log(f"split into {n_error_types} per-error-type parts")
        reported = -1
        while True:
            part = chord.part_claim(worker=me, job_id=job.pk, attempt=attempt)
            if part is not None:
                chord.part_run(part=part, worker=me)
            state = chord.parts_state(job_id=job.pk, attempt=attempt)
            if sum(state.values()) != n_error_types:
                raise DomainError("The per-error-type parts of this run were deleted while it ran; run it again.",
                                  code="parts_lost")
            done = state["done"]
            if done != reported:
                last = part.error_type_id if part is not None else None
                progress.update(0.15 + 0.7 * done / n_error_types,
                                f"{done}/{n_error_types} error types done"
                                + (f" (last here: {codes.get(last, last)})" if last is not None else ""))
                reported = done
            else:
                progress.check_cancelled()
            if done == n_error_types:
                break
            if part is None:
                chord.parts_requeue_stale(job_id=job.pk, attempt=attempt)
                time.sleep(_POLL_S)
        return chord.parts_results(job_id=job.pk, attempt=attempt)
    finally:
        chord.parts_cleanup(job_id=job.pk)


def severity_aggregate(*, dataset: Dataset, params: SeverityParams, job=None, user=None, progress=None,
                       split: str = "auto", set_current: bool = False, write_items: bool = True):
    """Aggregate every severity vote of ``dataset`` into a new label set (and agreement report).

    ``write_items=False`` writes only the agreement report (``compute_agreement``). Returns
    (label set or None, report or None, run facts for the job result). Idempotent per job: a job
    whose earlier attempt committed gets that attempt's rows back.
    """
    if split not in SPLIT_CHOICES:
        raise DomainError(f"split must be one of {SPLIT_CHOICES}.", code="invalid_param")
    progress = progress or NullProgress()
    if job is not None:
        done = (LabelSet.objects.filter(job=job).first(), AgreementReport.objects.filter(job=job).first())
        if any(done):
            progress.log("an earlier attempt of this job already wrote its results")
            return (*done, {"reused": True})
    started_at = timezone.now()
    t0 = time.perf_counter()
    timings = {}

    progress.update(0.01, "loading votes")
    votes = severity_votes_load(dataset_id=dataset.pk)
    timings["load_s"] = time.perf_counter() - t0
    if len(votes) == 0:
        raise DomainError(f"Dataset {dataset.name!r} has no severity votes.", code="no_votes")
    progress.update(0.1, f"{len(votes):,} votes loaded in {timings['load_s']:.1f}s")
    t = time.perf_counter()
    input_hash = votes.digest()
    annotator_index, annotator_ids = dense_rank(votes.annotator)
    et_rank, et_ids = dense_rank(votes.error_type)
    error_types = {row[0]: row[1:] for row in ErrorType.objects.filter(pk__in=et_ids.tolist())
                   .values_list("pk", "code", "annotator_kappa1")}
    codes = {pk: code for pk, (code, _) in error_types.items()}
    timings["prepare_s"] = time.perf_counter() - t

    t = time.perf_counter()
    n_error_types = int(et_ids.size)
    slices = _split_by_error_type(votes, annotator_index, et_rank, et_ids)
    use_split = job is not None and n_error_types > 1 and (
        split == "always" or (split == "auto" and len(votes) >= SPLIT_MIN_VOTES))
    runner = _compute_split if use_split else _compute_here
    kwargs = {"job": job} if use_split else {}
    parts, by_worker = runner(slices, n_annotators=int(annotator_ids.size), params=params, progress=progress,
                              codes=codes, n_error_types=n_error_types, **kwargs)
    del votes, annotator_index, et_rank, slices
    combined = combine(parts, annotator_ids=annotator_ids, params=params,
                       reference_kappa1={pk: kappa for pk, (_, kappa) in error_types.items()})
    del parts
    timings["compute_s"] = time.perf_counter() - t
    combined.summary["computed_by"] = by_worker
    combined.summary["split"] = use_split

    progress.update(0.88, "writing the label set" if write_items else "writing the agreement report")
    t = time.perf_counter()
    finished_at = timezone.now()
    label_set, report = severity_label_set_write(
        dataset_id=dataset.pk, combined=combined, params=params.as_dict(), input_count=int(combined.summary["n_votes"]),
        input_hash=input_hash, timings={k: round(v, 3) for k, v in timings.items()}, job=job, user=user,
        started_at=started_at, finished_at=finished_at, set_current=set_current, write_items=write_items,
    )
    timings["write_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    facts = {"input_count": int(combined.summary["n_votes"]), "input_hash": input_hash,
             "items": int(combined.item_rep.size), "error_types": n_error_types, "split": use_split,
             "computed_by": by_worker, "timings": {k: round(v, 3) for k, v in timings.items()}}
    logger.info("aggregation.severity_done", extra={"dataset_id": dataset.pk, **facts})
    return label_set, report, facts
