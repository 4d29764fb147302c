"""Split severity runs: one unit of work per error type, spread over Celery workers.

This is a chord (a group of per-error-type tasks, then one callback that writes) built on the
database instead of a Celery result backend, which FormLab does not configure (job state lives on
the Job row, ``CELERY_TASK_IGNORE_RESULT``). The job's own task is the callback, so the Job row
keeps its usual contract (progress, cancel, result, failure) and nothing can deadlock:

1. The job's task stages each error type's votes as ``.npz`` in storage, creates one
   ``AggregationPart`` row per error type (``pending``) and sends one
   ``annotation.aggregate_severity_part`` task per row.
2. Every process (those tasks on any worker, and the job's task itself while it waits) claims a
   pending row with a compare-and-set, computes it, stores the result ``.npz`` and marks the row
   ``done`` with another compare-and-set. With a single worker process the job's task simply
   computes every part itself; the part tasks then find nothing left and return.
3. A part whose process died stays ``running``; once it has run far longer than any finished part
   the job's task puts it back to ``pending`` and it is computed again.
4. When every row is done the job's task reads the results and writes the label set in one
   transaction; then it deletes the rows and files. A job re-run (a new attempt) first deletes
   whatever an earlier attempt left.

Results do not depend on which process computed a part: ``compute_error_type`` is a pure function
of the staged arrays.
"""
from __future__ import annotations

import io
import json
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Count, Max, Q
from django.utils import timezone

from annotation.models import AggregationPart
from annotation.services.aggregation.compute import SeverityParams, compute_error_type

logger = logging.getLogger(__name__)

STAGE_ROOT = "aggregation-staging"
# A running part is presumed lost after this many times the slowest finished part (at least
# PART_MIN_STALE_S): its worker died, or is so slow that computing it again is no loss.
PART_STALE_FACTOR = 10.0
PART_MIN_STALE_S = 30.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _job_dir(job_id: int) -> str:
    return f"{STAGE_ROOT}/job-{job_id}"


def _save_npz(path: str, arrays: dict) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return default_storage.save(path, ContentFile(buffer.getvalue()))


def _load_npz(path: str) -> dict:
    with default_storage.open(path, "rb") as handle:
        data = np.load(io.BytesIO(handle.read()), allow_pickle=False)
        return {key: data[key] for key in data.files}


def _delete_file(path: str) -> None:
    if path and default_storage.exists(path):
        default_storage.delete(path)


def parts_cleanup(*, job_id: int) -> None:
    """Delete every part row and staged file of a job (any attempt, and files a killed process
    left behind that no row names any more)."""
    for part in AggregationPart.objects.filter(job_id=job_id):
        _delete_file(part.input_path)
        _delete_file(part.result_path)
    AggregationPart.objects.filter(job_id=job_id).delete()
    _delete_tree(_job_dir(job_id))


def _delete_tree(root: str) -> None:
    try:
        folders, files = default_storage.listdir(root)
    except FileNotFoundError:
        return
    for name in files:
        _delete_file(f"{root}/{name}")
    for name in folders:
        _delete_tree(f"{root}/{name}")
    try:
        os.rmdir(default_storage.path(root))  # a file system storage keeps emptied folders
    except (NotImplementedError, OSError):
        pass


def parts_stage(*, job, attempt: int, slices, n_annotators: int, params: SeverityParams, queue: str) -> int:
    """Stage every error type's votes, create the part rows and send one task per part.

    ``slices`` yields (error type id, repetition ids, dense annotator index, values).
    """
    from annotation.tasks import aggregate_severity_part

    parts_cleanup(job_id=job.pk)
    rows = []
    for error_type_id, rep, ann, value in slices:
        path = _save_npz(f"{_job_dir(job.pk)}/a{attempt}/et-{error_type_id}-in.npz", {
            "rep": rep, "ann": ann.astype(np.int32), "value": value.astype(np.int8),
            "n_annotators": np.array(n_annotators), "params": np.array(json.dumps(params.as_dict())),
        })
        rows.append(AggregationPart(job=job, attempt=attempt, error_type_id=error_type_id, input_path=path))
    created = AggregationPart.objects.bulk_create(rows)
    for part in created:
        aggregate_severity_part.apply_async(args=[part.pk], queue=queue)
    return len(created)


