"""Launching, cancelling and executing jobs."""
import json
import logging
import traceback
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.roles import ADMIN, CURATOR, has_role
from config.exceptions import ConflictError, DomainError, ForbiddenError
from config.version import code_version
from tasks import registry
from tasks.models import Job
from tasks.progress import JobCancelled, JobProgress

logger = logging.getLogger(__name__)

# A running job whose heartbeat is older than this is taken to have lost its worker.
STALE_AFTER = timedelta(minutes=10)

_LAUNCH_ROLES = {"curator": (CURATOR, ADMIN), "admin": (ADMIN,)}


def _enqueue(job_id: int, queue: str) -> None:
    from tasks.tasks import run_job

    run_job.apply_async(args=[job_id], queue=queue)


def job_launch(*, kind: str, dataset=None, params: dict | None = None, user=None,
               check_role: bool = True) -> Job:
    """Validate and create a job, then enqueue it once the row is committed."""
    job_kind = registry.get_kind(kind)
    if check_role and not has_role(user, *_LAUNCH_ROLES[job_kind.role]):
        raise ForbiddenError(f"Only {job_kind.role}s may launch {kind} jobs.", code="forbidden_job_kind")
    if job_kind.needs_dataset and dataset is None:
        raise DomainError(f"{kind} needs a dataset.", code="dataset_required")
    clean = registry.validate_params(job_kind, params or {})
    clean = json.loads(json.dumps(clean, default=str))
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind, dataset=dataset, params=clean, launched_by=user if user and user.pk else None,
            queue=job_kind.queue, code_version=code_version(),
        )
        transaction.on_commit(lambda: _enqueue(job.pk, job_kind.queue))
    logger.info("job.launched", extra={"job_id": job.pk, "kind": kind})
    return job


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress report."""
    if job.state in Job.FINISHED_STATES:
        raise ConflictError(f"Job {job.pk} has already {job.state}.", code="job_finished")
    now = timezone.now()
    updated = Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
        state=Job.State.CANCELLED, cancel_requested=True, finished_at=now
    )
    if not updated:
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _claim(job_id: int, *, redelivered: bool) -> bool:
    """Compare-and-set queued -> running. A redelivered message or a stale heartbeat may take over
    a job left running by a worker that died."""
    now = timezone.now()
    fields = dict(state=Job.State.RUNNING, started_at=now, heartbeat_at=now,
                  attempts=F("attempts") + 1, code_version=code_version())
    if Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(**fields):
        return True
    takeover = Job.objects.filter(pk=job_id, state=Job.State.RUNNING)
    if not redelivered:
        takeover = takeover.filter(heartbeat_at__lt=now - STALE_AFTER)
    return bool(takeover.update(**fields))


def _summarise_traceback(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(lines)[-4000:]


def job_execute(*, job_id: int, redelivered: bool = False) -> None:
    """Run one job to its end. Safe to call twice: only the caller that wins the claim runs it."""
    if not _claim(job_id, redelivered=redelivered):
        logger.info("job.skip", extra={"job_id": job_id})
        return
    job = Job.objects.select_related("dataset", "launched_by").get(pk=job_id)
    progress = JobProgress(job)
    kind = registry.get_kind(job.kind)
    try:
        progress.log(f"started {job.kind} (attempt {job.attempts})")
        result = kind.run(job=job, progress=progress, **job.params)
    except JobCancelled:
        Job.objects.filter(pk=job_id).update(state=Job.State.CANCELLED, finished_at=timezone.now())
        progress.log("cancelled")
        return
    except Exception as exc:  # a failed job keeps the reason; the worker stays up
        error = str(exc) if not isinstance(exc, DomainError) else f"{exc.code}: {exc.detail}"
        Job.objects.filter(pk=job_id).update(
            state=Job.State.FAILED, finished_at=timezone.now(), error=error[:2000] or type(exc).__name__,
            error_traceback=_summarise_traceback(exc),
        )
        logger.exception("job.failed", extra={"job_id": job_id})
        try:
            progress.log(f"failed: {error[:300]}")
        except Exception:  # the database itself may be what failed
            pass
        return
    result = json.loads(json.dumps(result or {}, default=str))
    Job.objects.filter(pk=job_id).update(
        state=Job.State.SUCCEEDED, progress=1.0, result=result, finished_at=timezone.now()
    )
    progress.log("succeeded")
