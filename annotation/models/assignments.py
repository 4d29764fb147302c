"""Who may label what: one row per (annotator, clip, kind of label).

An annotator reads and labels only clips they hold an assignment for. The work queue hands out
assignments with a lease; an expired lease that was never submitted returns the item.
"""
from django.conf import settings
from django.db import models

from datasets.models import Clip


class Assignment(models.Model):
    class Kind(models.TextChoices):
        ENDPOINTS = "endpoints", "Repetition end points"
        SEVERITY = "severity", "Severity votes"

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"

    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.LEASED)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotator", "clip", "kind"], name="assignment_one_per_annotator_clip_kind"
            ),
        ]
        indexes = [models.Index(fields=["clip", "kind", "state"])]

    def __str__(self):
        return f"{self.annotator_id}:{self.clip_id}:{self.kind}"
