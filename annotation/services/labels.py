"""Submitting raw labels: severity votes and repetition end points."""
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from annotation.idempotency import idempotent_write
from annotation.services import vote_sql
from annotation.models import Assignment, EndPointMark
from config.exceptions import ConflictError, DomainError, ForbiddenError
from datasets.models import Clip

MAX_MARKS_PER_CLIP = 2000


def _check_lease(assignment, now) -> None:
    """``assignment``: an Assignment, or anything with its clip_id, state and lease_expires_at."""
    if assignment.state == Assignment.State.LEASED and assignment.lease_expires_at and assignment.lease_expires_at < now:
        raise ConflictError(
            f"Your lease on clip {assignment.clip_id} expired at {assignment.lease_expires_at:%Y-%m-%d %H:%M:%S}Z; "
            "take a new item from the queue.",
            code="lease_expired",
        )


def vote_submit(*, user, client_key: str, votes: list[dict]) -> tuple[dict, bool]:
    """Store a batch of severity votes (each: repetition id, error type id, value 0..3).

    Checks every vote before writing any: the repetition exists and its clip is assigned to the
    user for severity voting, the error type belongs to the clip's exercise, no vote is repeated.
    Idempotent by ``client_key``. Returns (response, replayed).

    This is the hottest write path (every annotator, every few seconds), so it costs one read
    (each pair's repetition, clip, the user's assignment and the error type, in one statement)
    and the inserts (votes; the idempotency record and its audit entry), and leaves "already
    voted" to the database's unique constraint instead of a lookup.
    """
    if not votes:
        raise DomainError("Send at least one vote.", code="empty_submission")
    pairs = [(v["repetition"], v["error_type"]) for v in votes]
    if len(set(pairs)) != len(pairs):
        raise DomainError("The same (repetition, error type) appears twice.", code="duplicate_in_request")
    payload = sorted((r, e, v["value"]) for (r, e), v in zip(pairs, votes))

    def write():
        checks = [_VoteCheck(*row) for row in vote_sql.vote_check_rows(user_id=user.pk, pairs=pairs)]
        not_held = sorted({c.repetition for c in checks if c.clip_id is None or c.state is None})
        if not_held:
            raise ForbiddenError(f"You are not assigned repetition(s) {not_held} for severity voting.",
                                 code="not_assigned")
        now = timezone.now()
        for check in checks:
            _check_lease(check, now)
        wrong = sorted({c.error_type for c in checks if c.error_type_exercise_id != c.exercise_id})
        if wrong:
            raise DomainError(f"Error type(s) {wrong} do not belong to the clip's exercise.",
                              code="error_type_mismatch")
        vote_sql.votes_insert(rows=[(r, e, v["value"]) for (r, e), v in zip(pairs, votes)],
                              annotator_id=user.pk, client_key=client_key, created_at=now)
        datasets = {c.dataset_id for c in checks}
        return {"client_key": client_key, "stored": len(pairs),
                "dataset": datasets.pop() if len(datasets) == 1 else None}

    return idempotent_write(
        user=user, key=client_key, scope="votes", payload=payload, write=write,
        on_conflict=lambda: ConflictError("You already voted on a (repetition, error type) of this batch.",
                                          code="vote_exists"),
    )


class _VoteCheck(NamedTuple):
    """What ``vote_sql.vote_check_rows`` reads for one (repetition, error type) pair."""
    repetition: int
    error_type: int
    clip_id: int | None  # None: no such repetition
    exercise_id: int | None
    dataset_id: int | None
    state: str | None  # of the user's severity assignment on the clip; None: not assigned
    lease_expires_at: datetime | None
    error_type_exercise_id: int | None  # None: no such error type


def end_points_submit(*, user, clip: Clip, client_key: str, frames: list[int]) -> tuple[dict, bool]:
    """Store one annotator's repetition end frames for a clip, all at once, and close the assignment."""
    frames = sorted(int(f) for f in frames)
    if len(frames) > MAX_MARKS_PER_CLIP:
        raise DomainError(f"At most {MAX_MARKS_PER_CLIP} marks per clip.", code="too_many_marks")
    if len(set(frames)) != len(frames):
        raise DomainError("A frame is marked twice.", code="duplicate_in_request")
    bad = [f for f in frames if f < 0 or f >= clip.frame_count]
    if bad:
        raise DomainError(f"Frame(s) {bad[:10]} lie outside the clip (0..{clip.frame_count - 1}).",
                          code="frame_out_of_range")
    payload = {"clip": clip.pk, "frames": frames}

    def write():
        assignment = (
            Assignment.objects.select_for_update()
            .filter(annotator=user, clip=clip, kind=Assignment.Kind.ENDPOINTS).first()
        )
        if assignment is None:
            raise ForbiddenError(f"You are not assigned clip {clip.pk} for end points.", code="not_assigned")
        if assignment.state == Assignment.State.SUBMITTED:
            raise ConflictError(f"You already submitted end points for clip {clip.pk}.", code="already_submitted")
        now = timezone.now()
        _check_lease(assignment, now)
        EndPointMark.objects.bulk_create(
            EndPointMark(clip=clip, annotator=user, frame=f, client_key=client_key) for f in frames
        )
        assignment.state = Assignment.State.SUBMITTED
        assignment.submitted_at = now
        assignment.save(update_fields=["state", "submitted_at"])
        return {"client_key": client_key, "clip": clip.pk, "stored": len(frames)}

    return idempotent_write(
        user=user, key=client_key, scope="end_points", payload=payload, write=write,
        on_conflict=lambda: ConflictError("End points for this clip already exist.", code="already_submitted"),
    )
