"""FLEX two-stage annotation: stage-1 slot sets, stage-2 reviews, and a sample's state.

Rules enforced here (the views only translate HTTP):

- Stage 1: users with the annotator role (or curator/admin) holding a ``flex_stage1`` assignment
  for the clip submit one slot set each; at most three per sample. A stage-1 annotator never sees
  another annotator's set.
- Stage 2: users with the reviewer role (or curator/admin) holding a ``flex_stage2`` assignment
  review once stage 1 is complete (three sets), never a sample they annotated in stage 1; at most
  three reviews per sample. Each approves the proposal or sends a corrected set.
- The proposal and the final set follow :mod:`kg.core.two_stage` (per-slot majorities).

Submissions are idempotent by client key (``annotation.idempotency.idempotent_write``). Each
write locks the clip row first, then the user's assignment, so concurrent submissions for one
sample are counted one after the other.
"""
import logging

import numpy as np
from django.utils import timezone

from annotation.idempotency import idempotent_write
from annotation.models import Assignment
from annotation.roles import ADMIN, ANNOTATOR, CURATOR, REVIEWER, has_role, is_staff_role
from config.exceptions import ConflictError, DomainError, ForbiddenError
from datasets.models import Clip
from kg.core.scoring import UnknownSlots, resolve_slots, score_slots
from kg.core.two_stage import ANNOTATORS, REVIEWERS, Status, settle
from kg.models import FlexReview, FlexStage1Set
from kg.selectors import FlexSample, reviews_for_clip, stage1_sets_for_clip

logger = logging.getLogger(__name__)


def slots_canonical(*, sample: FlexSample, slots) -> list[str]:
    """Canonical keys of the named slots, in slot order; unknown names are a 400 that lists the
    action's valid slots."""
    try:
        positions = resolve_slots(sample.action, slots)
    except UnknownSlots as exc:
        raise DomainError(
            f"Unknown slot(s) for {sample.action.name}: {', '.join(exc.unknown)}. "
            f"Valid slots: {', '.join(exc.valid)}.",
            code="unknown_slot", fields={"slots": exc.unknown, "valid": exc.valid},
        ) from None
    return [sample.action.slots[p].key for p in positions]


def _check_lease(assignment: Assignment, now) -> None:
    if assignment.state == Assignment.State.LEASED and assignment.lease_expires_at \
            and assignment.lease_expires_at < now:
        raise ConflictError(
            f"Your lease on clip {assignment.clip_id} expired; take a new item from the queue.",
            code="lease_expired",
        )


def _take_assignment(*, user, clip, kind, stage_name) -> Assignment:
    assignment = Assignment.objects.select_for_update().filter(annotator=user, clip=clip, kind=kind).first()
    if assignment is None:
        raise ForbiddenError(f"You are not assigned clip {clip.pk} for FLEX {stage_name}.", code="not_assigned")
    if assignment.state == Assignment.State.SUBMITTED:
        raise ConflictError(f"You already submitted FLEX {stage_name} for clip {clip.pk}.",
                            code="already_submitted")
    _check_lease(assignment, timezone.now())
    return assignment


def _close(assignment: Assignment) -> None:
    assignment.state = Assignment.State.SUBMITTED
    assignment.submitted_at = timezone.now()
    assignment.save(update_fields=["state", "submitted_at"])


def _did_stage1(*, user, clip) -> bool:
    return (FlexStage1Set.objects.filter(clip=clip, annotator=user).exists()
            or Assignment.objects.filter(annotator=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE1).exists())


