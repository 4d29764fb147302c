"""Job kinds for the fault tests, registered in the test process by import and in worker
processes through ``FORMLAB_EXTRA_JOB_MODULES=tests.faults.fault_jobs``.

``fault_pause`` runs a REAL job kind (make_split, export_split, aggregate_severity, ...) with its
real parameters, but on its first attempt sleeps once when the kind reports progress past
``pause_at``, logging "paused at ..." so a test knows when to kill the worker or the database
connection. Later attempts run straight through, as a re-delivered job would.

``fault_record`` notes when each attempt starts and ends, and in which process, in a file in the
media folder, so a test sees which attempts ran and that no two ran at once.
"""
import json
import os
import time
from pathlib import Path

from django.conf import settings
from rest_framework import serializers

from tasks import registry
from tasks.registry import job_kind


class PauseParams(serializers.Serializer):
    kind = serializers.CharField()
    params = serializers.CharField(default="{}", help_text="The real kind's parameters, as JSON.")
    pause_at = serializers.FloatField(default=0.5, min_value=0.0, max_value=1.0)
    pause_s = serializers.FloatField(default=60.0, min_value=0.0, max_value=600.0)


class _PausingProgress:
    def __init__(self, progress, *, job, pause_at, pause_s):
        self._inner = progress
        self._job = job
        self._pause_at = pause_at
        self._pause_s = pause_s
        self._paused = job.attempts > 1

    def update(self, fraction, message=""):
        self._inner.update(fraction, message)
        if not self._paused and float(fraction) >= self._pause_at:
            self._paused = True
            self._inner.log(f"paused at {float(fraction):.2f}")
            deadline = time.monotonic() + self._pause_s
            while time.monotonic() < deadline:
                time.sleep(0.1)
            # The database may have been cut meanwhile: this write finds out.
            self._inner.update(fraction, "resumed")

    def __getattr__(self, name):
        return getattr(self._inner, name)


@job_kind("fault_pause", params=PauseParams, role="curator",
          description="Test only: run a real job kind, pausing once mid-way on the first attempt.")
def fault_pause(*, job, progress, kind, params, pause_at, pause_s):
    real = registry.get_kind(kind)
    clean = registry.validate_params(real, json.loads(params))
    return real.run(job=job, progress=_PausingProgress(progress, job=job, pause_at=pause_at, pause_s=pause_s),
                    **clean)


class SleepParams(serializers.Serializer):
    seconds = serializers.FloatField(default=0.5, min_value=0.0, max_value=120.0)


@job_kind("fault_sleep", params=SleepParams, role="curator", needs_dataset=False,
          description="Test only: sleep, reporting progress.")
def fault_sleep(*, job, progress, seconds):
    steps = 5
    for i in range(steps):
        progress.update(i / steps, f"sleeping {i}")
        time.sleep(seconds / steps)
    return {"slept": seconds}


class RecordParams(serializers.Serializer):
    pause_s = serializers.FloatField(default=60.0, min_value=0.0, max_value=600.0)


def attempts_file(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / f"fault-record-{job_id}.txt"


def _note(job, event: str) -> None:
    attempts_file(job.pk).parent.mkdir(parents=True, exist_ok=True)
    with attempts_file(job.pk).open("a") as f:
        f.write(f"{event} {job.attempts} {os.getpid()} {time.time():.6f}\n")


@job_kind("fault_record", params=RecordParams, role="curator", needs_dataset=False,
          description="Test only: note when each attempt starts and ends; the first one pauses.")
def fault_record(*, job, progress, pause_s):
    _note(job, "start")
    if job.attempts == 1:
        progress.log("paused at 0.50")
        time.sleep(pause_s)
    _note(job, "end")
    return {"attempt": job.attempts}
