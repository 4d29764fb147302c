"""Curators' view of the queue: progress per kind, open-item counts, sending clips back."""
import logging

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotation.lock_objects import clips_lock
from annotation.models import Assignment
from annotation.services.queue.candidates import candidate_clips, has_media
from annotation.services.queue.rules import QUOTAS, SENT_BACK, kinds_for_dataset
from config.exceptions import DomainError, NotFoundError
from datasets.models import Clip, Dataset

logger = logging.getLogger("annotation.services.queue")


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
    n_clips = Clip.objects.filter(dataset=dataset).filter(has_media()).count()
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


def queue_open_count(*, user, dataset: Dataset, kind: str, limit: int | None = 1000) -> int:
    """How many items of ``kind`` the user could still be handed, counted up to ``limit`` (the
    home page shows "1000+": counting every open clip of a Halo-size dataset costs seconds)."""
    now = timezone.now()
    qs = candidate_clips(user=user, dataset=dataset, kind=kind, now=now).order_by()
    if limit is not None:
        qs = qs[:limit]
    return qs.count()
