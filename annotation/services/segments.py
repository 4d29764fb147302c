"""Error time segments (Fitness-AQA) and timestamped coaching feedback (QEVD): writes and reads.

Both are labelled under an assignment of their kind (``segments`` / ``feedback``) taken from the
work queue. While the lease is open the annotator may add, edit and delete their own rows; a
final ``*_submit`` replaces their rows on the clip with the list the page holds and closes the
assignment, in one transaction, idempotent by client key (the browser keeps the list as a draft
and resends it after a reload or a dropped connection). After that the rows are frozen.

Feedback text is plain text: stored as typed (stripped, control characters removed) and escaped
by every page that shows it; it is never interpreted as HTML or markup.

Annotators read only their own rows; curators and admins read everyone's.
"""
import re

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from annotation.idempotency import idempotent_write
from annotation.lock_objects import clip_lock
from annotation.models import Assignment, ErrorSegment, FeedbackNote
from annotation.roles import is_staff_role
from config.exceptions import ConflictError, DomainError, ForbiddenError, NotFoundError
from datasets.models import Clip, ErrorType

MAX_ROWS_PER_CLIP = 500
MAX_TEXT = 2000
# Control characters other than tab and newline have no place in a coaching line.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---------------------------------------------------------------- reads

def segment_list_for_user(*, user, clip: Clip, annotator_id: int | None = None) -> QuerySet:
    qs = ErrorSegment.objects.filter(clip=clip).select_related("error_type")
    if not is_staff_role(user):
        qs = qs.filter(annotator=user)
    elif annotator_id is not None:
        qs = qs.filter(annotator_id=annotator_id)
    return qs.order_by("annotator_id", "start_frame", "end_frame", "pk")


def feedback_list_for_user(*, user, clip: Clip, annotator_id: int | None = None) -> QuerySet:
    qs = FeedbackNote.objects.filter(clip=clip)
    if not is_staff_role(user):
        qs = qs.filter(annotator=user)
    elif annotator_id is not None:
        qs = qs.filter(annotator_id=annotator_id)
    return qs.order_by("annotator_id", "frame", "pk")


