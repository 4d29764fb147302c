"""The work queue: which item an annotator labels next.

An item is a (clip, kind of label). The queue hands it out as an ``Assignment`` lease that
expires after ``Dataset.lease_minutes``; the label submission services refuse a submission on an
expired lease (``lease_expired``), and an expired, unsubmitted lease stops counting toward the
clip's quota, so abandoned items return to the pool by themselves. No sweeper job is needed.

Quota (distinct annotators per clip, see ``QUOTAS``): end points 3 (Halo: three annotators mark
every repetition end), severity 10 at clip granularity (Halo: ten votes per (repetition, error
type); a clip needs voters while fewer than ten annotators hold severity assignments on it),
FLEX stage 1: 3 annotators, stage 2: 3 reviewers, only once stage 1 has three submitted sets and
never a reviewer who did stage 1 of that clip. A holder is a submitted assignment or a lease that
has not expired; assignments a curator sent back (``item_ref == "sent_back"``) no longer count.

Ordering (``Dataset.queue_order``), see ``docs/ui.md``:
- breadth first: the clip with the most holders still short of its quota first (finish items
  close to complete), then by id;
- uncertainty first: the clip whose current label set is least sure first (Dawid-Skene
  posterior entropy, or a BMM score near 0.5), then breadth first. Without a current label set
  this is breadth first.

Concurrency: one transaction per request. The annotator's advisory lock makes ``next``
idempotent under double clicks; the candidate clip is taken with ``FOR UPDATE SKIP LOCKED`` and
its quota re-checked under the lock, so fifty annotators asking at once get fifty different
clips and no clip is over-assigned. On SQLite the transaction itself is the lock.
"""
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Exists, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.lock_objects import annotator_lock, clip_lock_first_free, clips_lock
from annotation.models import Assignment, SeverityVote
from annotation.roles import ADMIN, ANNOTATOR, CURATOR, REVIEWER, has_role
from config.exceptions import ConflictError, DomainError, ForbiddenError, NotFoundError
from datasets.models import Clip, Dataset, Repetition

logger = logging.getLogger(__name__)

Kind = Assignment.Kind

QUOTAS: dict[str, int] = {
    Kind.ENDPOINTS: 3,
    Kind.SEVERITY: 10,
    Kind.SEGMENTS: 1,
    Kind.FEEDBACK: 1,
    Kind.FLEX_STAGE1: 3,
    Kind.FLEX_STAGE2: 3,
}

# Who may take items of a kind from the queue (curators and admins may label too).
KIND_ROLES: dict[str, tuple[str, ...]] = {
    Kind.ENDPOINTS: (ANNOTATOR, CURATOR, ADMIN),
    Kind.SEVERITY: (ANNOTATOR, CURATOR, ADMIN),
    Kind.SEGMENTS: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FEEDBACK: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FLEX_STAGE1: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FLEX_STAGE2: (REVIEWER, CURATOR, ADMIN),
}

# Which kinds of work each kind of dataset offers.
DATASET_KINDS: dict[str, tuple[str, ...]] = {
    Dataset.Kind.HALO: (Kind.ENDPOINTS, Kind.SEVERITY, Kind.SEGMENTS, Kind.FEEDBACK),
    Dataset.Kind.GENERIC: (Kind.ENDPOINTS, Kind.SEVERITY, Kind.SEGMENTS, Kind.FEEDBACK),
    Dataset.Kind.FLEX: (Kind.FLEX_STAGE1, Kind.FLEX_STAGE2, Kind.SEGMENTS, Kind.FEEDBACK),
}

# item_ref markers. A released lease is one the annotator skipped: it is not handed back to
# them. A sent-back assignment is one a curator asked to be labelled again by someone else.
RELEASED = "released"
SENT_BACK = "sent_back"

# How many locked-then-rejected candidates one request tries before giving up. A rejection
# only happens when another transaction filled the clip between our read and our lock.
_MAX_ATTEMPTS = 8


def kinds_for_dataset(dataset: Dataset) -> tuple[str, ...]:
    return DATASET_KINDS.get(dataset.kind, DATASET_KINDS[Dataset.Kind.GENERIC])


def may_take(user, kind: str) -> bool:
    return has_role(user, *KIND_ROLES.get(kind, ()))


