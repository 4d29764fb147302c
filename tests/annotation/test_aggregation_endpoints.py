"""End-point aggregation: consensus of hand-made marks, disagreement flags, the job."""
import pytest

from annotation.models import Assignment, EndPointLabel, LabelSet
from annotation.services.aggregation import endpoint_aggregate
from tasks.models import Job
from tasks.services import job_execute
from tests.annotation.factories import AssignmentFactory, EndPointMarkFactory
from tests.factories import ClipFactory, DatasetFactory, ExerciseFactory, UserFactory


def mark(clip, annotator, frames):
    AssignmentFactory(annotator=annotator, clip=clip, kind=Assignment.Kind.ENDPOINTS)
    for frame in frames:
        EndPointMarkFactory(clip=clip, annotator=annotator, frame=frame)


@pytest.fixture
def three_clips():
    """Clip a: three annotators agree; b: one missed a repetition; c: ends 30 frames apart at 30 fps."""
    dataset = DatasetFactory()
    exercise = ExerciseFactory(dataset=dataset)
    clips = {name: ClipFactory(dataset=dataset, exercise=exercise, external_id=name, fps=30.0) for name in "abcd"}
    annotators = UserFactory.create_batch(3, roles=["annotator"])
    for annotator, frames in zip(annotators, ([30, 60, 90], [31, 61, 91], [32, 62, 89])):
        mark(clips["a"], annotator, frames)
    for annotator, frames in zip(annotators, ([30, 60, 90], [30, 60, 90], [30, 90])):
        mark(clips["b"], annotator, frames)
    for annotator, frames in zip(annotators, ([30, 60], [30, 60], [30, 90])):
        mark(clips["c"], annotator, frames)
    return dataset, clips


@pytest.mark.django_db
def test_consensus_ends_are_the_mean_of_the_marks_and_disagreements_are_flagged(three_clips):
    # given
    dataset, clips = three_clips
    # when
    label_set, facts = endpoint_aggregate(dataset=dataset)
    # then
    rows = {r.clip_id: r for r in EndPointLabel.objects.filter(label_set=label_set)}
    a, b, c, d = (rows[clips[name].pk] for name in "abcd")
    assert (a.count, a.disagree, a.reason, a.n_annotators) == (3, False, "", 3)
    assert a.ends == pytest.approx([31.0, 61.0, 90.0])
    assert a.spread == pytest.approx([1.0, 1.0, 1.0])
    assert (b.count, b.disagree, b.reason) == (3, True, "count_mismatch")
    assert (c.count, c.disagree, c.reason) == (2, True, "end_spread")
    assert c.ends == pytest.approx([30.0, 70.0])
    assert (d.count, d.disagree, d.reason, d.n_annotators) == (0, True, "no_marks", 0)
    assert label_set.item_count == 4 and label_set.input_count == 23
    assert facts["reasons"] == {"agree": 1, "count_mismatch": 1, "end_spread": 1, "no_marks": 1}


@pytest.mark.django_db
def test_a_wider_tolerance_lets_the_spread_clip_agree(three_clips):
    # given
    dataset, clips = three_clips
    # when
    label_set, _ = endpoint_aggregate(dataset=dataset, tolerance_s=1.0)
    # then
    c = EndPointLabel.objects.get(label_set=label_set, clip=clips["c"])
    assert (c.disagree, c.reason) == (False, "")
    assert label_set.params == {"tolerance_s": 1.0}


@pytest.mark.django_db
def test_an_annotator_who_submitted_no_marks_still_counts(three_clips):
    # given: a fourth annotator submitted clip a with no repetition at all
    dataset, clips = three_clips
    AssignmentFactory(annotator=UserFactory(roles=["annotator"]), clip=clips["a"], kind=Assignment.Kind.ENDPOINTS)
    # when
    label_set, _ = endpoint_aggregate(dataset=dataset)
    # then
    a = EndPointLabel.objects.get(label_set=label_set, clip=clips["a"])
    assert (a.n_annotators, a.reason) == (4, "count_mismatch")


@pytest.mark.django_db
def test_aggregate_endpoints_job_writes_a_current_set_then_a_second_version(three_clips, make_user):
    # given
    dataset, _ = three_clips
    curator = make_user("curator")
    jobs = [Job.objects.create(kind="aggregate_endpoints", dataset=dataset, launched_by=curator, params={})
            for _ in range(2)]
    # when
    for job in jobs:
        job_execute(job_id=job.pk)
    # then
    first, second = (LabelSet.objects.get(job=job) for job in jobs)
    assert [Job.objects.get(pk=j.pk).state for j in jobs] == [Job.State.SUCCEEDED] * 2
    assert (first.number, second.number) == (1, 2)
    assert first.input_hash == second.input_hash
    assert (first.is_current, second.is_current) == (True, False)  # only the first set becomes current by itself
    assert Job.objects.get(pk=jobs[1].pk).result["n_disagree"] == 3
