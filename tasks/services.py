"""Launching, cancelling and executing jobs, and the periodic check for jobs that lost their worker.

The rules (docs/reliability.md):
- A job is claimed by a compare-and-set queued -> running; only the winner runs it.
- While it runs, a side thread touches ``heartbeat_at`` every ``FORMLAB_JOB_HEARTBEAT_S``.
- A worker killed mid-job (SIGKILL, OOM, lost machine): Celery re-delivers the message
  (``acks_late`` + ``reject_on_worker_lost``, or the broker's visibility timeout). The re-delivered
  message takes the job over once its heartbeat is older than three beats, logging the reason;
  while the old heartbeat is still fresh it waits (re-sends itself a beat later). A job that
  lost its worker ``FORMLAB_JOB_MAX_ATTEMPTS`` times is failed with ``worker_lost``.
  A re-delivery is recognised by the job row itself: the claim records the id of the message
  that runs the attempt (``Job.message_id``), and a running job meeting that message again knows
  its worker let go of it. The broker's ``redelivered`` flag is not needed: kombu's filesystem
  transport (the embedded default) does not pass it on to the task.
- The periodic check (``jobs_requeue_stuck``: beat task and ``manage.py requeue_stuck_jobs``)
  re-queues running jobs whose heartbeat is older than ``FORMLAB_JOB_STALE_AFTER_S`` and re-sends
  queued jobs whose message a broker restart may have dropped.
- The database connection lost mid-job: the broken connection is closed and the job marked
  failed with ``database_connection_lost``; run functions write results in one transaction, so
  nothing half-written remains and a re-run starts clean.
"""
import json
import logging
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotation.roles import ADMIN, CURATOR, has_role
from audit.context import audit_context
from config.exceptions import ConflictError, DomainError, ForbiddenError
from config.version import code_version
from tasks import registry
from tasks.models import Job
from tasks.progress import Heartbeat, JobCancelled, JobProgress, MAX_LOG_LINES

logger = logging.getLogger(__name__)

# A running job whose heartbeat is older than this is taken to have lost its worker.
STALE_AFTER = timedelta(seconds=getattr(settings, "FORMLAB_JOB_STALE_AFTER_S", 600.0))

_LAUNCH_ROLES = {"curator": (CURATOR, ADMIN), "admin": (ADMIN,)}

# job_execute outcomes
RAN, SKIPPED, BUSY, GAVE_UP = "ran", "skipped", "busy", "gave_up"


def heartbeat_interval() -> float:
    return float(getattr(settings, "FORMLAB_JOB_HEARTBEAT_S", 30.0))


def max_attempts() -> int:
    return int(getattr(settings, "FORMLAB_JOB_MAX_ATTEMPTS", 3))


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


def _append_log(job_id: int, message: str) -> None:
    """A log line written by someone other than the job's own task (the job is not running)."""
    line = f"{timezone.now().isoformat(timespec='seconds')} {message}"
    log = Job.objects.filter(pk=job_id).values_list("log", flat=True).first() or []
    Job.objects.filter(pk=job_id).update(log=(list(log) + [line])[-MAX_LOG_LINES:])


def _fail_worker_lost(job_id: int, attempts: int, state=Job.State.RUNNING) -> bool:
    reason = (f"worker_lost: the job's worker died during {attempts} attempt(s); "
              f"not retried again (FORMLAB_JOB_MAX_ATTEMPTS={max_attempts()}).")
    done = Job.objects.filter(pk=job_id, state=state, attempts=attempts).update(
        state=Job.State.FAILED, finished_at=timezone.now(), error=reason, progress_message="failed: worker lost")
    if done:
        _append_log(job_id, f"failed: {reason}")
        logger.error("job.worker_lost", extra={"job_id": job_id, "attempts": attempts})
    return bool(done)


