"""Error segments and feedback notes: under an open lease, idempotent, own rows only, plain text."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment, ErrorSegment, FeedbackNote, IdempotencyRecord
from tests.conftest import new_key
from tests.factories import ClipFactory, ErrorTypeFactory

K = Assignment.Kind


@pytest.fixture
def leased(api_client_for):
    """An annotator holding open segments and feedback leases on a 100-frame clip."""

    def make(kind):
        client, user = api_client_for("annotator")
        clip = ClipFactory(frame_count=100)
        error_type = ErrorTypeFactory(exercise=clip.exercise)
        Assignment.objects.create(annotator=user, clip=clip, kind=kind,
                                  lease_expires_at=timezone.now() + timedelta(minutes=30))
        return client, user, clip, error_type

    return make


def seg_url(clip, suffix=""):
    return f"/api/clips/{clip.pk}/segments/{suffix}"


def fb_url(clip, suffix=""):
    return f"/api/clips/{clip.pk}/feedback/{suffix}"


@pytest.mark.django_db
def test_a_segment_is_created_once_per_client_key(leased):
    # given
    client, user, clip, et = leased(K.SEGMENTS)
    body = {"client_key": new_key(), "error_type": et.pk, "start_frame": 10, "end_frame": 30}
    # when
    first = client.post(seg_url(clip), body, format="json")
    retry = client.post(seg_url(clip), body, format="json")
    # then
    assert first.status_code == 201 and retry.status_code == 200 and retry.json()["replayed"] is True
    assert list(ErrorSegment.objects.values_list("start_frame", "end_frame")) == [(10, 30)]


@pytest.mark.django_db
def test_a_segment_can_be_edited_and_deleted_while_the_lease_is_open(leased):
    # given
    client, user, clip, et = leased(K.SEGMENTS)
    created = client.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk,
                                          "start_frame": 10, "end_frame": 30}, format="json").json()
    seg_id = created["segment"]["id"]
    # when
    edited = client.patch(seg_url(clip, f"{seg_id}/"), {"end_frame": 40}, format="json")
    deleted = client.delete(seg_url(clip, f"{seg_id}/"))
    # then
    assert edited.status_code == 200 and edited.json()["end_frame"] == 40
    assert deleted.status_code == 204
    assert ErrorSegment.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("start,end,code", [(30, 10, "segment_reversed"), (10, 100, "frame_out_of_range")])
def test_bad_segment_bounds_are_refused(leased, start, end, code):
    # given
    client, user, clip, et = leased(K.SEGMENTS)
    # when
    response = client.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk,
                                           "start_frame": start, "end_frame": end}, format="json")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_an_error_type_of_another_exercise_is_refused(leased):
    # given
    client, user, clip, _ = leased(K.SEGMENTS)
    foreign = ErrorTypeFactory()
    # when
    response = client.post(seg_url(clip), {"client_key": new_key(), "error_type": foreign.pk,
                                           "start_frame": 1, "end_frame": 2}, format="json")
    # then
    assert response.json()["error"]["code"] == "error_type_mismatch"


@pytest.mark.django_db
def test_submit_replaces_the_list_closes_the_item_and_replays_on_retry(leased):
    # given
    client, user, clip, et = leased(K.SEGMENTS)
    client.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk, "start_frame": 1,
                                "end_frame": 2}, format="json")
    body = {"client_key": new_key(), "segments": [
        {"error_type": et.pk, "start_frame": 50, "end_frame": 60},
        {"error_type": et.pk, "start_frame": 5, "end_frame": 9},
    ]}
    # when
    first = client.post(seg_url(clip, "submit/"), body, format="json")
    retry = client.post(seg_url(clip, "submit/"), body, format="json")
    late_edit = client.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk,
                                            "start_frame": 1, "end_frame": 2}, format="json")
    # then
    assert first.status_code == 201 and first.json()["stored"] == 2
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert late_edit.status_code == 409 and late_edit.json()["error"]["code"] == "already_submitted"
    assert sorted(ErrorSegment.objects.values_list("start_frame", "end_frame")) == [(5, 9), (50, 60)]
    assert Assignment.objects.get(annotator=user, clip=clip).state == Assignment.State.SUBMITTED


@pytest.mark.django_db
def test_a_submission_on_an_expired_lease_is_refused(leased):
    # given
    client, user, clip, et = leased(K.SEGMENTS)
    Assignment.objects.filter(annotator=user).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    # when
    response = client.post(seg_url(clip, "submit/"), {"client_key": new_key(), "segments": []}, format="json")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lease_expired"
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_segments_need_a_segments_assignment(leased):
    # given: the user holds only a feedback lease on the clip
    client, user, clip, et = leased(K.FEEDBACK)
    # when
    response = client.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk,
                                           "start_frame": 1, "end_frame": 2}, format="json")
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_assigned"


@pytest.mark.django_db
def test_annotators_see_only_their_own_segments_and_curators_see_all(leased, api_client_for):
    # given: two annotators on the same clip
    client_a, user_a, clip, et = leased(K.SEGMENTS)
    client_b, user_b = api_client_for("annotator")
    Assignment.objects.create(annotator=user_b, clip=clip, kind=K.SEGMENTS,
                              lease_expires_at=timezone.now() + timedelta(minutes=30))
    client_a.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk, "start_frame": 1,
                                  "end_frame": 2}, format="json")
    other = client_b.post(seg_url(clip), {"client_key": new_key(), "error_type": et.pk, "start_frame": 3,
                                          "end_frame": 4}, format="json").json()["segment"]["id"]
    curator, _ = api_client_for("curator")
    # when
    seen_by_a = client_a.get(seg_url(clip)).json()
    edit_other = client_a.patch(seg_url(clip, f"{other}/"), {"end_frame": 9}, format="json")
    seen_by_curator = curator.get(seg_url(clip)).json()
    # then
    assert [s["start_frame"] for s in seen_by_a] == [1]
    assert edit_other.status_code == 404
    assert sorted(s["start_frame"] for s in seen_by_curator) == [1, 3]


@pytest.mark.django_db
def test_a_clip_without_any_assignment_is_not_found(api_client_for):
    # given
    client, _ = api_client_for("annotator")
    clip = ClipFactory()
    # when
    response = client.get(seg_url(clip))
    # then
    assert response.status_code == 404


# ---------------------------------------------------------------- feedback

@pytest.mark.django_db
def test_feedback_text_is_stored_as_plain_text_once_per_key(leased):
    # given
    client, user, clip, _ = leased(K.FEEDBACK)
    body = {"client_key": new_key(), "frame": 42, "text": "  <b>Knees</b> out & chest up\x07  "}
    # when
    first = client.post(fb_url(clip), body, format="json")
    retry = client.post(fb_url(clip), body, format="json")
    # then
    assert first.status_code == 201 and retry.json()["replayed"] is True
    assert list(FeedbackNote.objects.values_list("frame", "text")) == [(42, "<b>Knees</b> out & chest up")]


@pytest.mark.django_db
def test_feedback_can_be_edited_and_deleted(leased):
    # given
    client, user, clip, _ = leased(K.FEEDBACK)
    note = client.post(fb_url(clip), {"client_key": new_key(), "frame": 1, "text": "a"},
                       format="json").json()["note"]["id"]
    # when
    edited = client.patch(fb_url(clip, f"{note}/"), {"text": "Slow down the descent", "frame": 5}, format="json")
    deleted = client.delete(fb_url(clip, f"{note}/"))
    # then
    assert edited.json()["text"] == "Slow down the descent" and edited.json()["frame"] == 5
    assert deleted.status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("frame,text,code", [(100, "ok", "frame_out_of_range"), (1, "   ", "invalid_input"),
                                             (1, "\x01\x02", "empty_text")])
def test_bad_feedback_is_refused(leased, frame, text, code):
    # given
    client, user, clip, _ = leased(K.FEEDBACK)
    # when
    response = client.post(fb_url(clip), {"client_key": new_key(), "frame": frame, "text": text}, format="json")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_feedback_submit_replaces_the_list_and_closes_the_item(leased):
    # given
    client, user, clip, _ = leased(K.FEEDBACK)
    body = {"client_key": new_key(), "notes": [{"frame": 90, "text": "Lock out"}, {"frame": 3, "text": "Brace"}]}
    # when
    first = client.post(fb_url(clip, "submit/"), body, format="json")
    retry = client.post(fb_url(clip, "submit/"), body, format="json")
    # then
    assert first.status_code == 201 and retry.status_code == 200
    assert list(FeedbackNote.objects.order_by("frame").values_list("frame", "text")) == [(3, "Brace"), (90, "Lock out")]
    assert Assignment.objects.get(annotator=user, clip=clip).state == Assignment.State.SUBMITTED
