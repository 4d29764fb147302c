"""Severity aggregation: hand-computed toy votes, determinism, methods, one transaction, split runs."""
from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from django.utils import timezone

from annotation.models import (
    AgreementReport, AggregationPart, AnnotatorAgreement, ErrorTypeAgreement, LabelSet, SeverityLabel, SeverityVote,
)
from annotation.services.aggregation import SeverityParams, severity_aggregate
from annotation.services.aggregation import parts as chord
from config.exceptions import DomainError
from tasks.models import Job
from tasks.services import job_execute
from tests.annotation.factories import noisy_votes, voted_dataset
from tests.factories import DatasetFactory

ROW_FIELDS = ("repetition_id", "error_type_id", "n_votes", "mean", "majority", "bmm_score", "ds_class",
              "ds_confidence")


def rows_of(label_set):
    return list(SeverityLabel.objects.filter(label_set=label_set).order_by("error_type_id", "repetition_id")
                .values_list(*ROW_FIELDS))


@pytest.mark.django_db
def test_toy_votes_give_hand_computed_mean_and_majority():
    # given: rep 0 gets 0, 1, 1; rep 1 gets 3, 3, 0; rep 2 gets 1, 2 (a tie: lower class wins)
    votes = np.array([[[0, 1, 1]], [[3, 3, 0]], [[1, 2, -1]]])
    data = voted_dataset(votes)
    # when
    label_set, _, facts = severity_aggregate(dataset=data.dataset, params=SeverityParams(method="mean"))
    # then
    rows = SeverityLabel.objects.filter(label_set=label_set).order_by("repetition__index")
    assert [(r.n_votes, r.majority) for r in rows] == [(3, 1), (3, 3), (2, 1)]
    assert [r.mean for r in rows] == pytest.approx([2 / 3, 2.0, 1.5])
    assert facts["input_count"] == 8
    assert label_set.item_count == 3
    assert label_set.kind == LabelSet.Kind.SEVERITY and label_set.number == 1


@pytest.mark.django_db
def test_same_votes_give_the_same_hash_and_identical_results():
    # given
    data = voted_dataset(noisy_votes(n_reps=60, n_error_types=2, n_annotators=6, seed=3))
    # when
    first, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams())
    second, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams())
    # then
    assert first.pk != second.pk and (first.number, second.number) == (1, 2)
    assert first.input_hash == second.input_hash and len(first.input_hash) == 64
    assert rows_of(first) == rows_of(second)
    assert first.summary["error_types"] == second.summary["error_types"]


@pytest.mark.django_db
def test_another_vote_changes_the_hash():
    # given
    data = voted_dataset(noisy_votes(n_reps=10, n_error_types=1, n_annotators=3, seed=1))
    first, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(method="mean"))
    SeverityVote.objects.filter(pk=SeverityVote.objects.order_by("id").first().pk).delete()
    # when
    second, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(method="mean"))
    # then
    assert second.input_hash != first.input_hash
    assert second.input_count == first.input_count - 1


@pytest.mark.django_db
def test_method_mean_without_agreement_leaves_bmm_and_dawid_skene_empty():
    # given
    data = voted_dataset(noisy_votes(n_reps=30, n_error_types=1, seed=2))
    # when
    label_set, report, _ = severity_aggregate(dataset=data.dataset,
                                              params=SeverityParams(method="mean", with_agreement=False))
    # then
    assert report is None
    values = SeverityLabel.objects.filter(label_set=label_set).values_list("bmm_score", "ds_class", "ds_confidence")
    assert set(values) == {(None, None, None)}
    assert label_set.params["method"] == "mean"


@pytest.mark.django_db
def test_method_all_fills_every_column_and_scores_lie_in_range():
    # given
    data = voted_dataset(noisy_votes(n_reps=80, n_error_types=2, n_annotators=5, seed=4))
    # when
    label_set, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(method="all"))
    # then
    rows = np.array(rows_of(label_set), dtype=float)
    assert not np.isnan(rows).any()
    assert rows[:, 5].min() >= 0.0 and rows[:, 5].max() <= 1.0  # bmm_score
    assert set(rows[:, 6]) <= {0, 1, 2, 3}  # ds_class
    assert rows[:, 7].min() > 0.25 and rows[:, 7].max() <= 1.0 + 1e-9  # the top posterior of 4 classes
    fits = label_set.summary["error_types"]
    assert len(fits) == 2 and all("bmm" in f and "dawid_skene" in f for f in fits.values())


@pytest.mark.django_db
def test_agreement_report_has_error_types_with_the_halo_target_and_annotators_with_a_confusion():
    # given: annotator 0 always votes one class too high on non-3 items
    votes = noisy_votes(n_reps=80, n_error_types=2, n_annotators=5, seed=5)
    votes[:, :, 0] = np.minimum(votes[:, :, 1] + 1, 3)
    data = voted_dataset(votes)
    # when
    label_set, report, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams())
    # then
    assert report.label_set_id == label_set.pk and report.input_hash == label_set.input_hash
    per_error_type = ErrorTypeAgreement.objects.filter(report=report)
    assert per_error_type.count() == 2
    for row in per_error_type:
        assert row.n_items == 80 and row.n_votes == 400 and row.n_annotators == 5
        assert row.target_kappa1 == pytest.approx(0.85 * row.kappa1)
        assert -1 <= row.kappa0 <= 1 and -1 <= row.alpha <= 1
    annotators = {a.annotator_id: a for a in AnnotatorAgreement.objects.filter(report=report)}
    biased, others = annotators[data.annotators[0].pk], [annotators[u.pk] for u in data.annotators[1:]]
    assert np.array(biased.confusion).shape == (4, 4)
    assert np.array(biased.confusion).sum() == pytest.approx(160)
    assert biased.ds_accuracy < min(a.ds_accuracy for a in others)
    assert biased.kappa0 < min(a.kappa0 for a in others)


