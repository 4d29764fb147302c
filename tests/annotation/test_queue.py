"""The work queue: quotas, leases that expire, idempotent next, ordering, and concurrency."""
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from annotation.models import Assignment, SeverityVote
from annotation.services import queue as queue_service
from annotation.services.labels import end_points_submit
from annotation.services.queue import (
    assignment_complete, clip_send_back, queue_next, queue_progress, queue_release,
)
from config.exceptions import ConflictError, DomainError, ForbiddenError
from datasets.models import Dataset
from tests.conftest import new_key
from tests.factories import ClipFactory, DatasetFactory, ErrorTypeFactory, ExerciseFactory, RepetitionFactory, UserFactory

K = Assignment.Kind


def make_clips(n, *, dataset=None, kind=Dataset.Kind.HALO, reps=0, error_types=1, **dataset_fields):
    dataset = dataset or DatasetFactory(kind=kind, **dataset_fields)
    exercise = ExerciseFactory(dataset=dataset)
    for _ in range(error_types):
        ErrorTypeFactory(exercise=exercise)
    clips = [ClipFactory(exercise=exercise, pose_file=f"pose/fake-{i}.npy") for i in range(n)]
    for clip in clips:
        for i in range(reps):
            RepetitionFactory(clip=clip, index=i)
    return dataset, clips


def annotators(n, role="annotator"):
    return [UserFactory(roles=[role]) for _ in range(n)]


def take_and_submit(*, user, dataset, kind, n) -> list[int]:
    """The clips of ``n`` items one annotator takes and submits one after the other."""
    handed = []
    for _ in range(n):
        lease = queue_next(user=user, dataset=dataset, kind=kind)
        handed.append(lease.clip_id)
        submit_assignment(lease)
    return handed


def voted_severity_lease():
    """Two clips with a repetition; one annotator leases the first and votes on it."""
    dataset, clips = make_clips(2, reps=1)
    error_type = ErrorTypeFactory(exercise=clips[0].exercise)
    user, = annotators(1)
    lease = queue_next(user=user, dataset=dataset, kind=K.SEVERITY)
    SeverityVote.objects.create(repetition=lease.clip.repetitions.get(), error_type=error_type,
                                annotator=user, value=2, client_key="k")
    return dataset, clips, user, lease


def submit_assignment(assignment):
    assignment.state = Assignment.State.SUBMITTED
    assignment.submitted_at = timezone.now()
    assignment.save(update_fields=["state", "submitted_at"])


@pytest.mark.django_db
def test_next_leases_a_clip_for_the_datasets_lease_time():
    # given
    dataset, clips = make_clips(2, lease_minutes=12)
    user, = annotators(1)
    before = timezone.now()
    # when
    assignment = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert assignment.clip_id == clips[0].pk
    assert assignment.state == Assignment.State.LEASED
    assert before + timedelta(minutes=12) <= assignment.lease_expires_at <= timezone.now() + timedelta(minutes=12)


@pytest.mark.django_db
def test_next_is_idempotent_while_the_lease_is_valid():
    # given
    dataset, clips = make_clips(3)
    user, = annotators(1)
    first = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # when
    again = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert again.pk == first.pk
    assert Assignment.objects.filter(annotator=user).count() == 1


@pytest.mark.django_db
def test_three_distinct_annotators_fill_a_clip_then_the_fourth_gets_the_next_clip():
    # given
    dataset, clips = make_clips(2)
    users = annotators(4)
    # when
    handed = [queue_next(user=u, dataset=dataset, kind=K.ENDPOINTS).clip_id for u in users]
    # then
    assert handed == [clips[0].pk, clips[0].pk, clips[0].pk, clips[1].pk]


@pytest.mark.django_db
def test_an_annotator_is_never_handed_a_clip_they_already_did():
    # given
    dataset, clips = make_clips(2)
    user, = annotators(1)
    first = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    end_points_submit(user=user, clip=first.clip, client_key=new_key(), frames=[10, 20])
    # when
    second = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    third_user_view = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert second.clip_id == clips[1].pk
    assert third_user_view.pk == second.pk


