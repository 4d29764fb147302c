"""Celery adapters: take an id, call the service, nothing else."""
from importlib import import_module

from celery import shared_task
from django.conf import settings

# Plugins (and the fault tests) register job kinds from modules named in the settings; the
# worker imports this module at start, so their kinds exist there too.
for _module in getattr(settings, "FORMLAB_EXTRA_JOB_MODULES", ()):
    import_module(_module)


def _redelivered(request) -> bool:
    """The broker's own sign (Redis, RabbitMQ). kombu's filesystem transport writes its flag
    where Celery does not look, so ``job_execute`` also recognises the message by its id."""
    info = request.delivery_info or {}
    headers = getattr(request, "headers", None) or {}
    return bool(info.get("redelivered") or headers.get("redelivered"))


@shared_task(name="tasks.run_job", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self, job_id: int, redelivered: bool = False, deferrals: int = 0) -> None:
    """Run a job. A re-delivered message for a job whose old heartbeat is still fresh asks again
    one heartbeat later (bounded), so a killed worker's job is taken over within a few beats."""
    from tasks.services import BUSY, STALE_AFTER, heartbeat_interval, job_execute

    beat = heartbeat_interval()
    redelivered = redelivered or _redelivered(self.request)
    outcome = job_execute(job_id=job_id, redelivered=redelivered, heartbeat_s=beat,
                          message_id=self.request.id or "")
    if outcome == BUSY and deferrals * beat < STALE_AFTER.total_seconds():
        queue = (self.request.delivery_info or {}).get("routing_key") or "default"
        run_job.apply_async(args=[job_id], kwargs={"redelivered": True, "deferrals": deferrals + 1},
                            countdown=beat, queue=queue)


@shared_task(name="tasks.requeue_stuck_jobs")
def requeue_stuck_jobs() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): re-queue jobs whose worker or broker message was lost."""
    from tasks.services import jobs_requeue_stuck

    return jobs_requeue_stuck()
