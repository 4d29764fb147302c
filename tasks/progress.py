"""How a running job reports progress, log lines and checks for cancellation.

Writes go straight to the Job row in autocommit mode, outside any result transaction, so the UI
sees them while the job runs. Only the task that owns the job writes these fields.
"""
import logging

from django.utils import timezone

from tasks.models import Job

logger = logging.getLogger(__name__)

MAX_LOG_LINES = 500


class JobCancelled(Exception):
    pass


class JobProgress:
    def __init__(self, job: Job):
        self.job_id = job.pk
        self._log = list(job.log or [])

    def update(self, fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        Job.objects.filter(pk=self.job_id).update(
            progress=fraction, progress_message=message[:255], heartbeat_at=timezone.now()
        )
        self.check_cancelled()

    def log(self, message: str) -> None:
        line = f"{timezone.now().isoformat(timespec='seconds')} {message}"
        self._log = (self._log + [line])[-MAX_LOG_LINES:]
        Job.objects.filter(pk=self.job_id).update(log=self._log, heartbeat_at=timezone.now())
        logger.info("job.log", extra={"job_id": self.job_id, "line": message})

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job_id, cancel_requested=True).exists():
            raise JobCancelled()

    def steps(self, items, *, start=0.0, end=1.0, label=""):
        """Yield from ``items`` while moving progress from ``start`` to ``end``."""
        items = list(items)
        total = max(len(items), 1)
        for i, item in enumerate(items):
            self.update(start + (end - start) * i / total, f"{label}{item}" if label else "")
            yield item
        self.update(end)
