"""The page-specific JSON behind the labelling pages, and the video range view (no browser)."""
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from annotation.models import Assignment, EndPointLabel, EndPointMark, LabelSet
from datasets.models import ClipTruth
from labelling_ui.selectors import even_repetition_bounds
from tests.factories import ClipFactory, ErrorTypeFactory, RepetitionFactory, UserFactory


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def severity_item(db):
    """An annotator's severity lease on a 300-frame clip with three repetitions."""
    user = UserFactory(roles=["annotator"])
    clip = ClipFactory(frame_count=300, pose_file="pose/x.npy")
    ErrorTypeFactory(exercise=clip.exercise, code="knees_in", description="Knees cave in")
    reps = [RepetitionFactory(clip=clip, index=i) for i in range(3)]
    ClipTruth.objects.create(clip=clip, true_starts=[5, 100, 200], true_ends=[90, 190, 290])
    assignment = Assignment.objects.create(annotator=user, clip=clip, kind="severity",
                                           lease_expires_at=timezone.now() + timezone.timedelta(minutes=5))
    return user, clip, reps, assignment


def test_even_bounds_cover_the_clip_without_gaps():
    # when
    bounds = even_repetition_bounds(frame_count=10, n_reps=3)
    # then
    assert bounds == [(0, 2), (3, 6), (7, 9)]


def test_severity_repetitions_are_evenly_spaced_without_a_label_set_never_the_hidden_truth(severity_item):
    # given
    user, clip, reps, assignment = severity_item
    # when
    context = client_for(user).get(f"/ui/items/{assignment.pk}/").json()
    # then
    assert context["repetition_source"] == "even"
    assert [(r["start"], r["end"]) for r in context["repetitions"]] == [(0, 99), (100, 199), (200, 299)]
    assert context["error_types"][0]["description"] == "Knees cave in"
    assert context["clip"]["fps"] == 30.0 and context["clip"]["bones"]


def test_severity_repetitions_follow_the_current_end_point_label_set(severity_item):
    # given
    user, clip, reps, assignment = severity_item
    now = timezone.now()
    label_set = LabelSet.objects.create(dataset=clip.dataset, kind="endpoints", number=4, method="consensus",
                                        input_count=9, input_hash="h", item_count=1, is_current=True,
                                        started_at=now, finished_at=now)
    EndPointLabel.objects.create(label_set=label_set, clip=clip, n_annotators=3, count=3, ends=[80.4, 170.0, 260.6],
                                 spread=[1, 1, 1], disagree=False)
    # when
    context = client_for(user).get(f"/ui/items/{assignment.pk}/").json()
    # then
    assert context["repetition_source"] == "label_set:4"
    assert [(r["start"], r["end"]) for r in context["repetitions"]] == [(0, 80), (81, 170), (171, 261)]


def test_the_end_point_context_holds_no_marks_of_other_annotators(db):
    # given
    clip = ClipFactory(frame_count=100, pose_file="pose/x.npy")
    other = UserFactory(roles=["annotator"])
    EndPointMark.objects.create(clip=clip, annotator=other, frame=42, client_key="k" * 8)
    user = UserFactory(roles=["annotator"])
    assignment = Assignment.objects.create(annotator=user, clip=clip, kind="endpoints")
    # when
    context = client_for(user).get(f"/ui/items/{assignment.pk}/").json()
    # then: the clip's description and nothing else; the other annotator's mark is nowhere
    assert set(context) == {"assignment", "dataset", "clip"}
    assert set(context["clip"]) == {"id", "external_id", "fps", "frame_count", "exercise", "dims", "joint_count",
                                    "skeleton_layout", "bones", "y_down", "pose_url", "video_url"}


def test_the_video_is_served_in_byte_ranges_to_assigned_annotators_only(db, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    clip = ClipFactory(frame_count=100, content_hash="abc")
    clip.video_file.save("clip.mp4", ContentFile(bytes(range(256)) * 4), save=True)
    user = UserFactory(roles=["annotator"])
    Assignment.objects.create(annotator=user, clip=clip, kind="endpoints")
    stranger = UserFactory(roles=["annotator"])
    # when
    part = client_for(user).get(f"/ui/clips/{clip.pk}/video/", HTTP_RANGE="bytes=10-19")
    tail = client_for(user).get(f"/ui/clips/{clip.pk}/video/", HTTP_RANGE="bytes=-4")
    beyond = client_for(user).get(f"/ui/clips/{clip.pk}/video/", HTTP_RANGE="bytes=5000-")
    refused = client_for(stranger).get(f"/ui/clips/{clip.pk}/video/")
    # then
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    assert part["Content-Range"] == "bytes 10-19/1024"
    assert tail.content == bytes(range(252, 256))
    assert beyond.status_code == 416
    assert refused.status_code == 404