def _claim(job_id: int, *, redelivered: bool, message_id: str) -> str:
    """Compare-and-set queued -> running, or take over a running job whose worker died.

    Returns RAN (claimed: run it), SKIPPED (someone else has it, or it is finished), BUSY (a
    re-delivered message for a job whose heartbeat is still fresh: ask again later) or GAVE_UP
    (the job lost its worker too often and is now failed).
    """
    now = timezone.now()
    fields = dict(state=Job.State.RUNNING, started_at=now, heartbeat_at=now, message_id=message_id,
                  attempts=F("attempts") + 1, code_version=code_version())
    if Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(**fields):
        return RAN
    row = Job.objects.filter(pk=job_id).values("state", "heartbeat_at", "attempts", "message_id").first()
    if row is None or row["state"] != Job.State.RUNNING:
        return SKIPPED
    # Messages are acknowledged only when their task ends, so the message that started this
    # attempt, seen again, was given back by a worker that lost it.
    redelivered = redelivered or (bool(message_id) and row["message_id"] == message_id)
    # A re-delivered message means a worker lost it; three missed beats confirm the worker is gone.
    # Without that sign, only the long stale limit (no heartbeat for STALE_AFTER) proves it.
    limit = timedelta(seconds=3 * heartbeat_interval()) if redelivered else STALE_AFTER
    beat = row["heartbeat_at"]
    if beat is not None and beat >= now - limit:
        return BUSY if redelivered else SKIPPED
    if row["attempts"] >= max_attempts():
        return GAVE_UP if _fail_worker_lost(job_id, row["attempts"]) else SKIPPED
    took = Job.objects.filter(pk=job_id, state=Job.State.RUNNING, attempts=row["attempts"]).update(**fields)
    if not took:
        return SKIPPED
    last = beat.isoformat(timespec="seconds") if beat else "never"
    _append_log(job_id, f"attempt {row['attempts']} lost its worker (last heartbeat {last}); "
                        f"retrying as attempt {row['attempts'] + 1}")
    logger.warning("job.takeover", extra={"job_id": job_id, "attempt": row["attempts"] + 1})
    return RAN


def _summarise_traceback(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(lines)[-4000:]


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc).lower()
        return any(s in text for s in ("terminat", "closed", "connection", "server", "broken pipe", "eof"))
    return False


def _write_with_reconnect(write, *, tries: int = 4) -> None:
    """Run ``write`` (an autocommit UPDATE); on a dead connection, drop it and try again."""
    for attempt in range(tries):
        try:
            write()
            return
        except (OperationalError, InterfaceError):
            if attempt == tries - 1 or connection.in_atomic_block:
                raise
            connection.close()
            time.sleep(0.2 * (attempt + 1))


def _record_failure(job_id: int, exc: BaseException, progress: JobProgress) -> None:
    lost = _is_connection_error(exc)
    if not connection.in_atomic_block and (lost or (connection.errors_occurred and not connection.is_usable())):
        # The connection the job used is broken: close it, so the next query opens a fresh one.
        # (Inside an outer transaction, e.g. a test calling job_execute, it cannot be replaced.)
        connection.close()
    if isinstance(exc, DomainError):
        error = f"{exc.code}: {exc.detail}"
    elif lost:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        error = f"database_connection_lost: the database connection was lost mid-job ({first}). " \
                "Nothing was written; run the job again."
    else:
        error = str(exc) or type(exc).__name__
    _write_with_reconnect(lambda: Job.objects.filter(pk=job_id).update(
        state=Job.State.FAILED, finished_at=timezone.now(), error=error[:2000],
        error_traceback=_summarise_traceback(exc),
    ))
    logger.error("job.failed", extra={"job_id": job_id, "error": error[:300]}, exc_info=exc)
    try:
        progress.log(f"failed: {error[:300]}")
    except Exception:  # the log line is a courtesy; the state and error are already written
        if not connection.in_atomic_block:
            connection.close()


