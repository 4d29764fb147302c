"""Shared fixtures: API clients per role, and a real Celery worker process on the test database."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "test-output"


@pytest.fixture
def make_user(db):
    def make(*roles, **kwargs):
        return UserFactory(roles=roles, **kwargs)

    return make


@pytest.fixture
def api_client_for(make_user):
    """``api_client_for("curator")`` -> (client logged in as a new curator, user)."""

    def make(*roles, user=None):
        user = user or make_user(*roles)
        client = APIClient()
        client.force_authenticate(user=user)
        return client, user

    return make


def new_key() -> str:
    return uuid.uuid4().hex


def _wait_ready(log_path: Path, proc, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Celery worker exited early:\n{log_path.read_text()[-3000:]}")
        if log_path.exists() and " ready." in log_path.read_text():
            return
        time.sleep(0.3)
    raise RuntimeError(f"Celery worker not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")


def start_worker(name: str, *, queues="default,training", concurrency=1) -> tuple[subprocess.Popen, Path]:
    """Start ``celery worker`` as a separate process on the test database and broker."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    log_path = OUTPUT_DIR / f"celery-{name}-{os.getpid()}.log"
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env["FORMLAB_WORKER_DB_NAME"] = str(settings.DATABASES["default"]["NAME"])
    env["FORMLAB_MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues,
             "-c", str(concurrency), "--pool", "prefork", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    _wait_ready(log_path, proc)
    return proc, log_path


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """One real worker for the whole session, consuming both queues. Purges stale messages first."""
    from config.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
    proc, log_path = start_worker("session", concurrency=2)
    yield proc
    stop_worker(proc)


def wait_for_job(job_id: int, timeout: float = 120.0, states=("succeeded", "failed", "cancelled")):
    from tasks.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"Job {job_id} still {Job.objects.get(pk=job_id).state} after {timeout}s")
