"""The audit log: who created, changed or deleted what, when and from where; read-only."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment, ErrorSegment
from audit.context import audit_context
from audit.models import AuditEntry, AuditImmutableError
from audit.services import audit_record
from datasets.models import Dataset, SplitVersion
from kg.models import FeedbackText
from tasks.services import job_execute, job_launch
from tests.datasets.factories import toy_dataset
from tests.factories import ErrorTypeFactory, ParticipantFactory, RepetitionFactory, UserFactory


@pytest.fixture
def labeller(api_client_for):
    client, user = api_client_for("annotator")
    rep = RepetitionFactory(index=0)
    et = ErrorTypeFactory(exercise=rep.clip.exercise)
    for kind in Assignment.Kind.SEVERITY, Assignment.Kind.ENDPOINTS, Assignment.Kind.SEGMENTS:
        Assignment.objects.create(annotator=user, clip=rep.clip, kind=kind,
                                  lease_expires_at=timezone.now() + timedelta(minutes=30))
    return client, user, rep, et


def _vote(client, rep, et, key="audit-key-1", value=2):
    return client.post("/api/votes/submit/", {"client_key": key, "votes": [
        {"repetition": rep.pk, "error_type": et.pk, "value": value}]}, format="json",
        HTTP_USER_AGENT="pytest-agent/1.0", REMOTE_ADDR="10.1.2.3")


@pytest.mark.django_db
def test_a_vote_submission_is_one_entry_with_who_where_and_what(labeller):
    # given
    client, user, rep, et = labeller
    # when: a submission and its retry
    first = _vote(client, rep, et)
    replay = _vote(client, rep, et)
    # then: one entry, for the submission, none for the replay
    assert (first.status_code, replay.status_code) == (201, 200)
    entry = AuditEntry.objects.get(object_type="annotation.SeverityVote")
    assert (entry.actor, entry.actor_username, entry.action) == (user, user.username, "create")
    assert (entry.object_type, entry.object_id) == ("annotation.SeverityVote", "audit-key-1")
    assert entry.dataset_id == rep.clip.dataset_id
    assert entry.changes == {"scope": "votes", "client_key": "audit-key-1", "stored": 1}
    assert (entry.ip_address, entry.user_agent) == ("10.1.2.3", "pytest-agent/1.0")
    assert entry.source == "POST /api/votes/submit/"


@pytest.mark.django_db
def test_a_refused_submission_leaves_no_entry(labeller):
    client, _, rep, _ = labeller
    wrong_et = ErrorTypeFactory()
    assert _vote(client, rep, wrong_et).status_code == 400
    assert AuditEntry.objects.filter(object_type="annotation.SeverityVote").count() == 0


@pytest.mark.django_db
def test_segment_edit_and_delete_are_recorded_with_the_change(labeller):
    # given
    client, user, rep, et = labeller
    created = client.post(f"/api/clips/{rep.clip.pk}/segments/", {"client_key": "seg-key-1", "error_type": et.pk,
                                                                  "start_frame": 10, "end_frame": 20}, format="json")
    segment_id = created.json()["segment"]["id"]
    # when
    client.patch(f"/api/clips/{rep.clip.pk}/segments/{segment_id}/", {"end_frame": 40}, format="json")
    client.delete(f"/api/clips/{rep.clip.pk}/segments/{segment_id}/")
    # then
    rows = list(AuditEntry.objects.filter(object_type="annotation.ErrorSegment").order_by("id")
                .values_list("action", "object_id", "changes"))
    assert [r[0] for r in rows] == ["create", "update", "delete"]
    assert rows[1][1] == str(segment_id) and rows[1][2] == {"end_frame": [20, 40]}
    assert rows[2][2]["start_frame"] == 10 and not ErrorSegment.objects.exists()


@pytest.mark.django_db
def test_model_saves_outside_a_request_name_their_context():
    curator = UserFactory(roles=["curator"])
    with audit_context(source="command load_feedback", user=curator):
        text = FeedbackText.objects.create(error_code="ET001", version=1, text="Keep the bar over mid-foot.")
    entry = AuditEntry.objects.get(object_type="kg.FeedbackText")
    assert (entry.action, entry.object_id, entry.actor, entry.source) == ("create", str(text.pk), curator,
                                                                          "command load_feedback")
    assert entry.changes["text"] == "Keep the bar over mid-foot."


@pytest.mark.django_db
def test_a_split_frozen_by_a_job_is_recorded_with_the_job_and_its_launcher():
    toy = toy_dataset(name="auditsplit", n_participants=6)
    curator = UserFactory(roles=["curator"])
    job = job_launch(kind="make_split", dataset=toy.dataset, params={"seed": 1}, user=curator)
    job_execute(job_id=job.pk)
    version = SplitVersion.objects.get(job_id=job.pk)
    entry = AuditEntry.objects.get(object_type="datasets.SplitVersion")
    assert (entry.object_id, entry.actor, entry.dataset_id) == (str(version.pk), curator, toy.dataset.pk)
    assert entry.source == f"job {job.pk} (make_split)"


@pytest.mark.django_db
def test_deleting_a_dataset_is_one_entry_with_what_went_with_it():
    # (clips hold PROTECT keys, so only a dataset without clips can be deleted at all)
    dataset = ParticipantFactory().dataset
    Dataset.objects.get(pk=dataset.pk).delete()
    entries = list(AuditEntry.objects.filter(dataset_id=dataset.pk))
    assert [(e.object_type, e.action) for e in entries] == [("datasets.Dataset", "delete")]
    assert entries[0].changes == {"name": dataset.name, "clips": 0, "severity_votes": 0, "end_point_marks": 0}


@pytest.mark.django_db
def test_bulk_writers_record_one_summary():
    entry = audit_record(action="create", object_type="annotation.SeverityVote", object_id="import:7",
                         dataset_id=5, changes={"rows": 120000})
    assert (entry.source, entry.actor, entry.changes) == ("system", None, {"rows": 120000})


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    entry = audit_record(action="update", object_type="x.Y", object_id="1")
    entry.object_id = "2"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()


@pytest.mark.django_db
def test_curators_filter_the_log(api_client_for, labeller):
    # given: two submissions by the annotator and a feedback text by a curator
    client, user, rep, et = labeller
    _vote(client, rep, et, key="audit-key-a")
    other_et = ErrorTypeFactory(exercise=rep.clip.exercise)
    _vote(client, rep, other_et, key="audit-key-b")
    curator_client, curator = api_client_for("curator")
    with audit_context(source="test", user=curator):
        FeedbackText.objects.create(error_code="ET002", version=1, text="x")
    now = timezone.now()
    # when
    by_actor = curator_client.get(f"/api/audit/?actor={user.username}").json()
    by_type = curator_client.get("/api/audit/?object_type=FeedbackText&action=create").json()
    by_dataset = curator_client.get(f"/api/audit/?dataset={rep.clip.dataset_id}&page_size=1").json()
    future = curator_client.get("/api/audit/", {"since": (now + timedelta(hours=1)).isoformat()}).json()
    past = curator_client.get("/api/audit/", {"until": (now - timedelta(hours=1)).isoformat()}).json()
    # then
    assert [e["object_id"] for e in by_actor["results"]] == ["audit-key-b", "audit-key-a"]
    assert [e["actor_username"] for e in by_type["results"]] == [curator.username]
    assert by_dataset["count"] == 2 and len(by_dataset["results"]) == 1 and by_dataset["next"]
    assert future["count"] == past["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role,status", [("annotator", 403), ("reviewer", 403), ("curator", 200), ("admin", 200)])
def test_only_curators_and_admins_read_the_log(api_client_for, role, status):
    client, _ = api_client_for(role)
    assert client.get("/api/audit/").status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_has_no_write_route(api_client_for, method):
    client, _ = api_client_for("admin")
    entry = audit_record(action="create", object_type="x.Y", object_id="1")
    for path in ("/api/audit/", f"/api/audit/{entry.pk}/"):
        response = getattr(client, method)(path, {"action": "delete"}, format="json")
        assert response.status_code in (404, 405)
    assert AuditEntry.objects.filter(pk=entry.pk, action="create").exists()


@pytest.mark.django_db
def test_moving_the_current_label_set_is_recorded_for_both_sets():
    from annotation.services.aggregation import label_set_set_current, severity_aggregate
    from annotation.services.aggregation.compute import SeverityParams

    toy = toy_dataset(name="auditcurrent", n_participants=3)
    curator = UserFactory(roles=["curator"])
    first, second = (severity_aggregate(dataset=toy.dataset, params=SeverityParams(method="mean", with_agreement=False),
                                        set_current=not i)[0] for i in range(2))
    # when
    with audit_context(source="POST /api/label-sets/2/set-current/", user=curator):
        label_set_set_current(label_set=second)
    # then
    updates = list(AuditEntry.objects.filter(object_type="annotation.LabelSet", action="update",
                                             source__endswith="/set-current/").order_by("id")
                   .values_list("object_id", "changes", "actor_username"))
    assert updates == [(str(first.pk), {"is_current": [True, False]}, curator.username),
                       (str(second.pk), {"is_current": [False, True]}, curator.username)]
    assert AuditEntry.objects.filter(object_type="annotation.LabelSet", action="create").count() == 2