@pytest.mark.django_db
def test_an_expired_lease_returns_the_item_and_its_late_submission_is_refused():
    # given: three annotators lease the only clip, one walks away and the lease runs out
    dataset, clips = make_clips(1)
    users = annotators(4)
    leases = [queue_next(user=u, dataset=dataset, kind=K.ENDPOINTS) for u in users[:3]]
    Assignment.objects.filter(pk=leases[0].pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    # when
    handed = queue_next(user=users[3], dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert handed.clip_id == clips[0].pk
    with pytest.raises(ConflictError, match="lease_expired"):
        end_points_submit(user=users[0], clip=clips[0], client_key=new_key(), frames=[5])


@pytest.mark.django_db
def test_an_annotator_whose_own_lease_expired_gets_the_item_again_with_a_new_lease():
    # given
    dataset, clips = make_clips(2)
    user, = annotators(1)
    first = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    Assignment.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    # when
    again = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert again.pk == first.pk and again.clip_id == clips[0].pk
    assert Assignment.objects.get(pk=first.pk).lease_expires_at > timezone.now()
    assert Assignment.objects.filter(annotator=user).count() == 1


@pytest.mark.django_db
def test_the_clip_is_full_while_three_leases_are_live():
    # given
    dataset, clips = make_clips(1)
    users = annotators(4)
    for u in users[:3]:
        queue_next(user=u, dataset=dataset, kind=K.ENDPOINTS)
    # when
    handed = queue_next(user=users[3], dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert handed is None


@pytest.mark.django_db
def test_breadth_first_hands_out_the_clip_closest_to_complete():
    # given: clip 2 already has two submitted annotators, clip 1 has one
    dataset, clips = make_clips(3)
    for clip, n in ((clips[1], 1), (clips[2], 2)):
        for u in annotators(n):
            Assignment.objects.create(annotator=u, clip=clip, kind=K.ENDPOINTS, state=Assignment.State.SUBMITTED)
    user, = annotators(1)
    # when
    handed = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert handed.clip_id == clips[2].pk


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "reps", "unfit_clip", "quota"), [
    (K.ENDPOINTS, 0, {}, 3),  # no pose, no video
    (K.SEVERITY, 2, {"pose_file": "pose/no-reps.npy"}, 10),  # a pose but no repetitions
], ids=["endpoints-three-annotators-clips-with-pose-or-video", "severity-ten-voters-clips-with-repetitions"])
def test_a_clip_goes_to_its_quota_of_annotators_and_an_unfit_clip_to_none(kind, reps, unfit_clip, quota):
    # given
    dataset, clips = make_clips(1, reps=reps)
    ClipFactory(exercise=clips[0].exercise, **unfit_clip)
    users = annotators(quota + 1)
    # when
    handed = [queue_next(user=u, dataset=dataset, kind=kind) for u in users]
    # then
    assert [a.clip_id for a in handed[:quota]] == [clips[0].pk] * quota
    assert handed[quota] is None


@pytest.mark.django_db
def test_severity_skips_clips_of_an_exercise_without_error_types():
    # given
    dataset, _ = make_clips(2, reps=1, error_types=0)
    user, = annotators(1)
    # when
    handed = queue_next(user=user, dataset=dataset, kind=K.SEVERITY)
    # then
    assert handed is None


@pytest.mark.django_db
def test_a_severity_lease_is_closed_by_complete_after_the_votes_are_stored():
    # given
    dataset, clips, user, lease = voted_severity_lease()
    # when
    closed = assignment_complete(user=user, assignment=lease)
    again = assignment_complete(user=user, assignment=lease)
    following = queue_next(user=user, dataset=dataset, kind=K.SEVERITY)
    # then
    assert closed.state == again.state == Assignment.State.SUBMITTED
    assert following.clip_id == clips[1].pk


@pytest.mark.django_db
def test_complete_without_votes_is_refused():
    # given
    dataset, clips = make_clips(1, reps=1)
    user, = annotators(1)
    lease = queue_next(user=user, dataset=dataset, kind=K.SEVERITY)
    # when / then
    with pytest.raises(ConflictError, match="nothing_submitted"):
        assignment_complete(user=user, assignment=lease)


@pytest.mark.django_db
def test_next_closes_a_voted_severity_lease_whose_complete_call_was_lost():
    # given
    dataset, clips, user, lease = voted_severity_lease()
    # when
    following = queue_next(user=user, dataset=dataset, kind=K.SEVERITY)
    # then
    lease.refresh_from_db()
    assert lease.state == Assignment.State.SUBMITTED
    assert following.clip_id == clips[1].pk


@pytest.mark.django_db
def test_flex_stage2_waits_for_three_stage1_sets_and_never_goes_to_a_stage1_annotator():
    # given
    dataset, clips = make_clips(1, kind=Dataset.Kind.FLEX)
    stage1 = [UserFactory(roles=["annotator", "reviewer"]) for _ in range(3)]
    reviewer, = annotators(1, role="reviewer")
    leases = [queue_next(user=u, dataset=dataset, kind=K.FLEX_STAGE1) for u in stage1]
    submit_assignment(leases[0])
    submit_assignment(leases[1])
    early = queue_next(user=reviewer, dataset=dataset, kind=K.FLEX_STAGE2)
    submit_assignment(leases[2])
    # when
    stage1_member = queue_next(user=stage1[0], dataset=dataset, kind=K.FLEX_STAGE2)
    review = queue_next(user=reviewer, dataset=dataset, kind=K.FLEX_STAGE2)
    # then
    assert early is None
    assert stage1_member is None
    assert review.clip_id == clips[0].pk


@pytest.mark.django_db
def test_a_flex_reviewer_is_never_handed_stage1_of_a_sample_they_review():
    # given
    dataset, clips = make_clips(2, kind=Dataset.Kind.FLEX)
    both = UserFactory(roles=["annotator", "reviewer"])
    Assignment.objects.create(annotator=both, clip=clips[0], kind=K.FLEX_STAGE2, state=Assignment.State.SUBMITTED,
                              submitted_at=timezone.now())
    # when
    stage1 = queue_next(user=both, dataset=dataset, kind=K.FLEX_STAGE1)
    # then
    assert stage1.clip_id == clips[1].pk


@pytest.mark.django_db
def test_a_voter_whose_lease_expired_is_not_handed_the_clip_again():
    # given: votes stored, the "complete" call lost, then the lease ran out
    dataset, clips, user, lease = voted_severity_lease()
    Assignment.objects.filter(pk=lease.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    # when
    following = queue_next(user=user, dataset=dataset, kind=K.SEVERITY)
    # then
    assert following.clip_id == clips[1].pk


@pytest.mark.django_db
def test_a_clip_outside_the_shared_window_is_handed_out_once_the_window_holds_nothing_for_you():
    # given: the window of best open clips (200) is all done by this annotator
    dataset, clips = make_clips(queue_service._WINDOW + 1)
    user, = annotators(1)
    Assignment.objects.bulk_create(
        Assignment(annotator=user, clip=clip, kind=K.ENDPOINTS, state=Assignment.State.SUBMITTED,
                   submitted_at=timezone.now()) for clip in clips[:-1])
    others = annotators(2)
    for other in others:  # two holders each: the done clips rank first, breadth first
        Assignment.objects.bulk_create(
            Assignment(annotator=other, clip=clip, kind=K.ENDPOINTS, state=Assignment.State.SUBMITTED,
                       submitted_at=timezone.now()) for clip in clips[:-1])
    # when
    handed = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert handed.clip_id == clips[-1].pk


@pytest.mark.django_db
def test_roles_decide_which_kinds_a_user_may_take():
    # given
    dataset, _ = make_clips(1, kind=Dataset.Kind.FLEX)
    annotator, = annotators(1)
    reviewer, = annotators(1, role="reviewer")
    # when / then
    with pytest.raises(ForbiddenError, match="forbidden_kind"):
        queue_next(user=annotator, dataset=dataset, kind=K.FLEX_STAGE2)
    with pytest.raises(ForbiddenError, match="forbidden_kind"):
        queue_next(user=reviewer, dataset=dataset, kind=K.FLEX_STAGE1)
    with pytest.raises(DomainError, match="kind_not_in_dataset"):
        queue_next(user=annotator, dataset=dataset, kind=K.ENDPOINTS)


@pytest.mark.django_db
def test_a_released_item_goes_to_someone_else_and_not_back():
    # given
    dataset, clips = make_clips(2)
    user, other = annotators(2)
    lease = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # when
    queue_release(user=user, assignment=lease)
    mine = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    theirs = queue_next(user=other, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert mine.clip_id == clips[1].pk
    assert theirs.clip_id == clips[1].pk  # breadth first: clip 1 now has a holder, clip 0 none


@pytest.mark.django_db
def test_a_clip_sent_back_is_labelled_again_by_new_annotators():
    # given: a complete clip
    dataset, clips = make_clips(1)
    first = annotators(3)
    for u in first:
        submit_assignment(queue_next(user=u, dataset=dataset, kind=K.ENDPOINTS))
    newcomer, = annotators(1)
    before = queue_next(user=newcomer, dataset=dataset, kind=K.ENDPOINTS)
    # when
    sent = clip_send_back(dataset=dataset, clip_ids=[clips[0].pk], kind=K.ENDPOINTS)
    after = queue_next(user=newcomer, dataset=dataset, kind=K.ENDPOINTS)
    old_annotator = queue_next(user=first[0], dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert before is None
    assert sent == 3
    assert after.clip_id == clips[0].pk
    assert old_annotator is None


@pytest.mark.django_db
def test_progress_counts_complete_and_leased_clips_per_kind():
    # given
    dataset, clips = make_clips(2)
    users = annotators(4)
    for u in users[:3]:
        submit_assignment(queue_next(user=u, dataset=dataset, kind=K.ENDPOINTS))
    queue_next(user=users[3], dataset=dataset, kind=K.ENDPOINTS)
    # when
    progress = queue_progress(dataset=dataset)
    # then
    assert progress["endpoints"] == {"quota": 3, "clips": 2, "complete": 1, "in_progress": 1,
                                     "submitted": 3, "leased": 1, "completion": 0.5}


# ---------------------------------------------------------------- API

@pytest.mark.django_db
def test_next_api_hands_an_item_and_answers_null_when_nothing_is_left(api_client_for):
    # given
    dataset, clips = make_clips(1)
    client, user = api_client_for("annotator")
    # when
    first = client.post("/api/queue/next/", {"dataset": dataset.pk, "kind": "endpoints"}, format="json")
    submit_assignment(Assignment.objects.get(annotator=user))
    empty = client.post("/api/queue/next/", {"dataset": dataset.pk, "kind": "endpoints"}, format="json")
    # then
    assert first.status_code == 200
    item = first.json()["item"]
    assert item["clip"]["id"] == clips[0].pk and item["clip"]["fps"] == 30.0 and item["kind"] == "endpoints"
    assert empty.json() == {"item": None}


@pytest.mark.django_db
def test_next_api_refuses_a_kind_the_role_may_not_take(api_client_for):
    # given
    dataset, _ = make_clips(1)
    client, _ = api_client_for("reviewer")
    # when
    response = client.post("/api/queue/next/", {"dataset": dataset.pk, "kind": "endpoints"}, format="json")
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_kind"


@pytest.mark.django_db
def test_release_and_complete_apis_touch_only_your_own_assignments(api_client_for):
    # given
    dataset, _ = make_clips(1)
    owner_client, owner = api_client_for("annotator")
    other_client, _ = api_client_for("annotator")
    lease = queue_next(user=owner, dataset=dataset, kind=K.ENDPOINTS)
    # when
    stolen = other_client.post("/api/queue/release/", {"assignment": lease.pk}, format="json")
    released = owner_client.post("/api/queue/release/", {"assignment": lease.pk}, format="json")
    # then
    assert stolen.status_code == 404
    assert released.status_code == 200 and released.json()["assignment"] == lease.pk


@pytest.mark.django_db
@pytest.mark.parametrize("method,url", [("post", "/api/queue/send-back/"), ("get", "/api/queue/progress/")])
def test_curator_queue_endpoints_refuse_annotators(api_client_for, method, url):
    # given
    client, _ = api_client_for("annotator")
    # when
    response = getattr(client, method)(url, {}, format="json")
    # then
    assert response.status_code == 403


@pytest.mark.django_db
def test_send_back_api_for_curators(api_client_for):
    # given
    dataset, clips = make_clips(1)
    for u in annotators(3):
        submit_assignment(queue_next(user=u, dataset=dataset, kind=K.ENDPOINTS))
    client, _ = api_client_for("curator")
    # when
    response = client.post("/api/queue/send-back/", {"dataset": dataset.pk, "kind": "endpoints",
                                                     "clips": [clips[0].pk]}, format="json")
    progress = client.get(f"/api/queue/progress/?dataset={dataset.pk}")
    # then
    assert response.json() == {"sent_back": 3}
    assert progress.json()["endpoints"]["complete"] == 0


@pytest.mark.django_db
def test_overview_lists_open_items_per_kind(api_client_for):
    # given
    dataset, _ = make_clips(2, reps=1)
    client, _ = api_client_for("annotator")
    # when
    rows = client.get("/api/queue/overview/").json()
    # then
    mine = {r["kind"]: r["open"] for r in rows if r["dataset"] == dataset.pk}
    assert mine == {"endpoints": 2, "severity": 2, "segments": 2, "feedback": 2}


# ---------------------------------------------------------------- concurrency (PostgreSQL)

@pytest.mark.django_db(transaction=True)
def test_concurrent_next_calls_never_overfill_a_clip_and_each_gets_one_lease():
    # given: 24 annotators asking at once for 10 clips of quota 3
    dataset, clips = make_clips(10)
    users = annotators(24)
    barrier = threading.Barrier(len(users))
    results, errors = {}, []

    def ask(user):
        try:
            barrier.wait(timeout=30)
            for _ in range(2):  # a double click: must give the same lease back
                results.setdefault(user.pk, []).append(queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS).pk)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=ask, args=(u,)) for u in users]
    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # then
    assert errors == []
    assert all(len(set(pks)) == 1 for pks in results.values())
    per_clip = {}
    for a in Assignment.objects.all():
        per_clip[a.clip_id] = per_clip.get(a.clip_id, 0) + 1
    assert Assignment.objects.count() == 24
    assert max(per_clip.values()) <= 3


# ---------------------------------------------------------------- uncertainty first

def severity_label_set(dataset, items):
    """A current severity label set with (repetition, error type, ds_confidence, bmm_score) rows."""
    from annotation.models import LabelSet, SeverityLabel

    now = timezone.now()
    label_set = LabelSet.objects.create(dataset=dataset, kind="severity", number=1, method="all", input_count=1,
                                        input_hash="x", item_count=len(items), is_current=True,
                                        started_at=now, finished_at=now)
    SeverityLabel.objects.bulk_create(
        SeverityLabel(label_set=label_set, repetition=rep, error_type=et, n_votes=10, mean=1.0, majority=1,
                      ds_class=1, ds_confidence=conf, bmm_score=bmm)
        for rep, et, conf, bmm in items)
    return label_set


@pytest.mark.django_db
def test_uncertainty_first_hands_out_the_least_sure_clip_first():
    # given: clip 0 is sure, clip 1 has a BMM score near 0.5, clip 2 a low DS posterior
    dataset, clips = make_clips(4, reps=1, queue_order=Dataset.QueueOrder.UNCERTAINTY_FIRST)
    et = ErrorTypeFactory(exercise=clips[0].exercise)
    reps = [c.repetitions.get() for c in clips]
    severity_label_set(dataset, [(reps[0], et, 0.99, 0.02), (reps[1], et, 0.95, 0.45), (reps[2], et, 0.40, 0.9)])
    user, = annotators(1)
    # when: one annotator takes and finishes one item after the other
    handed = take_and_submit(user=user, dataset=dataset, kind=K.SEVERITY, n=4)
    # then: least sure first, the clip the label set does not rank last
    assert handed == [clips[1].pk, clips[2].pk, clips[0].pk, clips[3].pk]


@pytest.mark.django_db
def test_uncertainty_first_puts_clips_whose_end_point_annotators_disagree_first():
    # given
    from annotation.models import EndPointLabel, LabelSet

    dataset, clips = make_clips(3, queue_order=Dataset.QueueOrder.UNCERTAINTY_FIRST)
    now = timezone.now()
    label_set = LabelSet.objects.create(dataset=dataset, kind="endpoints", number=1, method="consensus",
                                        input_count=1, input_hash="x", item_count=3, is_current=True,
                                        started_at=now, finished_at=now)
    for clip, disagree, spread in ((clips[0], False, [1.0]), (clips[1], False, [6.0]), (clips[2], True, [2.0])):
        EndPointLabel.objects.create(label_set=label_set, clip=clip, n_annotators=3, count=1, ends=[50.0],
                                     spread=spread, disagree=disagree, reason="end_spread" if disagree else "")
    user, = annotators(1)
    # when
    handed = take_and_submit(user=user, dataset=dataset, kind=K.ENDPOINTS, n=3)
    # then
    assert handed == [clips[2].pk, clips[1].pk, clips[0].pk]
