"""A broker restart while jobs are queued, on a private redis-server (never the shared one):
without persistence the messages are lost, and the periodic check (``requeue_stuck_jobs``) sends
them again. (With persistence they survive: tests/load/test_fault_soak.py.)"""
import json
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings

from config.celery import app
from tasks.models import Job
from tasks.tasks import run_job
from tests.conftest import ROOT, wait_for_job


def _queue_on(redis, n=3) -> list[int]:
    jobs = [Job.objects.create(kind="fault_sleep", params={"seconds": 0.1}, queue="default") for _ in range(n)]
    with app.connection_for_write(redis.url) as conn:
        for job in jobs:
            run_job.apply_async(args=[job.pk], queue="default", connection=conn)
    return [j.pk for j in jobs]


def _requeue_command(redis) -> subprocess.CompletedProcess:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test", CELERY_BROKER_URL=redis.url,
               FORMLAB_WORKER_DB_NAME=str(settings.DATABASES["default"]["NAME"]))
    return subprocess.run([sys.executable, "manage.py", "requeue_stuck_jobs", "--queued-after", "0"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("private_redis", [False], indirect=True, ids=["volatile"])
def test_jobs_lost_with_a_volatile_broker_are_sent_again_by_the_periodic_check(private_redis, worker_factory):
    # given: three jobs queued, then the broker restarts and forgets them
    ids = _queue_on(private_redis)
    private_redis.restart()
    worker_factory("broker-volatile", CELERY_BROKER_URL=private_redis.url)
    time.sleep(1.0)
    assert set(Job.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"queued"}
    # when: the periodic check runs
    result = _requeue_command(private_redis)
    # then
    assert result.returncode == 0, result.stderr
    assert sorted(ids) == sorted(json.loads(result.stdout)["resent"])
    assert [wait_for_job(pk, timeout=60).state for pk in ids] == ["succeeded"] * 3