def stage1_submit(*, user, sample: FlexSample, client_key: str, slots: list[str]) -> tuple[dict, bool]:
    """Store one annotator's stage-1 slot set for a sample and close their assignment.

    Returns (response, replayed). Refuses: unknown slots (400), a user without the annotator role
    or without a ``flex_stage1`` assignment (403), a reviewer of this sample (403), a fourth set
    or a second set by the same annotator (409).
    """
    if not has_role(user, ANNOTATOR, CURATOR, ADMIN):
        raise ForbiddenError("Only annotators do FLEX stage 1.", code="forbidden_role")
    keys = slots_canonical(sample=sample, slots=slots)
    clip = sample.clip
    payload = {"clip": clip.pk, "slots": keys}

    def write():
        Clip.objects.select_for_update().filter(pk=clip.pk).first()
        if Assignment.objects.filter(annotator=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE2).exists() \
                or FlexReview.objects.filter(clip=clip, reviewer=user).exists():
            raise ForbiddenError("You review this sample in stage 2, so you cannot annotate it in stage 1.",
                                 code="own_work")
        assignment = _take_assignment(user=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE1, stage_name="stage 1")
        done = FlexStage1Set.objects.filter(clip=clip).count()
        if done >= ANNOTATORS:
            raise ConflictError(f"Clip {clip.pk} already has {ANNOTATORS} stage-1 sets.", code="stage1_complete")
        FlexStage1Set.objects.create(clip=clip, annotator=user, graph_version=sample.graph_version,
                                     slot_keys=keys, client_key=client_key)
        _close(assignment)
        return {"client_key": client_key, "clip": clip.pk, "stage": 1, "graph_version": sample.graph_version.number,
                "slots": keys, "stored": 1}

    result = idempotent_write(
        user=user, key=client_key, scope="flex_stage1", payload=payload, write=write,
        on_conflict=lambda: ConflictError("You already submitted stage 1 for this sample.", code="already_submitted"),
    )
    logger.info("kg.stage1_submitted", extra={"clip": clip.pk, "user": user.pk, "replayed": result[1]})
    return result


def _positions(sample: FlexSample, keys) -> list[int] | None:
    """Slot positions of stored keys; None when a key is not in the sample's graph version."""
    names = sample.action.names
    out = [names.get(k) for k in keys]
    return None if any(p is None for p in out) else out


def _keys(sample: FlexSample, positions) -> list[str]:
    return [sample.action.slots[p].key for p in sorted(positions)]


def sample_settle(*, sample: FlexSample, stage1_sets=None, reviews=None) -> dict:
    """The sample's state from its raw labels: counts, status, proposal, final and tied slots.

    ``status`` is one of stage1_open, stage2_open, tied, final, or graph_mismatch when a stored
    key is not a slot of the current graph version.
    """
    stage1_sets = stage1_sets_for_clip(clip=sample.clip) if stage1_sets is None else stage1_sets
    reviews = reviews_for_clip(clip=sample.clip) if reviews is None else reviews
    n_slots = len(sample.action.slots)
    s1 = [_positions(sample, s.slot_keys) for s in stage1_sets[:ANNOTATORS]]
    rv = [_positions(sample, r.slot_keys) for r in reviews[:REVIEWERS]]
    state = {"stage1_count": len(stage1_sets), "review_count": len(reviews), "proposal": None, "final": None,
             "tied": [], "status": None}
    if any(p is None for p in s1 + rv):
        state["status"] = "graph_mismatch"
        return state
    a = np.zeros((1, ANNOTATORS, n_slots), dtype=bool)
    for i, positions in enumerate(s1):
        a[0, i, positions] = True
    r = np.zeros((1, REVIEWERS, n_slots), dtype=bool)
    for i, positions in enumerate(rv):
        r[0, i, positions] = True
    result = settle(a, [len(s1)], r, [len(rv)], np.ones((1, n_slots), dtype=bool))
    status = int(result.status[0])
    state["status"] = Status.NAMES[status]
    if status != Status.STAGE1_OPEN:
        state["proposal"] = _keys(sample, np.flatnonzero(result.proposal[0]))
    if status == Status.FINAL:
        state["final"] = _keys(sample, np.flatnonzero(result.final[0]))
    state["tied"] = _keys(sample, np.flatnonzero(result.tied[0]))
    return state


