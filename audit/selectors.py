"""Reads of the audit log (curators and admins only; the API checks the role)."""
from datetime import datetime

from django.db.models import QuerySet

from audit.models import AuditEntry


def audit_entry_list(*, actor: str | None = None, action: str | None = None, object_type: str | None = None,
                     object_id: str | None = None, dataset_id: int | None = None,
                     since: datetime | None = None, until: datetime | None = None) -> QuerySet:
    qs = AuditEntry.objects.all()
    if actor:
        qs = qs.filter(actor_id=int(actor)) if actor.isdigit() else qs.filter(actor_username=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        # "annotation.SeverityVote" or just "SeverityVote"; case-insensitive.
        qs = qs.filter(object_type__iexact=object_type) if "." in object_type else \
            qs.filter(object_type__iendswith=f".{object_type}")
    if object_id:
        qs = qs.filter(object_id=object_id)
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")
