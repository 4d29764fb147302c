"""aggregate_severity through a real Celery worker on PostgreSQL: the per-error-type split, and a
worker SIGKILLed in the middle of the split leaving nothing behind until the job's retry.

The module starts one worker of its own (two pool processes, the fault-test job kinds, a fast
heartbeat and a short visibility timeout), before the session worker of ``tests/conftest.py``
exists, so that no worker without those kinds can take the paused job.
"""
import json
import os
import time

import pytest

import tests.faults.fault_jobs  # noqa: F401  (registers fault_pause here; the worker loads it by setting)
from annotation.models import AggregationPart, LabelSet, SeverityLabel
from tasks.models import Job
from tasks.services import job_launch
from tests.annotation.factories import noisy_votes, voted_dataset
from tests.conftest import start_worker, stop_worker, wait_for_job
from tests.factories import UserFactory

FAULT_WORKER_ENV = {"FORMLAB_EXTRA_JOB_MODULES": "tests.faults.fault_jobs", "FORMLAB_JOB_HEARTBEAT_S": "0.3",
                    "CELERY_VISIBILITY_TIMEOUT": "3"}


def rows_of(label_set_id):
    return list(SeverityLabel.objects.filter(label_set_id=label_set_id).order_by("error_type_id", "repetition_id")
                .values_list("repetition_id", "error_type_id", "mean", "majority", "bmm_score", "ds_class"))


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    from config.celery import app

    saved = {key: os.environ.get(key) for key in FAULT_WORKER_ENV}
    os.environ.update(FAULT_WORKER_ENV)
    try:
        with django_db_blocker.unblock():
            app.control.purge()
        proc, _ = start_worker("aggregation", concurrency=2)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    yield proc
    stop_worker(proc)


def pool_processes(proc):
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as handle:
        return [int(p) for p in handle.read().split()]


def wait_for_log(job_id, text, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in line for line in Job.objects.get(pk=job_id).log):
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never logged {text!r}: {Job.objects.get(pk=job_id).log}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_split_leaves_no_label_set_and_the_retry_completes(worker):
    # given: a split run that pauses half-way through its error types
    data = voted_dataset(noisy_votes(n_reps=40, n_error_types=4, n_annotators=5, seed=31), name="killed")
    curator = UserFactory(roles=["curator"])
    job = job_launch(kind="fault_pause", dataset=data.dataset, user=curator, params={
        "kind": "aggregate_severity", "params": json.dumps({"split": "always"}), "pause_at": 0.5, "pause_s": 60})
    wait_for_log(job.pk, "paused at")
    assert AggregationPart.objects.filter(job=job).count() == 4
    # when: the pool processes (the job's and its helper's) are SIGKILLed
    for pid in pool_processes(worker):
        os.kill(pid, 9)
    # then: no label set exists while the job waits for its retry
    assert LabelSet.objects.filter(job=job).count() == 0
    assert SeverityLabel.objects.count() == 0
    done = wait_for_job(job.pk, timeout=90)
    assert done.state == Job.State.SUCCEEDED, done.error
    assert done.attempts == 2 and any("lost its worker" in line for line in done.log)
    assert LabelSet.objects.get(job=job).item_count == 160 and done.result["split"] is True
    assert AggregationPart.objects.count() == 0  # the first attempt's parts went with its retry


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_aggregate_severity_split_over_a_real_worker_matches_a_single_process_run(worker, api_client_for):
    # given
    data = voted_dataset(noisy_votes(n_reps=60, n_error_types=5, n_annotators=6, seed=32), name="worker")
    client, _ = api_client_for("curator")
    # when: the same aggregation split into per-error-type tasks, then in one process
    launched = [client.post("/api/jobs/launch/", {"kind": "aggregate_severity", "dataset": data.dataset.pk,
                                                  "params": {"split": split}}, format="json") for split in
                ("always", "never")]
    assert all(r.status_code == 201 for r in launched), [r.content for r in launched]
    split, single = (wait_for_job(r.json()["id"]) for r in launched)
    # then
    assert split.state == single.state == Job.State.SUCCEEDED, (split.error, single.error)
    assert split.result["split"] is True and single.result["split"] is False
    assert sum(split.result["computed_by"].values()) == 5
    assert split.result["input_hash"] == single.result["input_hash"]
    assert rows_of(split.result["label_set"]) == rows_of(single.result["label_set"])
    assert any("error types done" in line or "split into 5" in line for line in split.log)
    assert AggregationPart.objects.count() == 0
    detail = client.get(f"/api/jobs/{split.pk}/").json()
    assert detail["progress"] == 1.0 and detail["result"]["items"] == 300
