"""How a running job reports progress, log lines and checks for cancellation.

Writes go straight to the Job row in autocommit mode, outside any result transaction, so the UI
sees them while the job runs. Only the task that owns the job writes these fields.

``Heartbeat`` touches ``heartbeat_at`` from a side thread while the job runs, so a long step that
reports no progress still shows the job alive, and a worker that died shows as a stale heartbeat
(``tasks.services`` then re-runs or fails the job; see docs/reliability.md).
"""
import logging
import threading

from django.db import connections
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

    def with_line(self, message: str) -> list[str]:
        """The log with one more line, not yet written: for updates that also change the state,
        so a reader never sees a finished job without its closing line."""
        line = f"{timezone.now().isoformat(timespec='seconds')} {message}"
        self._log = (self._log + [line])[-MAX_LOG_LINES:]
        return self._log

    def log(self, message: str) -> None:
        self.with_line(message)
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


class Heartbeat:
    """Context manager: touch the job's ``heartbeat_at`` every ``interval`` seconds while it runs.

    The thread has its own database connection (Django connections are per thread), closes it
    when it stops, and survives a lost connection (it reconnects on the next beat). It only
    touches the row while the job is still running the same attempt, so it can never revive a
    job another worker took over. ``interval`` None or <= 0: no thread (in-process unit tests,
    where a second connection would wait on the test's open transaction).
    """

    def __init__(self, *, job_id: int, attempt: int, interval: float | None):
        self.job_id = job_id
        self.attempt = attempt
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.interval and self.interval > 0:
            self._thread = threading.Thread(target=self._run, name=f"job-{self.job_id}-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 10)
        return False

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                try:
                    Job.objects.filter(pk=self.job_id, state=Job.State.RUNNING, attempts=self.attempt).update(
                        heartbeat_at=timezone.now())
                except Exception:  # a lost connection: drop it, reconnect on the next beat
                    logger.warning("job.heartbeat_failed", extra={"job_id": self.job_id}, exc_info=True)
                    connections["default"].close()
        finally:
            connections.close_all()
