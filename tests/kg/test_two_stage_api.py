"""Two-stage FLEX annotation through the API: roles, assignments, blindness, majorities."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Assignment
from kg.models import FlexReview, FlexStage1Set
from tests.conftest import new_key
from tests.factories import UserFactory
from tests.kg.factories import AssignmentFactory

SETS = [["AK01:ET001", "AK04:ET005"], ["AK01:ET001", "AK05:ET018"], ["AK01:ET001", "AK04:ET005", "AK05:ET018"]]
# Per-slot majority of SETS: ET001 (3 votes), ET005 (2), ET018 (2).
PROPOSAL = ["AK01:ET001", "AK04:ET005", "AK05:ET018"]


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def stage1(user, clip, slots, key=None):
    return client_of(user).post(f"/api/kg/samples/{clip.pk}/stage1/", {"client_key": key or new_key(), "slots": slots},
                                format="json")


def stage2(user, clip, approve, slots=None, key=None):
    body = {"client_key": key or new_key(), "approve": approve}
    if slots is not None:
        body["slots"] = slots
    return client_of(user).post(f"/api/kg/samples/{clip.pk}/stage2/", body, format="json")


def complete_stage1(sample):
    for user, slots in zip(sample.annotators, SETS):
        assert stage1(user, sample.clip, slots).status_code == 201


def test_stage1_set_is_stored_canonically_and_a_retry_replays(sample):
    # given
    user, key = sample.annotators[0], new_key()
    # when
    first = stage1(user, sample.clip, ["ak05:et018", "AK01:ET001"], key=key)
    retry = stage1(user, sample.clip, ["ak05:et018", "AK01:ET001"], key=key)
    # then
    assert first.status_code == 201 and first.json()["replayed"] is False
    assert first.json()["slots"] == ["AK01:ET001", "AK05:ET018"] and first.json()["graph_version"] == 1
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert FlexStage1Set.objects.get().slot_keys == ["AK01:ET001", "AK05:ET018"]
    assert Assignment.objects.get(annotator=user, clip=sample.clip).state == Assignment.State.SUBMITTED


def test_same_key_with_another_body_is_a_conflict(sample):
    key = new_key()
    stage1(sample.annotators[0], sample.clip, [], key=key)
    response = stage1(sample.annotators[0], sample.clip, ["AK01:ET001"], key=key)
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_key_reused"


def test_an_empty_set_is_a_valid_stage1_answer(sample):
    response = stage1(sample.annotators[0], sample.clip, [])
    assert response.status_code == 201 and FlexStage1Set.objects.get().slot_keys == []


def test_unknown_slot_is_refused_with_nothing_stored(sample):
    response = stage1(sample.annotators[0], sample.clip, ["AK01:ET001", "AK44:ET056"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_slot"
    assert response.json()["error"]["fields"]["slots"] == ["AK44:ET056"]
    assert not FlexStage1Set.objects.exists()


def test_a_second_set_by_the_same_annotator_is_refused(sample):
    stage1(sample.annotators[0], sample.clip, [])
    response = stage1(sample.annotators[0], sample.clip, ["AK01:ET001"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_submitted"


def test_a_fourth_stage1_set_is_refused(sample):
    # given: a fourth annotator assigned, three sets in
    extra = UserFactory(roles=["annotator"])
    AssignmentFactory(annotator=extra, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE1)
    complete_stage1(sample)
    # when
    response = stage1(extra, sample.clip, [])
    # then
    assert response.status_code == 409 and response.json()["error"]["code"] == "stage1_complete"
    assert FlexStage1Set.objects.count() == 3


def test_stage1_needs_a_flex_stage1_assignment(sample):
    # given: an annotator who may see the clip (another kind of assignment) but not label stage 1
    user = UserFactory(roles=["annotator"])
    AssignmentFactory(annotator=user, clip=sample.clip, kind=Assignment.Kind.SEVERITY)
    # when
    response = stage1(user, sample.clip, [])
    # then
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_assigned"


def test_a_clip_without_any_assignment_is_not_found(sample):
    response = stage1(UserFactory(roles=["annotator"]), sample.clip, [])
    assert response.status_code == 404


def test_reviewers_do_not_do_stage1(sample):
    response = stage1(sample.reviewers[0], sample.clip, [])
    assert response.status_code == 403


def test_an_expired_lease_is_refused(sample):
    Assignment.objects.filter(annotator=sample.annotators[0]).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1))
    response = stage1(sample.annotators[0], sample.clip, [])
    assert response.status_code == 409 and response.json()["error"]["code"] == "lease_expired"


def test_a_stage1_annotator_sees_only_their_own_set(sample):
    # given
    stage1(sample.annotators[0], sample.clip, SETS[0])
    stage1(sample.annotators[1], sample.clip, SETS[1])
    # when
    own = client_of(sample.annotators[0]).get(f"/api/kg/samples/{sample.clip.pk}/").json()
    other = client_of(sample.annotators[2]).get(f"/api/kg/samples/{sample.clip.pk}/").json()
    review = client_of(sample.annotators[0]).get(f"/api/kg/samples/{sample.clip.pk}/review/")
    # then
    assert own["my_stage1"]["slots"] == SETS[0] and own["stage1_count"] == 2
    assert other["my_stage1"] is None
    assert "labels" not in own and "labels" not in other
    assert review.status_code == 403


def test_stage2_opens_only_when_stage1_is_complete(sample):
    stage1(sample.annotators[0], sample.clip, SETS[0])
    view = client_of(sample.reviewers[0]).get(f"/api/kg/samples/{sample.clip.pk}/review/")
    submit = stage2(sample.reviewers[0], sample.clip, approve=True)
    assert view.status_code == 409 and view.json()["error"]["code"] == "stage1_incomplete"
    assert submit.status_code == 409 and submit.json()["error"]["code"] == "stage1_incomplete"
    assert not FlexReview.objects.exists()


def test_the_reviewer_sees_three_sets_side_by_side_and_the_proposal(sample):
    # given
    complete_stage1(sample)
    # when
    body = client_of(sample.reviewers[0]).get(f"/api/kg/samples/{sample.clip.pk}/review/").json()
    # then
    assert [s["label"] for s in body["stage1"]] == ["A", "B", "C"]
    assert [s["slots"] for s in body["stage1"]] == SETS
    assert "annotator" not in body["stage1"][0]
    assert body["proposal"] == {"slots": PROPOSAL, "penalty": 16, "total": 161, "score": 90.06}
    assert body["votes"] == [{"slot": "AK01:ET001", "votes": 3}, {"slot": "AK04:ET005", "votes": 2},
                             {"slot": "AK05:ET018", "votes": 2}]


def test_annotators_cannot_review(sample):
    complete_stage1(sample)
    response = stage2(sample.annotators[0], sample.clip, approve=True)
    assert response.status_code == 403


def test_a_reviewer_never_reviews_their_own_stage1_work(sample):
    # given: a user with both roles who annotated the sample in stage 1, then got a review lease
    both = UserFactory(roles=["annotator", "reviewer"])
    AssignmentFactory(annotator=both, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE1)
    stage1(sample.annotators[0], sample.clip, SETS[0])
    stage1(sample.annotators[1], sample.clip, SETS[1])
    assert stage1(both, sample.clip, SETS[2]).status_code == 201
    AssignmentFactory(annotator=both, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE2)
    # when
    view = client_of(both).get(f"/api/kg/samples/{sample.clip.pk}/review/")
    submit = stage2(both, sample.clip, approve=True)
    # then
    assert view.status_code == 403 and view.json()["error"]["code"] == "own_work"
    assert submit.status_code == 403 and submit.json()["error"]["code"] == "own_work"


def test_a_reviewer_of_a_sample_cannot_annotate_it_in_stage1(sample):
    both = UserFactory(roles=["annotator", "reviewer"])
    AssignmentFactory(annotator=both, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE1)
    AssignmentFactory(annotator=both, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE2)
    response = stage1(both, sample.clip, [])
    assert response.status_code == 403 and response.json()["error"]["code"] == "own_work"


@pytest.mark.parametrize("approve, slots, code", [
    (True, ["AK01:ET001"], "approve_with_changes"),
    (False, PROPOSAL, "no_correction"),
    (False, None, "slots_required"),
])
def test_contradictory_reviews_are_refused(sample, approve, slots, code):
    complete_stage1(sample)
    response = stage2(sample.reviewers[0], sample.clip, approve=approve, slots=slots)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_final_is_the_majority_of_three_reviews_and_a_tie_waits(sample, api_client_for):
    # given
    complete_stage1(sample)
    curator, _ = api_client_for("curator")
    url = f"/api/kg/samples/{sample.clip.pk}/"
    # when: one approval, one correction that drops ET018 and adds ET016
    first = stage2(sample.reviewers[0], sample.clip, approve=True)
    second = stage2(sample.reviewers[1], sample.clip, approve=False, slots=["AK01:ET001", "AK04:ET005", "AK04:ET016"])
    tied = curator.get(url).json()
    third = stage2(sample.reviewers[2], sample.clip, approve=False, slots=["AK01:ET001", "AK04:ET005"])
    final = curator.get(url).json()
    # then: ET018 and ET016 tie 1-1 after two reviews; the third settles both (not marked)
    assert first.json()["slots"] == PROPOSAL and first.json()["status"] == "stage2_open"
    assert second.json()["status"] == "tied"
    assert tied["status"] == "tied"
    assert tied["labels"]["tied"] == ["AK04:ET016", "AK05:ET018"] and tied["labels"]["final"] is None
    assert third.json()["status"] == "final" and third.json()["review_count"] == 3
    assert final["labels"]["final"] == ["AK01:ET001", "AK04:ET005"]
    assert final["labels"]["score"] == {"slots": ["AK01:ET001", "AK04:ET005"], "penalty": 11, "total": 161,
                                        "score": 93.17}
    assert [r["approve"] for r in final["labels"]["reviews"]] == [True, False, False]


def test_a_fourth_review_is_refused(sample):
    extra = UserFactory(roles=["reviewer"])
    AssignmentFactory(annotator=extra, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE2)
    complete_stage1(sample)
    for reviewer in sample.reviewers:
        assert stage2(reviewer, sample.clip, approve=True).status_code == 201
    response = stage2(extra, sample.clip, approve=True)
    assert response.status_code == 409 and response.json()["error"]["code"] == "stage2_complete"


def test_a_review_retry_replays(sample):
    complete_stage1(sample)
    key = new_key()
    first = stage2(sample.reviewers[0], sample.clip, approve=True, key=key)
    retry = stage2(sample.reviewers[0], sample.clip, approve=True, key=key)
    assert first.status_code == 201 and retry.status_code == 200 and retry.json()["replayed"] is True
    assert FlexReview.objects.count() == 1


def test_a_clip_whose_exercise_is_not_an_action_is_refused(graph, api_client_for):
    from tests.kg.factories import FlexClipFactory

    client, user = api_client_for("annotator")
    clip = FlexClipFactory(exercise__name="Burpee")
    AssignmentFactory(annotator=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE1)
    response = client.post(f"/api/kg/samples/{clip.pk}/stage1/", {"client_key": new_key(), "slots": []},
                           format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_a_flex_sample"
