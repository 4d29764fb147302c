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
        SEGMENTS = "segments", "Error time segments"
        FEEDBACK = "feedback", "Timestamped coaching feedback"
        FLEX_STAGE1 = "flex_stage1", "FLEX stage 1: error slots"
        FLEX_STAGE2 = "flex_stage2", "FLEX stage 2: review"

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"

    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Set by the work queue: which item of the clip this lease is for (e.g. a repetition id).
    item_ref = models.CharField(max_length=64, blank=True)
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
