"""The database connection cut mid-job (pg_terminate_backend): the job is failed with a clear
reason, nothing is half-written, the worker survives and a re-run succeeds."""
import json

import pytest
from django.db import connection

from datasets.models import SplitVersion
from tasks.models import Job
from tasks.services import job_launch
from tests.conftest import wait_for_job
from tests.datasets.factories import toy_dataset
from tests.factories import UserFactory
from tests.faults.conftest import wait_paused


def _terminate_other_backends() -> int:
    # Only this test database's connections, never another database on the shared server.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_connection_terminated_mid_job_fails_it_cleanly_and_a_retry_succeeds(worker_factory):
    # given: a split job paused after its computation, before it writes
    toy = toy_dataset(name="dblost", n_participants=12)
    curator = UserFactory(roles=["curator"])
    proc, _ = worker_factory("db-lost")
    job = job_launch(kind="fault_pause", dataset=toy.dataset, user=curator,
                     params={"kind": "make_split", "params": json.dumps({"seed": 3}), "pause_at": 0.8,
                             "pause_s": 1.5})
    wait_paused(job.pk)
    # when: every other connection to the database is terminated
    killed = _terminate_other_backends()
    failed = wait_for_job(job.pk, timeout=60)
    # then
    assert killed >= 1
    assert failed.state == Job.State.FAILED
    assert failed.error.startswith("database_connection_lost:")
    assert SplitVersion.objects.filter(dataset=toy.dataset).count() == 0
    assert proc.poll() is None
    # when: the job is run again on the same worker
    retry = wait_for_job(job_launch(kind="make_split", dataset=toy.dataset, params={"seed": 3}, user=curator).pk)
    # then
    assert retry.state == Job.State.SUCCEEDED, retry.error
    assert SplitVersion.objects.filter(dataset=toy.dataset).count() == 1
