"""Fault scenarios that take longer than the fast suite allows (run by ``make test-load``):
a whole worker killed (main process too, as a lost machine), whose message only comes back after
the broker's visibility timeout; and a broker restart with persistence."""
from pathlib import Path

import pytest
from django.conf import settings

from datasets.exports.service import split_export_launch
from datasets.models import SplitExport
from tasks.models import Job
from tests.conftest import wait_for_job
from tests.datasets.factories import frozen_split, toy_dataset
from tests.factories import UserFactory
from tests.faults.conftest import kill_worker_hard, wait_paused
from tests.faults.test_broker_restart import _queue_on
from tests.faults.test_worker_killed import _data_hashes, _pausing


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_export_killed_mid_write_with_its_whole_worker(worker_factory):
    # given: a frozen split, an undisturbed jsonl export, and a second one paused inside the writer
    toy = toy_dataset(name="killexport", n_participants=9)
    version = frozen_split(toy)
    curator = UserFactory(roles=["curator"])
    proc, _ = worker_factory("kill-export-hard")
    reference = wait_for_job(split_export_launch(split_version=version, fmt="jsonl", user=curator).job_id)
    # the export row first, as the export API makes it, so every attempt writes the same export
    export = SplitExport.objects.create(split_version=version, format="jsonl", created_by=curator)
    job = _pausing("export_split", toy.dataset, {"split_version": version.pk, "format": "jsonl",
                                                 "export": export.pk}, curator, pause_at=0.7)
    wait_paused(job.pk)
    target = Path(settings.MEDIA_ROOT) / "exports" / str(export.pk)
    # when: the whole worker (main process and pool) is SIGKILLed, as a lost machine would be
    kill_worker_hard(proc)
    # then: no export directory and no finished export row are visible
    export.refresh_from_db()
    assert not target.exists()
    assert export.state != SplitExport.State.SUCCEEDED
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING
    # when: a new worker starts; the unacknowledged message comes back after the visibility timeout
    worker_factory("kill-export-2")
    done = wait_for_job(job.pk, timeout=90)
    # then: the retry wrote the same data files as the undisturbed export
    assert done.state == Job.State.SUCCEEDED, done.error
    assert done.attempts == 2
    assert any("lost its worker" in line for line in done.log)
    ref_export = SplitExport.objects.get(pk=reference.result["export"])
    export.refresh_from_db()
    assert target.is_dir()
    assert _data_hashes(export) == _data_hashes(ref_export) != {}




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
