"""Fault scenarios that take longer than the fast suite allows (run by ``make test-load``):
a whole worker killed (main process too, as a lost machine), whose message only comes back after
the broker's visibility timeout; and a broker restart with persistence."""
import time

import pytest

from tasks.models import Job
from tests.conftest import wait_for_job
from tests.faults.conftest import WORKER_ENV, kill_worker_hard
from tests.faults.paused_jobs import (
    assert_export_like_reference, assert_export_not_visible, assert_taken_over, export_paused_mid_write,
)
from tests.faults.test_broker_restart import _queue_on


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_export_killed_mid_write_with_its_whole_worker(worker_factory):
    # given: a frozen split, an undisturbed jsonl export, and a second one paused inside the writer
    proc, paused = export_paused_mid_write(worker_factory, "kill-export-hard")
    # when: the whole worker (main process and pool) is SIGKILLed, as a lost machine would be
    kill_worker_hard(proc)
    # then: no export directory and no finished export row are visible
    assert_export_not_visible(paused)
    assert Job.objects.get(pk=paused.job.pk).state == Job.State.RUNNING
    # when: a new worker starts once the visibility timeout has passed. (Kombu's Redis transport
    # returns overdue unacknowledged messages when a worker starts polling and then only every
    # ~100 s, so a worker started before the timeout is up would find nothing for 100 s.)
    time.sleep(float(WORKER_ENV["CELERY_VISIBILITY_TIMEOUT"]) + 1)
    worker_factory("kill-export-2")
    done = wait_for_job(paused.job.pk, timeout=90)
    # then: the retry wrote the same data files as the undisturbed export
    assert_taken_over(done)
    assert_export_like_reference(paused)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("private_redis", [True], indirect=True, ids=["persistent"])
def test_queued_jobs_survive_a_restart_of_a_persistent_broker(private_redis, worker_factory):
    # given: three jobs queued while no worker runs
    ids = _queue_on(private_redis)
    # when: the broker restarts, then a worker starts
    private_redis.restart()
    worker_factory("broker-aof", CELERY_BROKER_URL=private_redis.url)
    # then
    assert [wait_for_job(pk, timeout=60).state for pk in ids] == ["succeeded"] * 3
