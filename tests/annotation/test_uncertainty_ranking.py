"""The uncertainty ranking is written with each label set and is what the work queue reads."""
import pytest

from annotation.models import Assignment, LabelSetRanking
from annotation.services.aggregation import SeverityParams, endpoint_aggregate, severity_aggregate
from annotation.services.queue import queue_next
from annotation.services.uncertainty import clips_by_uncertainty
from datasets.models import Clip, Dataset
from tests.annotation.factories import noisy_votes, voted_dataset
from tests.annotation.test_aggregation_endpoints import three_clips  # noqa: F401  (fixture)
from tests.annotation.test_queue import K, annotators


@pytest.mark.django_db
def test_an_end_point_label_set_is_written_with_its_ranking_least_sure_first(three_clips):  # noqa: F811
    # given: a agrees; b: one annotator missed a repetition; c: ends 30 frames apart
    dataset, clips = three_clips
    # when
    label_set, _ = endpoint_aggregate(dataset=dataset)
    # then: the stored ranking is the label set's, and the disagreeing clips come before a
    stored = LabelSetRanking.objects.get(label_set=label_set).clip_ids
    assert stored == clips_by_uncertainty(label_set)
    assert set(stored) == set(label_set.end_point_labels.values_list("clip_id", flat=True))
    assert stored.index(clips["a"].pk) > max(stored.index(clips["b"].pk), stored.index(clips["c"].pk))


@pytest.mark.django_db
def test_a_severity_label_set_is_written_with_its_ranking():
    # given
    data = voted_dataset(noisy_votes(n_reps=30, n_error_types=2, n_annotators=5, seed=11))
    # when
    label_set, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams())
    # then: one entry per clip with labels, as ranked from the label set's rows
    stored = LabelSetRanking.objects.get(label_set=label_set).clip_ids
    assert stored == clips_by_uncertainty(label_set)
    assert sorted(stored) == sorted(set(label_set.severity_labels.values_list("repetition__clip_id", flat=True)))


def ranked_queue(dataset):
    """``dataset`` ordered uncertainty first, with a current end-point label set, and every clip
    open to the queue again (pose on file, the marking assignments gone)."""
    Dataset.objects.filter(pk=dataset.pk).update(queue_order=Dataset.QueueOrder.UNCERTAINTY_FIRST)
    Clip.objects.filter(dataset=dataset).update(pose_file="pose/fake.npy")
    dataset.refresh_from_db()
    label_set, _ = endpoint_aggregate(dataset=dataset, set_current=True)
    Assignment.objects.filter(clip__dataset=dataset).delete()
    return label_set


@pytest.mark.django_db
def test_the_queue_follows_the_stored_ranking(three_clips):  # noqa: F811
    # given: a stored ranking that puts clip d first (its labels would not, nor would breadth first)
    dataset, clips = three_clips
    label_set = ranked_queue(dataset)
    ranking = LabelSetRanking.objects.get(label_set=label_set).clip_ids
    assert ranking[0] != clips["d"].pk
    LabelSetRanking.objects.filter(label_set=label_set).delete()
    LabelSetRanking.objects.create(label_set=label_set, clip_ids=[clips["d"].pk, *[
        c for c in ranking if c != clips["d"].pk]])
    user, = annotators(1)
    # when
    lease = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert lease.clip_id == clips["d"].pk


@pytest.mark.django_db
def test_a_label_set_written_without_a_ranking_is_ranked_and_stored_when_the_queue_first_needs_it(three_clips):  # noqa: F811,E501
    # given
    dataset, clips = three_clips
    label_set = ranked_queue(dataset)
    LabelSetRanking.objects.filter(label_set=label_set).delete()
    user, = annotators(1)
    # when
    lease = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    stored = LabelSetRanking.objects.get(label_set=label_set).clip_ids
    assert stored == clips_by_uncertainty(label_set)
    assert lease.clip_id == stored[0] != clips["a"].pk  # (breadth first would hand a, the lowest id)
