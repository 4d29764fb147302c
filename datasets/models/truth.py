"""Hidden truth of synthetic datasets, kept apart from the labels.

Only curators, admins and evaluation code read these tables; no annotator API touches them.
"""
from django.conf import settings
from django.db import models

from datasets.models.catalog import Dataset, ErrorType
from datasets.models.clips import Clip, Repetition


class ClipTruth(models.Model):
    clip = models.OneToOneField(Clip, on_delete=models.CASCADE, related_name="truth")
    true_starts = models.JSONField(default=list)
    true_ends = models.JSONField(default=list)


class TrueSeverity(models.Model):
    repetition = models.ForeignKey(Repetition, on_delete=models.CASCADE, related_name="+")
    error_type = models.ForeignKey(ErrorType, on_delete=models.CASCADE, related_name="+")
    severity = models.SmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repetition", "error_type"], name="true_severity_unique"),
        ]


class AnnotatorProfile(models.Model):
    """The simulated annotator behind a demo user: its noise parameters (hidden truth)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=32)
    params = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "user", "role"], name="annotator_profile_unique"),
        ]
