"""The job system end to end: API launch -> real Celery worker -> progress and result on the Job row."""
import pytest

from annotation.models import Assignment, SeverityVote
from tasks.models import Job
from tests.conftest import wait_for_job
from tests.factories import ErrorTypeFactory, RepetitionFactory, UserFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_dataset_stats_runs_on_a_real_worker_and_reports_progress_and_result(celery_worker, api_client_for):
    # given: a dataset with 2 repetitions x 1 error type x 3 voters
    client, curator = api_client_for("curator")
    rep = RepetitionFactory(index=0)
    RepetitionFactory(index=1, clip=rep.clip)
    et = ErrorTypeFactory(exercise=rep.clip.exercise)
    for voter in UserFactory.create_batch(3, roles=["annotator"]):
        Assignment.objects.create(annotator=voter, clip=rep.clip, kind=Assignment.Kind.SEVERITY)
        for r in rep.clip.repetitions.all():
            SeverityVote.objects.create(repetition=r, error_type=et, annotator=voter, value=1, client_key="k")
    # when
    response = client.post("/api/jobs/launch/", {"kind": "dataset_stats", "dataset": rep.clip.dataset_id},
                           format="json")
    assert response.status_code == 201, response.content
    job = wait_for_job(response.json()["id"])
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    detail = client.get(f"/api/jobs/{job.pk}/").json()
    assert detail["progress"] == 1.0
    assert detail["result"]["votes"] == 6
    assert detail["result"]["repetitions"] == 2
    assert detail["result"]["votes_per_item"] == {"mean": 3.0, "min": 3, "max": 3}
    assert any("succeeded" in line for line in detail["log"])
    assert detail["started_at"] is not None and detail["finished_at"] is not None
