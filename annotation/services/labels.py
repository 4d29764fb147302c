"""Submitting raw labels: severity votes and repetition end points."""
from django.utils import timezone

from annotation.idempotency import idempotent_write
from annotation.models import Assignment, EndPointMark, SeverityVote
from config.exceptions import ConflictError, DomainError, ForbiddenError
from datasets.models import Clip, ErrorType, Repetition

MAX_MARKS_PER_CLIP = 2000


def _held_assignments(*, user, clip_ids, kind) -> dict[int, Assignment]:
    rows = Assignment.objects.filter(annotator=user, clip_id__in=clip_ids, kind=kind)
    return {a.clip_id: a for a in rows}


def _check_lease(assignment: Assignment, now) -> None:
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
    """
    if not votes:
        raise DomainError("Send at least one vote.", code="empty_submission")
    pairs = [(v["repetition"], v["error_type"]) for v in votes]
    if len(set(pairs)) != len(pairs):
        raise DomainError("The same (repetition, error type) appears twice.", code="duplicate_in_request")
    payload = sorted((r, e, v["value"]) for (r, e), v in zip(pairs, votes))

    def write():
        rep_ids = {r for r, _ in pairs}
        reps = {r.pk: r for r in Repetition.objects.filter(pk__in=rep_ids).select_related("clip")}
        missing = sorted(rep_ids - set(reps))
        held = _held_assignments(user=user, clip_ids={r.clip_id for r in reps.values()},
                                 kind=Assignment.Kind.SEVERITY)
        not_held = sorted(r for r in rep_ids if r in reps and reps[r].clip_id not in held)
        if missing or not_held:
            raise ForbiddenError(
                f"You are not assigned repetition(s) {sorted(missing + not_held)} for severity voting.",
                code="not_assigned",
            )
        now = timezone.now()
        for assignment in held.values():
            _check_lease(assignment, now)
        et_ids = {e for _, e in pairs}
        et_exercise = dict(ErrorType.objects.filter(pk__in=et_ids).values_list("pk", "exercise_id"))
        wrong = sorted({e for r, e in pairs if et_exercise.get(e) != reps[r].clip.exercise_id})
        if wrong:
            raise DomainError(f"Error type(s) {wrong} do not belong to the clip's exercise.",
                              code="error_type_mismatch")
        existing = SeverityVote.objects.filter(
            annotator=user, repetition_id__in=rep_ids, error_type_id__in=et_ids
        ).values_list("repetition_id", "error_type_id")
        clash = sorted(set(existing) & set(pairs))
        if clash:
            raise ConflictError(f"You already voted on {clash}.", code="vote_exists")
        created = SeverityVote.objects.bulk_create(
            SeverityVote(repetition_id=r, error_type_id=e, annotator=user, value=v["value"], client_key=client_key)
            for (r, e), v in zip(pairs, votes)
        )
        return {"client_key": client_key, "stored": len(created)}

    return idempotent_write(
        user=user, key=client_key, scope="votes", payload=payload, write=write,
        on_conflict=lambda: ConflictError("A vote in this batch already exists.", code="vote_exists"),
    )


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
