"""Raw FLEX labels: stage-1 slot sets and stage-2 reviews. No job ever changes these rows.

A sample is a clip of a FLEX action. Slot sets are stored as lists of canonical slot keys
(``"AK01:ET001"``) with the graph version they were checked against, so they stay readable and
survive a new graph version that keeps the keys.
"""
from django.conf import settings
from django.db import models

from datasets.models import Clip
from kg.models.graph import GraphVersion


class FlexStage1Set(models.Model):
    """One stage-1 annotator's error slots for one sample (possibly none: a clean execution)."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="flex_stage1_sets")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.PROTECT, related_name="+")
    slot_keys = models.JSONField(default=list)
    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip", "annotator"], name="kg_stage1_one_per_annotator"),
        ]
        indexes = [models.Index(fields=["clip", "created_at"])]


class FlexReview(models.Model):
    """One stage-2 reviewer's decision: approve the proposal, or a corrected slot set.

    ``slot_keys`` is the review's effective set (the proposal itself for an approval);
    ``proposal_keys`` is the proposal the reviewer saw.
    """

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="flex_reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.PROTECT, related_name="+")
    approve = models.BooleanField()
    slot_keys = models.JSONField(default=list)
    proposal_keys = models.JSONField(default=list)
    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip", "reviewer"], name="kg_review_one_per_reviewer"),
        ]
        indexes = [models.Index(fields=["clip", "created_at"])]