def segment_get_for_user(*, user, clip: Clip, segment_id) -> ErrorSegment:
    try:
        return segment_list_for_user(user=user, clip=clip).get(pk=segment_id)
    except (ErrorSegment.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Segment {segment_id} not found.", code="segment_not_found") from None


def feedback_get_for_user(*, user, clip: Clip, note_id) -> FeedbackNote:
    try:
        return feedback_list_for_user(user=user, clip=clip).get(pk=note_id)
    except (FeedbackNote.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Feedback note {note_id} not found.", code="feedback_not_found") from None


# ---------------------------------------------------------------- checks

def _open_assignment(*, user, clip: Clip, kind: str, lock: bool = False) -> Assignment:
    qs = Assignment.objects.filter(annotator=user, clip=clip, kind=kind)
    if lock:
        qs = qs.select_for_update()
    assignment = qs.first()
    if assignment is None:
        raise ForbiddenError(f"You are not assigned clip {clip.pk} for {kind}.", code="not_assigned")
    if assignment.state == Assignment.State.SUBMITTED:
        raise ConflictError(f"You already submitted {kind} for clip {clip.pk}.", code="already_submitted")
    if assignment.lease_expires_at and assignment.lease_expires_at < timezone.now():
        raise ConflictError(
            f"Your lease on clip {clip.pk} expired; take a new item from the queue.", code="lease_expired")
    return assignment


def _frame(value, *, clip: Clip, name: str) -> int:
    frame = int(value)
    if frame < 0 or frame >= clip.frame_count:
        raise DomainError(f"{name} {frame} lies outside the clip (0..{clip.frame_count - 1}).",
                          code="frame_out_of_range", fields={name: [f"0..{clip.frame_count - 1}"]})
    return frame


def _clean_segment(item: dict, *, clip: Clip, error_types: dict[int, ErrorType]) -> dict:
    start = _frame(item["start_frame"], clip=clip, name="start_frame")
    end = _frame(item["end_frame"], clip=clip, name="end_frame")
    if end < start:
        raise DomainError(f"The segment ends ({end}) before it starts ({start}).", code="segment_reversed")
    error_type = int(item["error_type"])
    if error_type not in error_types:
        raise DomainError(f"Error type {error_type} does not belong to the clip's exercise.",
                          code="error_type_mismatch")
    return {"error_type": error_type, "start_frame": start, "end_frame": end}


def _exercise_error_types(clip: Clip) -> dict[int, ErrorType]:
    return {e.pk: e for e in ErrorType.objects.filter(exercise_id=clip.exercise_id)}


def clean_text(text: str) -> str:
    cleaned = _CONTROL.sub("", str(text)).strip()
    if not cleaned:
        raise DomainError("Write the feedback line.", code="empty_text")
    if len(cleaned) > MAX_TEXT:
        raise DomainError(f"At most {MAX_TEXT} characters.", code="text_too_long")
    return cleaned


def _clean_note(item: dict, *, clip: Clip) -> dict:
    return {"frame": _frame(item["frame"], clip=clip, name="frame"), "text": clean_text(item["text"])}


def _segment_out(s: ErrorSegment) -> dict:
    return {"id": s.pk, "error_type": s.error_type_id, "start_frame": s.start_frame, "end_frame": s.end_frame}


def _note_out(n: FeedbackNote) -> dict:
    return {"id": n.pk, "frame": n.frame, "text": n.text}


# ---------------------------------------------------------------- segments

def segment_create(*, user, clip: Clip, client_key: str, error_type: int, start_frame: int,
                   end_frame: int) -> tuple[dict, bool]:
    """Add one segment under an open ``segments`` lease. Idempotent by ``client_key``."""
    item = _clean_segment({"error_type": error_type, "start_frame": start_frame, "end_frame": end_frame},
                          clip=clip, error_types=_exercise_error_types(clip))

    def write():
        clip_lock(clip_id=clip.pk)
        _open_assignment(user=user, clip=clip, kind=Assignment.Kind.SEGMENTS, lock=True)
        if ErrorSegment.objects.filter(clip=clip, annotator=user).count() >= MAX_ROWS_PER_CLIP:
            raise DomainError(f"At most {MAX_ROWS_PER_CLIP} segments per clip.", code="too_many_rows")
        segment = ErrorSegment.objects.create(clip=clip, annotator=user, client_key=client_key,
                                              error_type_id=item["error_type"], start_frame=item["start_frame"],
                                              end_frame=item["end_frame"])
        return {"client_key": client_key, "stored": 1, "segment": _segment_out(segment)}

    return idempotent_write(user=user, key=client_key, scope="segment_create",
                            payload={"clip": clip.pk, **item}, write=write,
                            on_conflict=lambda: ConflictError("Segment conflict.", code="segment_conflict"))


def segment_update(*, user, segment: ErrorSegment, error_type: int | None = None,
                   start_frame: int | None = None, end_frame: int | None = None) -> ErrorSegment:
    """Edit one of your segments while its lease is open. Names the fields it writes."""
    clip = segment.clip
    if segment.annotator_id != user.pk:
        raise ForbiddenError("You may edit only your own segments.", code="not_owner")
    item = _clean_segment({
        "error_type": segment.error_type_id if error_type is None else error_type,
        "start_frame": segment.start_frame if start_frame is None else start_frame,
        "end_frame": segment.end_frame if end_frame is None else end_frame,
    }, clip=clip, error_types=_exercise_error_types(clip))
    with transaction.atomic():
        clip_lock(clip_id=clip.pk)
        _open_assignment(user=user, clip=clip, kind=Assignment.Kind.SEGMENTS, lock=True)
        segment.error_type_id = item["error_type"]
        segment.start_frame = item["start_frame"]
        segment.end_frame = item["end_frame"]
        segment.save(update_fields=["error_type", "start_frame", "end_frame"])
    return segment


def segment_delete(*, user, segment: ErrorSegment) -> None:
    clip = segment.clip
    if segment.annotator_id != user.pk:
        raise ForbiddenError("You may delete only your own segments.", code="not_owner")
    with transaction.atomic():
        clip_lock(clip_id=clip.pk)
        _open_assignment(user=user, clip=clip, kind=Assignment.Kind.SEGMENTS, lock=True)
        segment.delete()


def segments_submit(*, user, clip: Clip, client_key: str, segments: list[dict]) -> tuple[dict, bool]:
    """Replace your segments on ``clip`` with ``segments`` and close the assignment.

    An empty list is a valid answer ("no error seen"). Idempotent by ``client_key``.
    """
    if len(segments) > MAX_ROWS_PER_CLIP:
        raise DomainError(f"At most {MAX_ROWS_PER_CLIP} segments per clip.", code="too_many_rows")
    error_types = _exercise_error_types(clip)
    items = sorted((_clean_segment(s, clip=clip, error_types=error_types) for s in segments),
                   key=lambda s: (s["start_frame"], s["end_frame"], s["error_type"]))
    keys = [(s["error_type"], s["start_frame"], s["end_frame"]) for s in items]
    if len(set(keys)) != len(keys):
        raise DomainError("The same segment appears twice.", code="duplicate_in_request")

    def write():
        clip_lock(clip_id=clip.pk)
        assignment = _open_assignment(user=user, clip=clip, kind=Assignment.Kind.SEGMENTS, lock=True)
        ErrorSegment.objects.filter(clip=clip, annotator=user).delete()
        ErrorSegment.objects.bulk_create(
            ErrorSegment(clip=clip, annotator=user, client_key=client_key, **{
                "error_type_id": s["error_type"], "start_frame": s["start_frame"], "end_frame": s["end_frame"]})
            for s in items
        )
        _close(assignment)
        return {"client_key": client_key, "clip": clip.pk, "stored": len(items)}

    return idempotent_write(user=user, key=client_key, scope="segments_submit",
                            payload={"clip": clip.pk, "segments": items}, write=write,
                            on_conflict=lambda: ConflictError("Segments conflict.", code="segment_conflict"))


# ---------------------------------------------------------------- feedback notes

def feedback_create(*, user, clip: Clip, client_key: str, frame: int, text: str) -> tuple[dict, bool]:
    """Add one coaching line at a frame under an open ``feedback`` lease. Idempotent by key."""
    item = _clean_note({"frame": frame, "text": text}, clip=clip)

    def write():
        clip_lock(clip_id=clip.pk)
        _open_assignment(user=user, clip=clip, kind=Assignment.Kind.FEEDBACK, lock=True)
        if FeedbackNote.objects.filter(clip=clip, annotator=user).count() >= MAX_ROWS_PER_CLIP:
            raise DomainError(f"At most {MAX_ROWS_PER_CLIP} notes per clip.", code="too_many_rows")
        note = FeedbackNote.objects.create(clip=clip, annotator=user, client_key=client_key, **item)
        return {"client_key": client_key, "stored": 1, "note": _note_out(note)}

    return idempotent_write(user=user, key=client_key, scope="feedback_create",
                            payload={"clip": clip.pk, **item}, write=write,
                            on_conflict=lambda: ConflictError("Feedback conflict.", code="feedback_conflict"))


def feedback_update(*, user, note: FeedbackNote, frame: int | None = None, text: str | None = None) -> FeedbackNote:
    clip = note.clip
    if note.annotator_id != user.pk:
        raise ForbiddenError("You may edit only your own notes.", code="not_owner")
    item = _clean_note({"frame": note.frame if frame is None else frame,
                        "text": note.text if text is None else text}, clip=clip)
    with transaction.atomic():
        clip_lock(clip_id=clip.pk)
        _open_assignment(user=user, clip=clip, kind=Assignment.Kind.FEEDBACK, lock=True)
        note.frame = item["frame"]
        note.text = item["text"]
        note.save(update_fields=["frame", "text"])
    return note


def feedback_delete(*, user, note: FeedbackNote) -> None:
    clip = note.clip
    if note.annotator_id != user.pk:
        raise ForbiddenError("You may delete only your own notes.", code="not_owner")
    with transaction.atomic():
        clip_lock(clip_id=clip.pk)
        _open_assignment(user=user, clip=clip, kind=Assignment.Kind.FEEDBACK, lock=True)
        note.delete()


def feedback_submit(*, user, clip: Clip, client_key: str, notes: list[dict]) -> tuple[dict, bool]:
    """Replace your feedback notes on ``clip`` with ``notes`` and close the assignment. Idempotent."""
    if len(notes) > MAX_ROWS_PER_CLIP:
        raise DomainError(f"At most {MAX_ROWS_PER_CLIP} notes per clip.", code="too_many_rows")
    items = sorted((_clean_note(n, clip=clip) for n in notes), key=lambda n: (n["frame"], n["text"]))

    def write():
        clip_lock(clip_id=clip.pk)
        assignment = _open_assignment(user=user, clip=clip, kind=Assignment.Kind.FEEDBACK, lock=True)
        FeedbackNote.objects.filter(clip=clip, annotator=user).delete()
        FeedbackNote.objects.bulk_create(
            FeedbackNote(clip=clip, annotator=user, client_key=client_key, **n) for n in items)
        _close(assignment)
        return {"client_key": client_key, "clip": clip.pk, "stored": len(items)}

    return idempotent_write(user=user, key=client_key, scope="feedback_submit",
                            payload={"clip": clip.pk, "notes": items}, write=write,
                            on_conflict=lambda: ConflictError("Feedback conflict.", code="feedback_conflict"))


def _close(assignment: Assignment) -> None:
    assignment.state = Assignment.State.SUBMITTED
    assignment.submitted_at = timezone.now()
    assignment.save(update_fields=["state", "submitted_at"])
