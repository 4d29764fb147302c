"""Leasing items: next, release (skip), complete, and reading one's own assignment."""
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from annotation.lock_objects import annotator_lock
from annotation.models import Assignment, SeverityVote
from annotation.services.queue.candidates import lock_breadth_first, lock_by_uncertainty, uncertainty_ranking
from annotation.services.queue.rules import QUOTAS, RELEASED, SENT_BACK, Kind, check_may_take
from annotation.services.queue.sql import lease_if_open, live_leases
from config.exceptions import ConflictError, DomainError, NotFoundError
from datasets.models import Clip, Dataset

logger = logging.getLogger("annotation.services.queue")

# How many locked-then-rejected candidates one request tries before giving up. A rejection
# only happens when another transaction filled the clip between our read and our lock.
_MAX_ATTEMPTS = 8


def _stage1_complete(clip: Clip) -> bool:
    """A FLEX sample goes to stage 2 reviewers only once stage 1 has its quota of sets."""
    stage1 = Assignment.objects.filter(clip=clip, kind=Kind.FLEX_STAGE1, state=Assignment.State.SUBMITTED)
    return stage1.exclude(item_ref=SENT_BACK).count() >= QUOTAS[Kind.FLEX_STAGE1]


def _held_lease(*, user, dataset: Dataset, kind: str, now) -> Assignment | None:
    # The dataset is checked here, not in SQL: filtering on the clip's dataset lets the planner
    # start from the dataset's clips (it does, on a freshly imported dataset whose statistics
    # are not gathered yet) and probe each one, thousands of probes per request. An annotator
    # holds at most a few live leases of a kind, so reading them all is one short index scan.
    for assignment_id, dataset_id in live_leases(user_id=user.pk, kind=kind, now=now):
        if dataset_id == dataset.pk:
            return Assignment.objects.select_related("clip", "clip__exercise").get(pk=assignment_id)
    return None


def _finished_elsewhere(assignment: Assignment) -> bool:
    """A severity lease whose votes are stored is done even if nobody marked it submitted."""
    return assignment.kind == Kind.SEVERITY and SeverityVote.objects.filter(
        annotator_id=assignment.annotator_id, repetition__clip_id=assignment.clip_id).exists()


def queue_next(*, user, dataset: Dataset, kind: str) -> Assignment | None:
    """Lease the next ``kind`` item of ``dataset`` to ``user``, or return None when none is left.

    Idempotent: while the user holds a valid lease of this kind in this dataset, that lease is
    renewed and returned again. Locks: the annotator (advisory), then one clip (SKIP LOCKED).
    """
    check_may_take(user=user, dataset=dataset, kind=kind)
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
        ranking = (uncertainty_ranking(dataset=dataset, kind=kind)
                   if dataset.queue_order == Dataset.QueueOrder.UNCERTAINTY_FIRST else None)
        rejected: list[int] = []
        for _attempt in range(_MAX_ATTEMPTS):
            if ranking:
                clip = lock_by_uncertainty(user=user, dataset=dataset, kind=kind, now=now, rejected=rejected,
                                            ranking=ranking)
            else:
                clip = lock_breadth_first(user=user, dataset=dataset, kind=kind, now=now, rejected=rejected)
            if clip is None:
                return None
            # Re-checked under the clip's lock: the lease is written only if the clip has room.
            assignment = None
            if kind != Kind.FLEX_STAGE2 or _stage1_complete(clip):
                assignment = _lease(user=user, clip=clip, kind=kind, now=now, expires=expires)
            if assignment is None:
                rejected.append(clip.pk)
                continue
            logger.info("queue.leased", extra={"assignment_id": assignment.pk, "clip_id": clip.pk,
                                               "kind": kind, "user_id": user.pk})
            return assignment
    return None


def _lease(*, user, clip: Clip, kind: str, now, expires) -> Assignment | None:
    """The user's lease on ``clip``, or None when the clip filled up meanwhile."""
    written = lease_if_open(user=user, clip_id=clip.pk, kind=kind, quota=QUOTAS[kind], now=now, expires=expires)
    if written is None:
        return None
    assignment_id, created_at = written
    return Assignment(pk=assignment_id, annotator=user, clip=clip, kind=kind, state=Assignment.State.LEASED,
                      lease_expires_at=expires, item_ref="", created_at=created_at)


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