def stage2_submit(*, user, sample: FlexSample, client_key: str, approve: bool,
                  slots: list[str] | None) -> tuple[dict, bool]:
    """Store one reviewer's decision on a sample and close their assignment.

    ``approve=True`` accepts the stage-1 proposal (``slots`` may be omitted or must equal it);
    ``approve=False`` sends the corrected set in ``slots`` (which must differ from the proposal).
    Refuses: a user without the reviewer role or without a ``flex_stage2`` assignment (403), a
    stage-1 annotator of this sample (403), stage 1 incomplete (409), a fourth review (409).
    """
    if not has_role(user, REVIEWER, CURATOR, ADMIN):
        raise ForbiddenError("Only reviewers do FLEX stage 2.", code="forbidden_role")
    if not approve and slots is None:
        raise DomainError("Send the corrected slot set in 'slots', or approve the proposal.",
                          code="slots_required", fields={"slots": ["Required when approve is false."]})
    keys = None if slots is None else slots_canonical(sample=sample, slots=slots)
    clip = sample.clip
    payload = {"clip": clip.pk, "approve": bool(approve), "slots": keys}

    def write():
        Clip.objects.select_for_update().filter(pk=clip.pk).first()
        if _did_stage1(user=user, clip=clip):
            raise ForbiddenError("You annotated this sample in stage 1; reviewers never review their own work.",
                                 code="own_work")
        assignment = _take_assignment(user=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE2, stage_name="stage 2")
        stage1 = stage1_sets_for_clip(clip=clip)
        reviews = reviews_for_clip(clip=clip)
        if len(stage1) < ANNOTATORS:
            raise ConflictError(f"Stage 1 of clip {clip.pk} is not complete ({len(stage1)} of {ANNOTATORS} sets).",
                                code="stage1_incomplete")
        if len(reviews) >= REVIEWERS:
            raise ConflictError(f"Clip {clip.pk} already has {REVIEWERS} reviews.", code="stage2_complete")
        state = sample_settle(sample=sample, stage1_sets=stage1, reviews=reviews)
        if state["status"] == "graph_mismatch":
            raise ConflictError("The stage-1 sets name slots the current graph version lacks.", code="graph_changed")
        proposal = state["proposal"]
        if approve and keys is not None and keys != proposal:
            raise DomainError("An approval must keep the proposal; send approve: false with your corrections.",
                              code="approve_with_changes")
        if not approve and keys == proposal:
            raise DomainError("The slots equal the proposal; send approve: true instead.", code="no_correction")
        effective = proposal if approve else keys
        review = FlexReview.objects.create(clip=clip, reviewer=user, graph_version=sample.graph_version,
                                           approve=bool(approve), slot_keys=effective, proposal_keys=proposal,
                                           client_key=client_key)
        _close(assignment)
        after = sample_settle(sample=sample, stage1_sets=stage1, reviews=reviews + [review])
        return {"client_key": client_key, "clip": clip.pk, "stage": 2, "graph_version": sample.graph_version.number,
                "approve": bool(approve), "slots": effective, "stored": 1, "review_count": after["review_count"],
                "status": after["status"]}

    result = idempotent_write(
        user=user, key=client_key, scope="flex_stage2", payload=payload, write=write,
        on_conflict=lambda: ConflictError("You already reviewed this sample.", code="already_submitted"),
    )
    logger.info("kg.stage2_submitted", extra={"clip": clip.pk, "user": user.pk, "replayed": result[1]})
    return result


def _scored(sample: FlexSample, keys) -> dict:
    result = score_slots(sample.action, keys)
    return {"slots": list(keys), "penalty": result.penalty, "total": result.total, "score": round(result.score, 2)}