def part_claim(*, worker: str, part_id: int | None = None, job_id: int | None = None,
               attempt: int | None = None) -> AggregationPart | None:
    """Take one pending part (that one, or any of the job's attempt) with a compare-and-set."""
    while True:
        if part_id is not None:
            candidate = part_id
        else:
            candidate = (AggregationPart.objects.filter(job_id=job_id, attempt=attempt,
                                                        state=AggregationPart.State.PENDING)
                         .order_by("id").values_list("id", flat=True).first())
            if candidate is None:
                return None
        took = AggregationPart.objects.filter(pk=candidate, state=AggregationPart.State.PENDING).update(
            state=AggregationPart.State.RUNNING, claimed_by=worker, claimed_at=timezone.now())
        if took:
            return AggregationPart.objects.get(pk=candidate)
        if part_id is not None:
            return None


def part_run(*, part: AggregationPart, worker: str) -> bool:
    """Compute a claimed part and mark it done. False if the part was taken away meanwhile
    (reset as stale, or its job cleaned up): then its result is dropped."""
    started = time.perf_counter()
    try:
        staged = _load_npz(part.input_path)
    except FileNotFoundError:
        return False  # the job finished or was cleaned up: nothing to do
    params = SeverityParams(**json.loads(str(staged["params"])))
    result = compute_error_type(staged["rep"], staged["ann"], staged["value"],
                                n_annotators=int(staged["n_annotators"]), params=params)
    path = _save_npz(part.input_path.replace("-in.npz", f"-out-{uuid.uuid4().hex[:8]}.npz"), result)
    seconds = time.perf_counter() - started
    done = AggregationPart.objects.filter(pk=part.pk, state=AggregationPart.State.RUNNING,
                                          claimed_by=worker).update(
        state=AggregationPart.State.DONE, result_path=path, seconds=seconds)
    if not done:
        _delete_file(path)
        return False
    logger.info("aggregation.part_done", extra={"part_id": part.pk, "error_type_id": part.error_type_id,
                                                "seconds": round(seconds, 3), "worker": worker})
    return True


def parts_state(*, job_id: int, attempt: int) -> dict[str, int]:
    counts = dict(AggregationPart.objects.filter(job_id=job_id, attempt=attempt)
                  .values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in AggregationPart.State.values}


def parts_requeue_stale(*, job_id: int, attempt: int) -> int:
    """Put back to pending the running parts that have run far longer than the slowest done one."""
    slowest = AggregationPart.objects.filter(job_id=job_id, attempt=attempt, state=AggregationPart.State.DONE) \
        .aggregate(top=Max("seconds"))["top"] or 0.0
    limit = max(PART_MIN_STALE_S, PART_STALE_FACTOR * slowest)
    stale = AggregationPart.objects.filter(job_id=job_id, attempt=attempt, state=AggregationPart.State.RUNNING) \
        .filter(Q(claimed_at__lt=timezone.now() - timedelta(seconds=limit)) | Q(claimed_at__isnull=True))
    moved = stale.update(state=AggregationPart.State.PENDING, claimed_by="", claimed_at=None)
    if moved:
        logger.warning("aggregation.part_requeued", extra={"job_id": job_id, "parts": moved, "limit_s": limit})
    return moved


def parts_results(*, job_id: int, attempt: int) -> tuple[list[tuple[int, dict]], dict[str, int]]:
    """(error type id, result arrays) of every done part, and how many parts each process computed."""
    results, by_worker = [], {}
    for part in AggregationPart.objects.filter(job_id=job_id, attempt=attempt).order_by("error_type_id"):
        results.append((part.error_type_id, _load_npz(part.result_path)))
        host_pid = part.claimed_by.rsplit(":", 1)[0]
        by_worker[host_pid] = by_worker.get(host_pid, 0) + 1
    return results, by_worker
