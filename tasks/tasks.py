"""Celery adapters: take an id, call the service, nothing else."""
from celery import shared_task


def _redelivered(request) -> bool:
    info = request.delivery_info or {}
    headers = getattr(request, "headers", None) or {}
    return bool(info.get("redelivered") or headers.get("redelivered"))


@shared_task(name="tasks.run_job", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self, job_id: int) -> None:
    from tasks.services import job_execute

    job_execute(job_id=job_id, redelivered=_redelivered(self.request))