@pytest.mark.django_db
def test_a_failure_while_writing_leaves_no_label_set_and_no_rows():
    # given
    data = voted_dataset(noisy_votes(n_reps=20, n_error_types=1, seed=6))
    boom = RuntimeError("worker killed mid-write")
    # when: the COPY of the per-item rows dies after the label set row was inserted
    with mock.patch("annotation.services.aggregation.label_sets.bulk_insert", side_effect=boom):
        with pytest.raises(RuntimeError, match="mid-write"):
            severity_aggregate(dataset=data.dataset, params=SeverityParams())
    # then
    assert LabelSet.objects.count() == 0
    assert SeverityLabel.objects.count() == 0
    assert AgreementReport.objects.count() == 0
    # and: the run can simply be repeated
    label_set, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams())
    assert label_set.number == 1 and SeverityLabel.objects.filter(label_set=label_set).count() == 20


@pytest.mark.django_db
def test_dataset_without_votes_is_refused():
    with pytest.raises(DomainError, match="no severity votes") as error:
        severity_aggregate(dataset=DatasetFactory(), params=SeverityParams())
    assert error.value.code == "no_votes"


@pytest.mark.django_db
def test_job_run_twice_keeps_the_one_label_set_its_first_attempt_wrote(make_user):
    # given
    data = voted_dataset(noisy_votes(n_reps=20, n_error_types=2, seed=7))
    job = Job.objects.create(kind="aggregate_severity", dataset=data.dataset, launched_by=make_user("curator"),
                             params={"method": "all"})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    # when: a re-delivered attempt runs the same job again
    label_set, report, facts = severity_aggregate(dataset=data.dataset, params=SeverityParams(), job=job)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    assert facts == {"reused": True}
    assert label_set.pk == job.result["label_set"] and report.pk == job.result["agreement_report"]
    assert LabelSet.objects.count() == 1
    assert label_set.is_current  # the first set of a kind becomes current
    assert label_set.created_by_id == job.launched_by_id and label_set.job_id == job.pk


@pytest.mark.django_db
def test_split_run_gives_the_same_rows_as_a_run_in_one_process():
    # given
    data = voted_dataset(noisy_votes(n_reps=50, n_error_types=3, n_annotators=4, seed=8))
    job = Job.objects.create(kind="aggregate_severity", dataset=data.dataset, attempts=1, state=Job.State.RUNNING)
    here, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(), split="never")
    # when: split into parts (no worker here: the job's own process computes every part)
    with mock.patch("annotation.tasks.aggregate_severity_part.apply_async") as send:
        split, _, facts = severity_aggregate(dataset=data.dataset, params=SeverityParams(), split="always", job=job)
    # then
    assert send.call_count == 3
    assert facts["split"] is True and sum(facts["computed_by"].values()) == 3
    assert split.input_hash == here.input_hash
    assert rows_of(split) == rows_of(here)
    assert AggregationPart.objects.count() == 0  # staging cleaned up


@pytest.mark.django_db
def test_a_part_whose_worker_died_is_computed_again(monkeypatch):
    # given: one part claimed by a worker that died long ago
    data = voted_dataset(noisy_votes(n_reps=20, n_error_types=2, seed=9))
    job = Job.objects.create(kind="aggregate_severity", dataset=data.dataset, attempts=1, state=Job.State.RUNNING)
    monkeypatch.setattr(chord, "PART_MIN_STALE_S", 0.0)
    real_stage = chord.parts_stage

    def stage_then_lose_one(**kwargs):
        count = real_stage(**kwargs)
        lost = AggregationPart.objects.filter(job=job).order_by("id").first()
        AggregationPart.objects.filter(pk=lost.pk).update(state=AggregationPart.State.RUNNING,
                                                          claimed_by="dead-host:1:x",
                                                          claimed_at=timezone.now() - timedelta(hours=1))
        return count

    monkeypatch.setattr(chord, "parts_stage", stage_then_lose_one)
    # when
    with mock.patch("annotation.tasks.aggregate_severity_part.apply_async"):
        label_set, _, facts = severity_aggregate(dataset=data.dataset, params=SeverityParams(), split="always", job=job)
    # then
    assert label_set.item_count == 40
    assert "dead-host:1" not in facts["computed_by"]


@pytest.mark.django_db
def test_compute_agreement_job_writes_a_report_and_no_labels(make_user):
    # given
    data = voted_dataset(noisy_votes(n_reps=30, n_error_types=2, seed=10))
    job = Job.objects.create(kind="compute_agreement", dataset=data.dataset, launched_by=make_user("curator"))
    # when
    job_execute(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    report = AgreementReport.objects.get(pk=job.result["agreement_report"])
    assert report.label_set is None and report.job_id == job.pk
    assert LabelSet.objects.count() == 0 and SeverityLabel.objects.count() == 0
    assert ErrorTypeAgreement.objects.filter(report=report).count() == 2
    assert job.result["summary"]["kappa1"] == pytest.approx(report.summary["kappa1"])
