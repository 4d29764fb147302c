"""Object-level scoping: an annotator guessing ids never reads or changes another's labels."""
import pytest

from annotation.models import Assignment, EndPointMark, ErrorSegment, FeedbackNote, SeverityVote
from tasks.models import Job
from tests.factories import ErrorTypeFactory, RepetitionFactory


@pytest.fixture
def two_annotators(api_client_for):
    """Alice and Bob both hold the same clip; Bob alone holds a second clip; Bob has labelled both."""
    rep = RepetitionFactory(index=0)
    clip = rep.clip
    et = ErrorTypeFactory(exercise=clip.exercise)
    bobs_only = RepetitionFactory(index=0, clip__exercise=clip.exercise).clip
    alice_client, alice = api_client_for("annotator")
    bob_client, bob = api_client_for("annotator")
    alice_client.force_login(alice)  # the pages read the session
    for user in (alice, bob):
        for kind in Assignment.Kind.SEVERITY, Assignment.Kind.SEGMENTS, Assignment.Kind.FEEDBACK, \
                Assignment.Kind.ENDPOINTS:
            Assignment.objects.create(annotator=user, clip=clip, kind=kind)
    bob_assignment = Assignment.objects.create(annotator=bob, clip=bobs_only, kind=Assignment.Kind.ENDPOINTS)
    vote = SeverityVote.objects.create(repetition=rep, error_type=et, annotator=bob, value=2, client_key="bob-key-1")
    EndPointMark.objects.create(clip=clip, annotator=bob, frame=10, client_key="bob-key-2")
    segment = ErrorSegment.objects.create(clip=clip, error_type=et, annotator=bob, start_frame=1, end_frame=5,
                                          client_key="bob-key-3")
    note = FeedbackNote.objects.create(clip=clip, annotator=bob, frame=3, text="bob's note", client_key="bob-key-4")
    job = Job.objects.create(kind="dataset_stats", dataset=clip.dataset, launched_by=bob)
    return {"alice": alice_client, "bob": bob_client, "clip": clip, "bobs_only": bobs_only, "vote": vote,
            "segment": segment, "note": note, "bob_assignment": bob_assignment, "job": job}


@pytest.mark.django_db
def test_annotator_sees_none_of_anothers_votes_or_end_points(two_annotators):
    w = two_annotators
    votes = w["alice"].get(f"/api/votes/?clip={w['clip'].pk}").json()["results"]
    marks = w["alice"].get(f"/api/clips/{w['clip'].pk}/end-points/").json()["results"]
    assert votes == [] and marks == []


@pytest.mark.django_db
def test_annotator_sees_none_of_anothers_segments_or_notes(two_annotators):
    w = two_annotators
    assert w["alice"].get(f"/api/clips/{w['clip'].pk}/segments/").json() == []
    assert w["alice"].get(f"/api/clips/{w['clip'].pk}/feedback/").json() == []
    assert w["alice"].get(f"/api/clips/{w['clip'].pk}/segments/?annotator={w['segment'].annotator_id}").json() == []


@pytest.mark.django_db
@pytest.mark.parametrize("method,path", [
    ("patch", "/api/clips/{clip}/segments/{segment}/"),
    ("delete", "/api/clips/{clip}/segments/{segment}/"),
    ("patch", "/api/clips/{clip}/feedback/{note}/"),
    ("delete", "/api/clips/{clip}/feedback/{note}/"),
])
def test_annotator_cannot_edit_or_delete_anothers_rows_by_guessing_ids(two_annotators, method, path):
    # given
    w = two_annotators
    url = path.format(clip=w["clip"].pk, segment=w["segment"].pk, note=w["note"].pk)
    # when
    response = getattr(w["alice"], method)(url, {"start_frame": 0, "text": "mine now"}, format="json")
    # then: as if the row did not exist, and it is unchanged
    assert response.status_code == 404
    w["segment"].refresh_from_db()
    w["note"].refresh_from_db()
    assert (w["segment"].start_frame, w["note"].text) == (1, "bob's note")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/clips/{c}/", "/api/clips/{c}/pose/", "/api/clips/{c}/repetitions/",
                                  "/api/clips/{c}/end-points/", "/api/clips/{c}/segments/",
                                  "/api/clips/{c}/feedback/"])
def test_a_clip_held_only_by_another_annotator_does_not_exist_for_you(two_annotators, path):
    w = two_annotators
    response = w["alice"].get(path.format(c=w["bobs_only"].pk))
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/queue/release/", "/api/queue/complete/"])
def test_annotator_cannot_act_on_anothers_assignment(two_annotators, path):
    w = two_annotators
    response = w["alice"].post(path, {"assignment": w["bob_assignment"].pk}, format="json")
    assert response.status_code == 404
    w["bob_assignment"].refresh_from_db()
    assert w["bob_assignment"].item_ref == ""


@pytest.mark.django_db
def test_annotator_cannot_read_anothers_item_page_or_job(two_annotators):
    w = two_annotators
    assert w["alice"].get(f"/ui/items/{w['bob_assignment'].pk}/").status_code == 404
    assert w["alice"].get(f"/api/jobs/{w['job'].pk}/").status_code == 404
    assert w["alice"].get("/api/jobs/").json()["results"] == []


@pytest.mark.django_db
def test_annotator_cannot_vote_on_a_clip_they_do_not_hold(two_annotators):
    w = two_annotators
    rep = w["bobs_only"].repetitions.first()
    et = w["vote"].error_type
    response = w["alice"].post("/api/votes/submit/", {"client_key": "alice-guess-1", "votes": [
        {"repetition": rep.pk, "error_type": et.pk, "value": 1}]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_assigned"
    assert SeverityVote.objects.filter(repetition=rep).count() == 0


@pytest.mark.django_db
def test_annotator_cannot_read_the_audit_log(two_annotators):
    assert two_annotators["alice"].get("/api/audit/").status_code == 403