def _holder_q(now) -> Q:
    """Assignments that count toward a clip's quota."""
    live = Q(state=Assignment.State.SUBMITTED) | Q(state=Assignment.State.LEASED, lease_expires_at__gt=now)
    return live & ~Q(item_ref=SENT_BACK)


def _count_subquery(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("clip_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _holders_of(kind: str, now) -> QuerySet:
    return Assignment.objects.filter(clip_id=OuterRef("pk"), kind=kind).filter(_holder_q(now))


def _stage1_submitted() -> QuerySet:
    return Assignment.objects.filter(clip_id=OuterRef("pk"), kind=Kind.FLEX_STAGE1,
                                     state=Assignment.State.SUBMITTED).exclude(item_ref=SENT_BACK)


def _has_media() -> Q:
    return ~Q(pose_file="") | ~Q(video_file="")


def candidate_clips(*, user, dataset: Dataset, kind: str, now) -> QuerySet:
    """Clips of ``dataset`` that still need ``kind`` labels and that ``user`` may take, best first.

    The quota and exclusions are evaluated at read time; ``queue_next`` re-checks them under the
    clip's lock.
    """
    quota = QUOTAS[kind]
    qs = (
        Clip.objects.filter(dataset=dataset).filter(_has_media())
        .annotate(holders=_count_subquery(_holders_of(kind, now)))
        .filter(holders__lt=quota)
    )
    done_or_skipped = Assignment.objects.filter(annotator=user, clip_id=OuterRef("pk"), kind=kind).filter(
        Q(state=Assignment.State.SUBMITTED) | Q(item_ref=RELEASED)
    )
    qs = qs.exclude(Exists(done_or_skipped))
    if kind == Kind.SEVERITY:
        qs = qs.filter(Exists(Repetition.objects.filter(clip_id=OuterRef("pk"))))
        # A vote batch stored while the "complete" call was lost still means "already did it".
        qs = qs.exclude(Exists(SeverityVote.objects.filter(annotator=user, repetition__clip_id=OuterRef("pk"))))
    if kind == Kind.FLEX_STAGE2:
        qs = qs.annotate(stage1=_count_subquery(_stage1_submitted())).filter(stage1__gte=QUOTAS[Kind.FLEX_STAGE1])
        qs = qs.exclude(Exists(Assignment.objects.filter(annotator=user, clip_id=OuterRef("pk"),
                                                         kind=Kind.FLEX_STAGE1)))
    return _ordered(qs, dataset=dataset, kind=kind)


def _ordered(qs: QuerySet, *, dataset: Dataset, kind: str) -> QuerySet:
    if dataset.queue_order == Dataset.QueueOrder.UNCERTAINTY_FIRST:
        uncertainty = clip_uncertainty_expression(dataset=dataset, kind=kind)
        if uncertainty is not None:
            return qs.annotate(uncertainty=uncertainty).order_by(
                F("uncertainty").desc(nulls_last=True), "-holders", "pk")
    return qs.order_by("-holders", "pk")


def clip_uncertainty_expression(*, dataset: Dataset, kind: str):
    """A per-clip uncertainty (higher = less sure) from the dataset's current label set, or None.

    Filled in once the aggregation platform's label-set models exist.
    """
    return None


def _still_open(*, clip: Clip, user, kind: str, now) -> bool:
    """Re-check, under the clip's lock, that the clip still has room for ``user``."""
    holders = Assignment.objects.filter(clip=clip, kind=kind).filter(_holder_q(now)).exclude(annotator=user)
    if holders.count() >= QUOTAS[kind]:
        return False
    if kind == Kind.FLEX_STAGE2:
        stage1 = Assignment.objects.filter(clip=clip, kind=Kind.FLEX_STAGE1, state=Assignment.State.SUBMITTED)
        if stage1.exclude(item_ref=SENT_BACK).count() < QUOTAS[Kind.FLEX_STAGE1]:
            return False
    return True


def _check_may_take(*, user, dataset: Dataset, kind: str) -> None:
    if kind not in QUOTAS:
        raise DomainError(f"Unknown kind {kind!r}. Known: {', '.join(QUOTAS)}.", code="unknown_kind")
    if not may_take(user, kind):
        raise ForbiddenError(f"Your role may not take {kind} items.", code="forbidden_kind")
    if kind not in kinds_for_dataset(dataset):
        raise DomainError(f"Dataset {dataset.name} has no {kind} work.", code="kind_not_in_dataset")


def _held_lease(*, user, dataset: Dataset, kind: str, now) -> Assignment | None:
    return (
        Assignment.objects.select_related("clip", "clip__exercise")
        .filter(annotator=user, kind=kind, clip__dataset=dataset, state=Assignment.State.LEASED,
                lease_expires_at__gt=now)
        .exclude(item_ref__in=[RELEASED, SENT_BACK])
        .order_by("lease_expires_at", "pk").first()
    )


def _finished_elsewhere(assignment: Assignment) -> bool:
    """A severity lease whose votes are stored is done even if nobody marked it submitted."""
    return assignment.kind == Kind.SEVERITY and SeverityVote.objects.filter(
        annotator_id=assignment.annotator_id, repetition__clip_id=assignment.clip_id).exists()


def queue_next(*, user, dataset: Dataset, kind: str) -> Assignment | None:
    """Lease the next ``kind`` item of ``dataset`` to ``user``, or return None when none is left.

    Idempotent: while the user holds a valid lease of this kind in this dataset, that lease is
    renewed and returned again. Locks: the annotator (advisory), then one clip (SKIP LOCKED).
    """
    _check_may_take(user=user, dataset=dataset, kind=kind)
    now = timezone.now()
    expires = now + timedelta(minutes=dataset.lease_minutes)
    with transaction.atomic():
        annotator_lock(user_id=user.pk)
        held = _held_lease(user=user, dataset=dataset, kind=kind, now=now)
        if held is not None and _finished_elsewhere(held):
            _mark_submitted(held, now)
            held = None
        if held is not None:
            held.lease_expires_at = expires
            held.save(update_fields=["lease_expires_at"])
            logger.info("queue.renewed", extra={"assignment_id": held.pk, "user_id": user.pk})
            return held
        rejected: list[int] = []
        for _attempt in range(_MAX_ATTEMPTS):
            candidates = candidate_clips(user=user, dataset=dataset, kind=kind, now=now).exclude(pk__in=rejected)
            clip = clip_lock_first_free(candidates=candidates)
            if clip is None:
                return None
            if not _still_open(clip=clip, user=user, kind=kind, now=now):
                rejected.append(clip.pk)
                continue
            assignment = _lease(user=user, clip=clip, kind=kind, expires=expires)
            logger.info("queue.leased", extra={"assignment_id": assignment.pk, "clip_id": clip.pk,
                                               "kind": kind, "user_id": user.pk})
            return assignment
    return None


def _lease(*, user, clip: Clip, kind: str, expires) -> Assignment:
    assignment = Assignment.objects.filter(annotator=user, clip=clip, kind=kind).first()
    if assignment is None:
        assignment = Assignment.objects.create(annotator=user, clip=clip, kind=kind,
                                               state=Assignment.State.LEASED, lease_expires_at=expires)
    else:
        # Only an expired lease of this user can be here (submitted and skipped ones are excluded).
        assignment.lease_expires_at = expires
        assignment.item_ref = ""
        assignment.save(update_fields=["lease_expires_at", "item_ref"])
    assignment = Assignment.objects.select_related("clip", "clip__exercise").get(pk=assignment.pk)
    return assignment


def _mark_submitted(assignment: Assignment, now) -> None:
    assignment.state = Assignment.State.SUBMITTED
    assignment.submitted_at = now
    assignment.save(update_fields=["state", "submitted_at"])


def assignment_get_for_user(*, user, assignment_id) -> Assignment:
    try:
        return Assignment.objects.select_related("clip", "clip__exercise", "clip__dataset").get(
            pk=assignment_id, annotator=user)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Assignment {assignment_id} not found.", code="assignment_not_found") from None


def queue_release(*, user, assignment: Assignment) -> Assignment:
    """Give a leased item back (skip it): the lease ends now and the item goes to someone else."""
    if assignment.annotator_id != user.pk:
        raise NotFoundError(f"Assignment {assignment.pk} not found.", code="assignment_not_found")
    with transaction.atomic():
        annotator_lock(user_id=user.pk)
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.state == Assignment.State.SUBMITTED:
            raise ConflictError("This item is already submitted.", code="already_submitted")
        assignment.lease_expires_at = timezone.now()
        assignment.item_ref = RELEASED
        assignment.save(update_fields=["lease_expires_at", "item_ref"])
    return assignment


def assignment_complete(*, user, assignment: Assignment) -> Assignment:
    """Close a severity lease once its votes are stored. Idempotent.

    Vote batches go through the shared ``votes/submit`` endpoint, which does not close the
    assignment; the vote page calls this right after. ``queue_next`` also closes such a lease
    itself if this call was lost.
    """
    if assignment.annotator_id != user.pk:
        raise NotFoundError(f"Assignment {assignment.pk} not found.", code="assignment_not_found")
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.state == Assignment.State.SUBMITTED:
            return assignment
        if assignment.kind != Kind.SEVERITY:
            raise DomainError(f"{assignment.kind} items are closed by their own submission.",
                              code="complete_not_supported")
        if not _finished_elsewhere(assignment):
            raise ConflictError("No votes of yours are stored for this clip yet.", code="nothing_submitted")
        _mark_submitted(assignment, timezone.now())
    return assignment


def clip_send_back(*, dataset: Dataset, clip_ids: list[int], kind: str) -> int:
    """Ask for fresh ``kind`` labels on clips (e.g. clips whose annotators disagree).

    The clips' submitted assignments of that kind stop counting toward the quota, so the queue
    hands each clip to as many new annotators as the quota asks. Their raw labels stay: the next
    aggregation sees the old and the new labels. Those annotators are never handed it again.
    Returns how many assignments were sent back.
    """
    if kind not in QUOTAS:
        raise DomainError(f"Unknown kind {kind!r}.", code="unknown_kind")
    ids = sorted({int(c) for c in clip_ids})
    if not ids:
        raise DomainError("Name at least one clip.", code="empty_submission")
    found = set(Clip.objects.filter(dataset=dataset, pk__in=ids).values_list("pk", flat=True))
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFoundError(f"Clip(s) {missing[:20]} are not in {dataset.name}.", code="clip_not_found")
    with transaction.atomic():
        clips_lock(clip_ids=ids)
        updated = Assignment.objects.filter(clip_id__in=ids, kind=kind,
                                            state=Assignment.State.SUBMITTED).exclude(
            item_ref=SENT_BACK).update(item_ref=SENT_BACK)
    logger.info("queue.sent_back", extra={"dataset_id": dataset.pk, "clips": len(ids), "kind": kind})
    return updated


def queue_progress(*, dataset: Dataset) -> dict[str, dict]:
    """Per kind: clips, clips complete, clips in progress, submitted assignments, live leases."""
    now = timezone.now()
    n_clips = Clip.objects.filter(dataset=dataset).filter(_has_media()).count()
    out = {}
    rows = (
        Assignment.objects.filter(clip__dataset=dataset).exclude(item_ref=SENT_BACK)
        .values("kind", "clip_id")
        .annotate(submitted=Count("pk", filter=Q(state=Assignment.State.SUBMITTED)),
                  leased=Count("pk", filter=Q(state=Assignment.State.LEASED, lease_expires_at__gt=now)))
    )
    per_kind: dict[str, list] = {k: [] for k in kinds_for_dataset(dataset)}
    for row in rows:
        per_kind.setdefault(row["kind"], []).append(row)
    for kind, clip_rows in per_kind.items():
        quota = QUOTAS[kind]
        complete = sum(1 for r in clip_rows if r["submitted"] >= quota)
        started = sum(1 for r in clip_rows if 0 < r["submitted"] < quota or r["leased"])
        out[kind] = {
            "quota": quota,
            "clips": n_clips,
            "complete": complete,
            "in_progress": started,
            "submitted": sum(r["submitted"] for r in clip_rows),
            "leased": sum(r["leased"] for r in clip_rows),
            "completion": (complete / n_clips) if n_clips else 0.0,
        }
    return out


def queue_open_count(*, user, dataset: Dataset, kind: str) -> int:
    """How many items of ``kind`` the user could still be handed (for the home page)."""
    now = timezone.now()
    return candidate_clips(user=user, dataset=dataset, kind=kind, now=now).order_by().count()
