"""Client-keyed idempotent writes, shared by every label submission.

A client sends a key with each submission. The first request with a key writes its labels and,
in the same transaction, the answer it gave. A retry with the same key and the same body gets
that answer again and writes nothing; the same key with a different body is refused (409).
"""
import hashlib
import json
from typing import Callable

from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save

from annotation.models import IdempotencyRecord
from config.exceptions import ConflictError, DomainError
from config.fast_insert import insert_row


def request_hash(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord, scope: str, digest: str) -> dict:
    if record.scope != scope or record.request_hash != digest:
        raise ConflictError(
            "This idempotency key was already used for a different submission.",
            code="idempotency_key_reused",
        )
    return record.response


def idempotent_write(*, user, key: str, scope: str, payload, write: Callable[[], dict],
                     on_conflict: Callable[[], Exception]) -> tuple[dict, bool]:
    """Run ``write`` once per (user, key). Returns (response, replayed).

    The write runs first and the record is inserted after it in the same transaction, so the
    (user, key) unique constraint is the guard: a retry either fails on that constraint or on the
    labels' own constraints (or on a check of the labels it finds already stored), its
    transaction rolls back, and the answer recorded by the first request is returned. A first
    request therefore costs no lookup at all; only a retry pays one.

    ``on_conflict`` builds the error raised when the write hit a uniqueness constraint for a
    reason other than this key (a label that already exists under another key).
    """
    digest = request_hash(payload)
    try:
        with transaction.atomic():
            response = write()
            _record_insert(IdempotencyRecord(user=user, key=key, scope=scope, request_hash=digest,
                                             response=response))
    except IntegrityError:
        replay = _recorded(user, key, scope, digest)
        if replay is not None:
            return replay, True
        raise on_conflict() from None
    except DomainError:
        # A retry whose labels are already stored can fail a check before reaching a constraint
        # (an assignment already submitted, a lease since expired): it still gets its answer.
        replay = _recorded(user, key, scope, digest)
        if replay is not None:
            return replay, True
        raise
    return response, False


def _record_insert(record: IdempotencyRecord) -> None:
    """INSERT the record without the ORM's per-call compilation (hot path), then send its
    ``post_save`` as a save would, so the submission's audit entry is written."""
    insert_row(record)
    post_save.send(sender=IdempotencyRecord, instance=record, created=True, raw=False,
                   using=connection.alias, update_fields=None)


def _recorded(user, key: str, scope: str, digest: str) -> dict | None:
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    return None if record is None else _replay(record, scope, digest)
