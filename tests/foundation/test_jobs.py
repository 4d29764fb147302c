"""Job launch validation, the run_job command's errors, cancel, and failure capture."""
import pytest
from django.core.management import CommandError, call_command

from tasks.models import Job
from tasks.services import job_execute
from tests.factories import DatasetFactory


@pytest.mark.django_db
def test_unknown_job_kind_via_api_is_a_400(api_client_for):
    client, _ = api_client_for("curator")
    response = client.post("/api/jobs/launch/", {"kind": "make_coffee"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_job_kind"
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_unknown_param_is_refused(api_client_for):
    client, _ = api_client_for("curator")
    dataset = DatasetFactory()
    response = client.post("/api/jobs/launch/", {"kind": "dataset_stats", "dataset": dataset.pk,
                                                 "params": {"colour": "red"}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_param"
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("argv,code", [
    (["run_job", "dataset_stats", "--dataset", "nope"], "dataset_not_found"),
    (["run_job", "no_such_kind", "--dataset", "x"], "unknown_job_kind"),
    (["run_job", "dataset_stats", "--dataset", "DS", "--param", "novalue"], "malformed_param"),
    (["run_job", "dataset_stats", "--dataset", "DS", "--param", "=3"], "malformed_param"),
    (["run_job", "dataset_stats", "--dataset", "DS", "--param", "a=1"], "unknown_param"),
])
def test_run_job_command_errors_exit_non_zero_and_write_nothing(argv, code):
    DatasetFactory(name="ds")
    argv = [a.replace("DS", "ds") for a in argv]
    with pytest.raises(CommandError, match=code):
        call_command(*argv)
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_failed_job_keeps_reason_and_traceback():
    # given: a job whose dataset vanished before it ran
    job = Job.objects.create(kind="dataset_stats", dataset=None)
    # when
    job_execute(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "Traceback" in job.error_traceback
    assert job.error


@pytest.mark.django_db
def test_running_a_job_twice_only_runs_it_once():
    job = Job.objects.create(kind="dataset_stats", dataset=DatasetFactory())
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    first_finished = job.finished_at
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.attempts == 1
    assert job.finished_at == first_finished


@pytest.mark.django_db
def test_cancel_a_queued_job(api_client_for):
    client, user = api_client_for("curator")
    job = Job.objects.create(kind="dataset_stats", dataset=DatasetFactory(), launched_by=user)
    response = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    again = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"


@pytest.mark.django_db
def test_makemigrations_is_clean():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
