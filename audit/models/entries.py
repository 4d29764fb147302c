"""The audit log: one row per change of a record people care about (labels, label sets, splits,
exports, feedback texts, graph versions, model runs), written once and never changed.

The row copies what it needs (the actor's username, the dataset id as a plain integer) so it
outlives the user, dataset or object it names: deleting a dataset must not delete its history.
"""
from django.conf import settings
from django.db import models


class AuditImmutableError(Exception):
    """Raised on any attempt to change or delete an audit entry through the ORM."""


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    # The model label ("annotation.SeverityVote"); object_id is the row's primary key, or for a
    # batch (a vote submission, a bulk import) the key that names the batch.
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    dataset_id = models.BigIntegerField(null=True, blank=True)
    # create: a snapshot of the row's small fields; update: {field: [old, new]}; batch: a summary.
    changes = models.JSONField(default=dict, blank=True)
    # Where the change came from: "POST /api/votes/submit/", "job 12 (make_split)", "command load_flex_kg".
    source = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["dataset_id", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.actor_username or 'system'} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError("Audit entries are written once and never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError("Audit entries cannot be deleted.")
