"""Item 2: curators acting at once. Two aggregations of the same dataset started together give
two complete label sets (never a mix); moving "current" from many threads leaves exactly one."""
import threading

import pytest
from django.db import connection

from annotation.models import LabelSet
from annotation.services.aggregation import label_set_set_current
from tasks.models import Job
from tasks.services import job_launch
from tests.conftest import wait_for_job
from tests.datasets.factories import toy_dataset
from tests.factories import UserFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_aggregations_at_once_give_two_complete_label_sets(celery_worker):
    # given
    toy = toy_dataset(name="curators", n_participants=12, votes_per_item=5)
    curators = UserFactory.create_batch(2, roles=["curator"])
    # when: both launched in the same instant
    jobs = [job_launch(kind="aggregate_severity", dataset=toy.dataset, user=u, params={"set_current": True})
            for u in curators]
    done = [wait_for_job(j.pk, timeout=300) for j in jobs]
    # then
    assert [j.state for j in done] == [Job.State.SUCCEEDED] * 2, [j.error for j in done]
    sets = list(LabelSet.objects.filter(dataset=toy.dataset, kind=LabelSet.Kind.SEVERITY).order_by("number"))
    assert [s.number for s in sets] == [1, 2]
    assert len({s.input_hash for s in sets}) == 1
    assert [s.severity_labels.count() for s in sets] == [s.item_count for s in sets] == [sets[0].item_count] * 2
    assert sum(s.is_current for s in sets) == 1


@pytest.mark.django_db(transaction=True)
def test_setting_current_from_many_threads_leaves_exactly_one():
    # given: three label sets
    toy = toy_dataset(name="current", n_participants=6)
    from annotation.services.aggregation import severity_aggregate
    from annotation.services.aggregation.compute import SeverityParams

    sets = [severity_aggregate(dataset=toy.dataset, params=SeverityParams(method="mean", with_agreement=False),
                               job=None, user=None)[0] for _ in range(3)]
    errors = []

    def flip(label_set, rounds=15):
        try:
            for _ in range(rounds):
                label_set_set_current(label_set=LabelSet.objects.get(pk=label_set.pk))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=flip, args=(s,)) for s in sets for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert errors == []
    assert LabelSet.objects.filter(dataset=toy.dataset, kind=LabelSet.Kind.SEVERITY, is_current=True).count() == 1
