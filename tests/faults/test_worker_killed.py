"""A worker SIGKILLed in the middle of a job: nothing half-written is visible, the job shows why it
is being retried, and the retry gives the same result as an undisturbed run."""
import pytest

from datasets.models import SplitVersion
from tasks.models import Job
from tasks.services import job_launch
from tests.conftest import wait_for_job
from tests.datasets.factories import toy_dataset
from tests.factories import UserFactory
from tests.faults.conftest import kill_pool_children, wait_paused
from tests.faults.paused_jobs import (
    assert_export_like_reference, assert_export_not_visible, assert_taken_over, export_paused_mid_write, launch_paused,
)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_make_split_killed_after_computing_before_freezing(worker_factory):
    # given: an undisturbed run for reference, then the same split paused after its computation
    toy = toy_dataset(name="killsplit", n_participants=12)
    curator = UserFactory(roles=["curator"])
    proc, _ = worker_factory("kill-split")
    reference = wait_for_job(job_launch(kind="make_split", dataset=toy.dataset, params={"seed": 7},
                                        user=curator).pk)
    job = launch_paused("make_split", toy.dataset, {"seed": 7}, curator, pause_at=0.8)
    wait_paused(job.pk)
    # when: the pool process running it is SIGKILLed
    kill_pool_children(proc)
    # then: no split version of this job exists, and the job is re-run to the same manifest
    assert SplitVersion.objects.filter(job_id=job.pk).count() == 0
    done = wait_for_job(job.pk, timeout=90)
    assert reference.state == Job.State.SUCCEEDED
    assert_taken_over(done)
    assert done.result["manifest_hash"] == reference.result["manifest_hash"]
    assert SplitVersion.objects.filter(job_id=job.pk).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_export_killed_mid_write(worker_factory):
    # given: a frozen split, an undisturbed jsonl export, and a second one paused inside the writer
    proc, paused = export_paused_mid_write(worker_factory, "kill-export")
    # when: the pool process writing it is SIGKILLed
    kill_pool_children(proc)
    # then: no export directory and no finished export row are visible
    assert_export_not_visible(paused)
    # when: the message comes back (reject_on_worker_lost) and the job is taken over
    done = wait_for_job(paused.job.pk, timeout=90)
    # then: the retry wrote the same data files as the undisturbed export
    assert_taken_over(done)
    assert_export_like_reference(paused)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_aggregate_severity_killed_before_writing_its_label_set(worker_factory):
    # given: an undisturbed aggregation, then the same one paused after computing, before writing
    from annotation.models import LabelSet

    toy = toy_dataset(name="killagg", n_participants=6, votes_per_item=4)
    curator = UserFactory(roles=["curator"])
    params = {"method": "mean", "agreement": False}
    proc, _ = worker_factory("kill-agg")
    reference = wait_for_job(job_launch(kind="aggregate_severity", dataset=toy.dataset, params=params,
                                        user=curator).pk)
    job = launch_paused("aggregate_severity", toy.dataset, params, curator, pause_at=0.85)
    wait_paused(job.pk)
    # when
    kill_pool_children(proc)
    # then: no label set of this job, not even an empty one; the retry equals the reference
    assert LabelSet.objects.filter(job_id=job.pk).count() == 0
    done = wait_for_job(job.pk, timeout=90)
    assert reference.state == Job.State.SUCCEEDED
    assert_taken_over(done)
    first, retried = (LabelSet.objects.get(pk=j.result["label_set"]) for j in (reference, done))
    assert retried.input_hash == first.input_hash
    assert _labels_hash(retried) == _labels_hash(first)


def _labels_hash(label_set) -> str:
    import hashlib

    rows = label_set.severity_labels.order_by("error_type_id", "repetition_id").values_list(
        "repetition_id", "error_type_id", "n_votes", "mean", "majority")
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()
