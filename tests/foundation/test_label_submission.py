"""Submitting votes and end points: idempotent by key, scoped to assignments, bad input refused."""
import pytest

from annotation.models import Assignment, EndPointMark, IdempotencyRecord, SeverityVote
from tests.conftest import new_key
from tests.factories import ErrorTypeFactory, RepetitionFactory


@pytest.fixture
def voting(api_client_for):
    """An annotator assigned a clip for severity voting, with one repetition and one error type."""
    client, user = api_client_for("annotator")
    rep = RepetitionFactory(index=0)
    error_type = ErrorTypeFactory(exercise=rep.clip.exercise)
    Assignment.objects.create(annotator=user, clip=rep.clip, kind=Assignment.Kind.SEVERITY)
    return client, user, rep, error_type


def post_votes(client, key, votes):
    return client.post("/api/votes/submit/", {"client_key": key, "votes": votes}, format="json")


@pytest.mark.django_db
def test_vote_is_stored_once_and_a_retry_with_the_same_key_replays(voting):
    # given
    client, user, rep, et = voting
    key = new_key()
    body = [{"repetition": rep.pk, "error_type": et.pk, "value": 2}]
    # when
    first = post_votes(client, key, body)
    retry = post_votes(client, key, body)
    # then
    assert first.status_code == 201 and first.json()["replayed"] is False
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert list(SeverityVote.objects.values_list("value", flat=True)) == [2]


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_a_conflict(voting):
    client, user, rep, et = voting
    key = new_key()
    post_votes(client, key, [{"repetition": rep.pk, "error_type": et.pk, "value": 2}])
    response = post_votes(client, key, [{"repetition": rep.pk, "error_type": et.pk, "value": 3}])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(SeverityVote.objects.values_list("value", flat=True)) == [2]


@pytest.mark.django_db
def test_duplicate_vote_with_a_new_key_is_refused(voting):
    client, user, rep, et = voting
    post_votes(client, new_key(), [{"repetition": rep.pk, "error_type": et.pk, "value": 1}])
    response = post_votes(client, new_key(), [{"repetition": rep.pk, "error_type": et.pk, "value": 1}])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "vote_exists"
    assert SeverityVote.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", [4, -1, "x", 2.5, None])
def test_out_of_range_or_malformed_vote_values_are_refused(voting, value):
    client, user, rep, et = voting
    response = post_votes(client, new_key(), [{"repetition": rep.pk, "error_type": et.pk, "value": value}])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert SeverityVote.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_vote_for_a_repetition_not_assigned_is_refused(voting):
    client, user, rep, et = voting
    other = RepetitionFactory(index=0)
    other_et = ErrorTypeFactory(exercise=other.clip.exercise)
    response = post_votes(client, new_key(), [{"repetition": rep.pk, "error_type": et.pk, "value": 1},
                                              {"repetition": other.pk, "error_type": other_et.pk, "value": 1}])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_assigned"
    assert SeverityVote.objects.count() == 0


@pytest.mark.django_db
def test_error_type_of_another_exercise_is_refused(voting):
    client, user, rep, et = voting
    foreign = ErrorTypeFactory()
    response = post_votes(client, new_key(), [{"repetition": rep.pk, "error_type": foreign.pk, "value": 1}])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "error_type_mismatch"


@pytest.mark.django_db
def test_malformed_json_is_a_clear_400(voting):
    client, *_ = voting
    response = client.post("/api/votes/submit/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


@pytest.fixture
def marking(api_client_for):
    client, user = api_client_for("annotator")
    rep = RepetitionFactory(index=0)
    Assignment.objects.create(annotator=user, clip=rep.clip, kind=Assignment.Kind.ENDPOINTS)
    return client, user, rep.clip


@pytest.mark.django_db
def test_end_points_are_stored_and_close_the_assignment(marking):
    client, user, clip = marking
    response = client.post(f"/api/clips/{clip.pk}/end-points/submit/",
                           {"client_key": new_key(), "frames": [40, 10, 25]}, format="json")
    assert response.status_code == 201, response.content
    assert list(EndPointMark.objects.order_by("frame").values_list("frame", flat=True)) == [10, 25, 40]
    assert Assignment.objects.get(annotator=user, clip=clip).state == Assignment.State.SUBMITTED


@pytest.mark.django_db
@pytest.mark.parametrize("frames,code", [([-1], "invalid_input"), ([300], "frame_out_of_range"),
                                         ([5, 5], "duplicate_in_request")])
def test_bad_end_point_frames_are_refused(marking, frames, code):
    client, user, clip = marking
    response = client.post(f"/api/clips/{clip.pk}/end-points/submit/",
                           {"client_key": new_key(), "frames": frames}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert EndPointMark.objects.count() == 0


@pytest.mark.django_db
def test_second_end_point_submission_with_a_new_key_is_refused(marking):
    client, user, clip = marking
    client.post(f"/api/clips/{clip.pk}/end-points/submit/", {"client_key": new_key(), "frames": [3]}, format="json")
    response = client.post(f"/api/clips/{clip.pk}/end-points/submit/",
                           {"client_key": new_key(), "frames": [4]}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_submitted"
    assert EndPointMark.objects.count() == 1


@pytest.mark.django_db
def test_annotator_never_sees_another_annotators_marks(marking, api_client_for):
    # given: a second annotator on the same clip has submitted
    client, user, clip = marking
    other_client, other = api_client_for("annotator")
    Assignment.objects.create(annotator=other, clip=clip, kind=Assignment.Kind.ENDPOINTS)
    other_client.post(f"/api/clips/{clip.pk}/end-points/submit/", {"client_key": new_key(), "frames": [7, 9]},
                      format="json")
    # when
    seen = client.get(f"/api/clips/{clip.pk}/end-points/").json()["results"]
    # then
    assert seen == []


def _expire_lease(user, clip):
    from datetime import timedelta

    from django.utils import timezone

    Assignment.objects.filter(annotator=user, clip=clip).update(
        state=Assignment.State.LEASED, lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_vote_on_an_expired_lease_is_refused_and_stores_nothing(voting):
    client, user, rep, et = voting
    _expire_lease(user, rep.clip)
    response = post_votes(client, new_key(), [{"repetition": rep.pk, "error_type": et.pk, "value": 1}])
    assert response.status_code == 409 and response.json()["error"]["code"] == "lease_expired"
    assert SeverityVote.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_retry_arriving_after_the_lease_ran_out_still_gets_the_first_answer(voting):
    # given: a vote stored, then the lease runs out before the client's retry arrives
    client, user, rep, et = voting
    key, body = new_key(), [{"repetition": rep.pk, "error_type": et.pk, "value": 3}]
    first = post_votes(client, key, body)
    _expire_lease(user, rep.clip)
    # when
    retry = post_votes(client, key, body)
    # then
    assert retry.status_code == 200 and retry.json() == dict(first.json(), replayed=True)
    assert SeverityVote.objects.count() == 1


@pytest.mark.django_db
def test_a_vote_batch_names_its_dataset_and_is_audited_once(voting):
    from audit.models import AuditEntry

    client, user, rep, et = voting
    key = new_key()
    response = post_votes(client, key, [{"repetition": rep.pk, "error_type": et.pk, "value": 0}])
    assert response.json()["dataset"] == rep.clip.dataset_id
    entry = AuditEntry.objects.get(object_id=key)
    assert (entry.object_type, entry.actor_id, entry.dataset_id) == ("annotation.SeverityVote", user.pk,
                                                                     rep.clip.dataset_id)
    assert entry.changes["stored"] == 1
