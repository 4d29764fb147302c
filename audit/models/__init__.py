from audit.models.entries import AuditEntry, AuditImmutableError

__all__ = ["AuditEntry", "AuditImmutableError"]
