"""Which message may take over a running job: the one that started it, seen again (its worker let
go of it), once the job's heartbeat has missed three beats; another copy waits for the long limit."""
from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import Job
from tasks.services import BUSY, RAN, SKIPPED, heartbeat_interval, job_execute
from tests.factories import DatasetFactory


def _running(*, message_id: str, beats_ago: float) -> Job:
    """A job whose attempt 1 was started by ``message_id`` and last beat ``beats_ago`` beats ago."""
    beat = timezone.now() - timedelta(seconds=beats_ago * heartbeat_interval())
    return Job.objects.create(kind="dataset_stats", dataset=DatasetFactory(), state=Job.State.RUNNING,
                              attempts=1, message_id=message_id, started_at=beat, heartbeat_at=beat)


@pytest.mark.django_db
def test_the_same_message_again_takes_over_once_three_beats_are_missed():
    # given
    job = _running(message_id="m-1", beats_ago=4)
    # when: the message comes back without any broker flag (kombu's filesystem transport)
    outcome = job_execute(job_id=job.pk, message_id="m-1")
    # then
    job.refresh_from_db()
    assert (outcome, job.state, job.attempts, job.message_id) == (RAN, Job.State.SUCCEEDED, 2, "m-1")
    assert any("attempt 1 lost its worker" in line for line in job.log)


@pytest.mark.django_db
def test_the_same_message_again_waits_while_the_heartbeat_is_fresh():
    # given
    job = _running(message_id="m-1", beats_ago=1)
    # when
    outcome = job_execute(job_id=job.pk, message_id="m-1")
    # then
    job.refresh_from_db()
    assert (outcome, job.state, job.attempts) == (BUSY, Job.State.RUNNING, 1)


@pytest.mark.django_db
def test_another_message_leaves_a_running_job_alone_until_the_stale_limit():
    # given: a second copy of the job's message (a re-send), not the one running it
    job = _running(message_id="m-1", beats_ago=4)
    # when
    outcome = job_execute(job_id=job.pk, message_id="m-2")
    # then
    job.refresh_from_db()
    assert (outcome, job.state, job.attempts, job.message_id) == (SKIPPED, Job.State.RUNNING, 1, "m-1")


@pytest.mark.django_db
def test_the_claim_records_the_message_that_runs_the_job():
    # given
    job = Job.objects.create(kind="dataset_stats", dataset=DatasetFactory())
    # when
    job_execute(job_id=job.pk, message_id="m-7")
    # then
    job.refresh_from_db()
    assert (job.state, job.attempts, job.message_id) == (Job.State.SUCCEEDED, 1, "m-7")
