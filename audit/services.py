"""Writing audit entries.

``audit_record`` is the one way to write an entry. The signal receivers in ``audit.signals`` call
it for every save and delete of the audited models; services that write in bulk (COPY, which
sends no signals: the synthetic generator, vote and dataset importers, ``queryset.update()``)
call it once per batch with a summary::

    from audit.services import audit_record

    audit_record(action="create", object_type="annotation.SeverityVote", object_id=f"import:{record.pk}",
                 dataset_id=dataset.pk, changes={"rows": n_votes, "source_file": name})

The entry is written on the caller's database connection, inside the caller's transaction when
there is one, so it commits or rolls back with the change it describes.
"""
import logging

from audit.context import current
from audit.models import AuditEntry
from config.fast_insert import insert_row

logger = logging.getLogger(__name__)

ACTIONS = {a.value for a in AuditEntry.Action}


def audit_record(*, action: str, object_type: str, object_id="", dataset_id: int | None = None,
                 changes: dict | None = None, actor=None, source: str | None = None) -> AuditEntry:
    """Write one audit entry. Actor, source, IP and user agent default to the current context."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; use one of {sorted(ACTIONS)}.")
    ctx = current()
    actor = actor if actor is not None else ctx.actor()
    entry = AuditEntry(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action, object_type=object_type[:100], object_id=str(object_id)[:64],
        dataset_id=dataset_id, changes=changes or {}, source=(source or ctx.source)[:200],
        ip_address=ctx.ip_address, user_agent=ctx.user_agent,
    )
    insert_row(entry)  # written once, never changed: nothing to gain from save()'s compilation
    return entry