def job_execute(*, job_id: int, redelivered: bool = False, heartbeat_s: float | None = None,
                message_id: str = "") -> str:
    """Run one job to its end. Safe to call twice: only the caller that wins the claim runs it.

    ``heartbeat_s``: touch ``heartbeat_at`` from a side thread this often (the Celery task passes
    the setting; in-process calls in tests leave it off). ``message_id``: the Celery task id of
    the message asking (the same on every delivery of that message). Returns RAN, SKIPPED, BUSY
    or GAVE_UP.
    """
    outcome = _claim(job_id, redelivered=redelivered, message_id=message_id)
    if outcome != RAN:
        logger.info("job.skip", extra={"job_id": job_id, "outcome": outcome})
        return outcome
    job = Job.objects.select_related("dataset", "launched_by").get(pk=job_id)
    progress = JobProgress(job)
    kind = registry.get_kind(job.kind)
    with audit_context(source=f"job {job.pk} ({job.kind})", user=job.launched_by), \
            Heartbeat(job_id=job.pk, attempt=job.attempts, interval=heartbeat_s):
        try:
            progress.log(f"started {job.kind} (attempt {job.attempts})")
            result = kind.run(job=job, progress=progress, **job.params)
        except JobCancelled:
            Job.objects.filter(pk=job_id).update(state=Job.State.CANCELLED, finished_at=timezone.now(),
                                                 log=progress.with_line("cancelled"))
            return RAN
        except Exception as exc:  # a failed job keeps the reason; the worker stays up
            _record_failure(job_id, exc, progress)
            return RAN
        result = json.loads(json.dumps(result or {}, default=str))
        _write_with_reconnect(lambda: Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(
            state=Job.State.SUCCEEDED, progress=1.0, result=result, finished_at=timezone.now(),
            log=progress.with_line("succeeded"),
        ))
    return RAN


def jobs_requeue_stuck(*, now=None, stale_after: timedelta | None = None,
                       queued_after: timedelta | None = None) -> dict:
    """The periodic check for jobs that lost their worker or their broker message.

    - running, heartbeat older than ``stale_after``: re-queued (state queued, message re-sent) with
      the reason in the log, or failed with ``worker_lost`` after ``FORMLAB_JOB_MAX_ATTEMPTS``;
    - queued, not started ``queued_after`` after it was created or last re-sent: the message is
      sent again (a broker restart without persistence drops queued messages; a duplicate is
      harmless, the claim lets one copy run).
    Every change is a compare-and-set, so two checks running at once do each job once.
    """
    now = now or timezone.now()
    stale_after = STALE_AFTER if stale_after is None else stale_after
    if queued_after is None:
        queued_after = timedelta(seconds=getattr(settings, "FORMLAB_JOB_QUEUED_RESEND_S", 900.0))
    out = {"requeued": [], "failed": [], "resent": []}
    stale = Job.objects.filter(state=Job.State.RUNNING).filter(
        Q(heartbeat_at__lt=now - stale_after) | Q(heartbeat_at__isnull=True, started_at__lt=now - stale_after))
    for job in stale.only("pk", "attempts", "heartbeat_at", "queue"):
        if job.attempts >= max_attempts():
            if _fail_worker_lost(job.pk, job.attempts):
                out["failed"].append(job.pk)
            continue
        last = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "never"
        moved = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, attempts=job.attempts).update(
            state=Job.State.QUEUED, heartbeat_at=now,
            progress_message=f"re-queued: attempt {job.attempts} lost its worker (no heartbeat since {last})")
        if moved:
            _append_log(job.pk, f"attempt {job.attempts} lost its worker (no heartbeat since {last}); re-queued")
            transaction.on_commit(lambda pk=job.pk, q=job.queue: _enqueue(pk, q))
            out["requeued"].append(job.pk)
    waiting = Job.objects.filter(state=Job.State.QUEUED, cancel_requested=False).filter(
        Q(heartbeat_at__lt=now - queued_after) | Q(heartbeat_at__isnull=True, created_at__lt=now - queued_after))
    for job in waiting.only("pk", "heartbeat_at", "queue"):
        if Job.objects.filter(pk=job.pk, state=Job.State.QUEUED, heartbeat_at=job.heartbeat_at).update(
                heartbeat_at=now):
            transaction.on_commit(lambda pk=job.pk, q=job.queue: _enqueue(pk, q))
            out["resent"].append(job.pk)
    if any(out.values()):
        logger.warning("job.requeue_stuck", extra=out)
    return out
