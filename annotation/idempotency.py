"""Client-keyed idempotent writes, shared by every label submission.

A client sends a key with each submission. The first request with a key writes its labels and,
in the same transaction, the answer it gave. A retry with the same key and the same body gets
that answer again and writes nothing; the same key with a different body is refused (409).
"""
import hashlib
import json
from typing import Callable

from django.db import IntegrityError, transaction

from annotation.models import IdempotencyRecord
from config.exceptions import ConflictError


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

    ``on_conflict`` builds the error raised when the write hit a uniqueness constraint for a
    reason other than this key (a label that already exists under another key).
    """
    digest = request_hash(payload)
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is not None:
        return _replay(record, scope, digest), True
    try:
        with transaction.atomic():
            response = write()
            IdempotencyRecord.objects.create(
                user=user, key=key, scope=scope, request_hash=digest, response=response
            )
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is not None:
            return _replay(record, scope, digest), True
        raise on_conflict() from None
    return response, False
