"""Row locks for the annotation app, always taken in one fixed order.

Order: annotator (advisory) -> dataset -> clip -> repetition. Every read-modify-write that
touches more than one of these takes them in that order, inside a short ``transaction.atomic()``,
so two transactions can never wait on each other in a cycle.

- ``annotator_lock`` serialises one annotator's own queue requests (a double-clicked "next"
  must not lease two items). On PostgreSQL it is a transaction-scoped advisory lock, which
  blocks no row anyone else reads or writes; SQLite serialises writers anyway.
- ``clip_lock_first_free`` is the work-queue primitive: ``SELECT ... FOR UPDATE SKIP LOCKED
  LIMIT 1`` over an ordered candidate query, so fifty annotators asking at once each get a
  different clip instead of queueing behind the first.

Every helper must run inside ``transaction.atomic()``; the locks end with the transaction.
"""
from django.db import connection, transaction
from django.db.models import QuerySet

from datasets.models import Clip, Dataset, Repetition

# First key of the two-int advisory lock: a namespace, so our locks never collide with another
# app's advisory locks on the same user id.
_ANNOTATOR_LOCK_NAMESPACE = 0x464C  # "FL"


def _require_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Lock helpers must be called inside transaction.atomic().")


def supports_skip_locked() -> bool:
    return bool(connection.features.has_select_for_update_skip_locked)


def annotator_lock(*, user_id: int) -> None:
    """Serialise one annotator's queue operations until the transaction ends."""
    _require_atomic()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ANNOTATOR_LOCK_NAMESPACE, int(user_id)])
    # SQLite: the settings open every transaction IMMEDIATE, so this transaction already holds
    # the database's single write lock.


def dataset_lock(*, dataset_id: int) -> Dataset:
    _require_atomic()
    return Dataset.objects.select_for_update().get(pk=dataset_id)


def clip_lock(*, clip_id: int) -> Clip:
    _require_atomic()
    return Clip.objects.select_for_update(of=_of_self()).get(pk=clip_id)


def clips_lock(*, clip_ids) -> list[Clip]:
    """Lock several clips, in id order (the fixed order within one level)."""
    _require_atomic()
    return list(Clip.objects.select_for_update(of=_of_self()).filter(pk__in=list(clip_ids)).order_by("pk"))


def clip_lock_first_free(*, candidates: QuerySet) -> Clip | None:
    """Lock and return the first clip of the ordered ``candidates`` that no one else holds locked.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED LIMIT 1``. The row is locked after the ordering and
    filtering are evaluated, so the caller must re-check its conditions under the lock.
    When every candidate is locked at this instant, it waits for the best one instead of
    answering "none left". SQLite has no row locks: the first candidate is returned (the
    transaction already holds the write lock, so nobody else is between the read and the write).
    """
    _require_atomic()
    if not supports_skip_locked():
        return candidates.first()
    clip = candidates.select_for_update(skip_locked=True, of=_of_self()).first()
    if clip is not None:
        return clip
    # Every candidate is locked by someone else's (short) transaction right now. That is not
    # "nothing left": wait for the best candidate's lock instead of answering empty.
    first = candidates.values_list("pk", flat=True).first()
    if first is None:
        return None
    return clip_lock(clip_id=first)


def repetitions_lock(*, clip_id: int) -> list[Repetition]:
    _require_atomic()
    return list(Repetition.objects.select_for_update(of=_of_self()).filter(clip_id=clip_id).order_by("index"))


def _of_self() -> tuple[str, ...]:
    # "FOR UPDATE OF <table>" keeps joined rows (exercise, dataset) unlocked on PostgreSQL.
    return ("self",) if connection.features.has_select_for_update_of else ()
