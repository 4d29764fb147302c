"""Training jobs refuse bad input with a clear error and write nothing."""
import pytest

from config.exceptions import DomainError
from tasks.models import Job, ModelRun
from tasks.services import job_execute, job_launch
from tests.factories import DatasetFactory, UserFactory

KINDS = ["train_severity", "train_exercise_classifier", "train_rep_counter", "train_flex_score"]


def _run(kind, dataset, params=None):
    job = job_launch(kind=kind, dataset=dataset, params=params or {}, user=UserFactory(roles=["admin"]))
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_training_without_a_frozen_split_fails_clearly(kind):
    # given: a dataset that was never split
    dataset = DatasetFactory()
    # when
    job = _run(kind, dataset)
    # then
    assert job.state == Job.State.FAILED
    assert job.error.startswith("no_frozen_split:")
    assert ModelRun.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_parameter_is_refused_at_launch(kind):
    # when / then
    with pytest.raises(DomainError, match="unknown_param"):
        job_launch(kind=kind, dataset=DatasetFactory(), params={"split_versoin": 1},
                   user=UserFactory(roles=["admin"]))
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_training_kinds_are_for_admins_and_run_on_the_training_queue():
    # given
    curator = UserFactory(roles=["curator"])
    # when / then
    with pytest.raises(DomainError, match="forbidden_job_kind"):
        job_launch(kind="train_severity", dataset=DatasetFactory(), params={}, user=curator)
    job = job_launch(kind="train_rep_counter", dataset=DatasetFactory(), params={}, user=UserFactory(roles=["admin"]))
    assert job.queue == "training"


@pytest.mark.django_db
def test_an_estimator_that_cannot_do_the_task_is_refused_at_launch():
    # when / then
    with pytest.raises(DomainError, match="invalid_param"):
        job_launch(kind="train_severity", dataset=DatasetFactory(), params={"estimator": "periodicity"},
                   user=UserFactory(roles=["admin"]))