def review_view(*, user, sample: FlexSample) -> dict:
    """What a reviewer sees: the three stage-1 sets side by side (anonymised as A, B, C in the
    order they came in), per-slot vote counts, and the proposal with its score.

    Refuses a stage-1 annotator of the sample (blind rule) and, for reviewers, anyone without a
    ``flex_stage2`` assignment or a sample whose stage 1 is incomplete.
    """
    staff = is_staff_role(user)
    if not staff:
        if not has_role(user, REVIEWER):
            raise ForbiddenError("Only reviewers see the stage-1 sets.", code="forbidden_role")
        if _did_stage1(user=user, clip=sample.clip):
            raise ForbiddenError("You annotated this sample in stage 1; you cannot see the other sets.",
                                 code="own_work")
        if not Assignment.objects.filter(annotator=user, clip=sample.clip, kind=Assignment.Kind.FLEX_STAGE2).exists():
            raise ForbiddenError(f"You are not assigned clip {sample.clip.pk} for FLEX stage 2.", code="not_assigned")
    stage1 = stage1_sets_for_clip(clip=sample.clip)
    reviews = reviews_for_clip(clip=sample.clip)
    if len(stage1) < ANNOTATORS and not staff:
        raise ConflictError(f"Stage 1 of clip {sample.clip.pk} is not complete ({len(stage1)} of {ANNOTATORS} sets).",
                            code="stage1_incomplete")
    state = sample_settle(sample=sample, stage1_sets=stage1, reviews=reviews)
    votes: dict[str, int] = {}
    for s in stage1[:ANNOTATORS]:
        for key in s.slot_keys:
            votes[key] = votes.get(key, 0) + 1
    mine = next((r for r in reviews if r.reviewer_id == user.pk), None)
    return {
        "clip": sample.clip.pk,
        "action": {"id": sample.db_action.pk, "code": sample.action.code, "name": sample.action.name},
        "graph_version": sample.graph_version.number,
        "stage1": [dict(_scored(sample, s.slot_keys), label="ABC"[i], created_at=s.created_at)
                   for i, s in enumerate(stage1[:ANNOTATORS]) if _positions(sample, s.slot_keys) is not None],
        "votes": [{"slot": key, "votes": votes[key]} for key in sample.action.keys if key in votes],
        "proposal": _scored(sample, state["proposal"]) if state["proposal"] is not None else None,
        "review_count": len(reviews),
        "status": state["status"],
        "my_review": None if mine is None else {"approve": mine.approve, "slots": mine.slot_keys,
                                                 "created_at": mine.created_at},
    }


def sample_view(*, user, sample: FlexSample) -> dict:
    """A sample's state for its viewer. Annotators and reviewers see only their own work and the
    counts; curators and admins also get ``labels``: every set, the proposal, the final set and
    its score."""
    stage1 = stage1_sets_for_clip(clip=sample.clip)
    reviews = reviews_for_clip(clip=sample.clip)
    state = sample_settle(sample=sample, stage1_sets=stage1, reviews=reviews)
    mine1 = next((s for s in stage1 if s.annotator_id == user.pk), None)
    mine2 = next((r for r in reviews if r.reviewer_id == user.pk), None)
    view = {
        "clip": sample.clip.pk,
        "dataset": sample.clip.dataset_id,
        "action": {"id": sample.db_action.pk, "code": sample.action.code, "name": sample.action.name},
        "graph_version": sample.graph_version.number,
        "status": state["status"],
        "stage1_count": state["stage1_count"],
        "review_count": state["review_count"],
        "my_stage1": None if mine1 is None else {"slots": mine1.slot_keys, "created_at": mine1.created_at},
        "my_review": None if mine2 is None else {"approve": mine2.approve, "slots": mine2.slot_keys,
                                                  "created_at": mine2.created_at},
    }
    if is_staff_role(user):
        view["labels"] = {
            "stage1": [{"annotator": s.annotator_id, "slots": s.slot_keys, "created_at": s.created_at} for s in stage1],
            "reviews": [{"reviewer": r.reviewer_id, "approve": r.approve, "slots": r.slot_keys,
                         "created_at": r.created_at} for r in reviews],
            "proposal": state["proposal"],
            "final": state["final"],
            "tied": state["tied"],
            "score": _scored(sample, state["final"]) if state["final"] is not None else None,
        }
    return view
