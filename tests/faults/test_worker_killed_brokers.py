"""A pool process SIGKILLed mid-job, on Redis and on the embedded default (kombu's filesystem
transport, which gives the message back without a ``redelivered`` flag the task can see): the
message comes back to the same worker, the job is taken over once, and the two attempts never
overlap."""
import time

import pytest

from tasks.models import Job
from tasks.services import job_launch
from tests.conftest import wait_for_job
from tests.factories import UserFactory
from tests.faults.conftest import children, kill_pool_children, wait_paused
from tests.faults.fault_jobs import attempts_file


def _notes(job_id: int) -> list[tuple[str, int, int, float]]:
    rows = (line.split() for line in attempts_file(job_id).read_text().splitlines())
    return [(event, int(attempt), int(pid), float(at)) for event, attempt, pid, at in rows]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_killed_pool_process_job_is_taken_over_once(broker, worker_factory):
    # given: a worker on this broker, running a job whose first attempt pauses
    proc, _ = worker_factory(f"kill-{broker}")
    job = job_launch(kind="fault_record", params={"pause_s": 60}, user=UserFactory(roles=["curator"]))
    wait_paused(job.pk)
    # when: the pool process running it is SIGKILLed
    killed = kill_pool_children(proc)
    killed_at = time.time()
    # then: the message comes back to the same worker, and a second attempt takes the job over
    # (at once if the worker noticed the loss after three beats, else through its deferrals)
    done = wait_for_job(job.pk, timeout=60)
    assert done.state == Job.State.SUCCEEDED, done.error
    assert done.attempts == 2
    assert any("lost its worker" in line and "retrying as attempt 2" in line for line in done.log)
    # then: once only, and never beside the first attempt; a late copy of the message runs nothing
    time.sleep(3)
    notes = _notes(job.pk)
    assert [(event, attempt) for event, attempt, _, _ in notes] == [("start", 1), ("start", 2), ("end", 2)]
    first, second, _ = notes
    assert first[2] in killed and second[3] > killed_at
    assert second[2] in children(proc.pid)
    assert Job.objects.get(pk=job.pk).attempts == 2
