"""Hidden truth of synthetic FLEX samples, kept apart from the labels.

Only curators, admins and evaluation code read it; no annotator or reviewer API touches it.
"""
from django.db import models

from datasets.models import Clip
from kg.models.graph import GraphVersion


class FlexTrueSlots(models.Model):
    clip = models.OneToOneField(Clip, on_delete=models.CASCADE, related_name="flex_truth")
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.PROTECT, related_name="+")
    slot_keys = models.JSONField(default=list)
    penalty = models.PositiveIntegerField()
    score = models.FloatField()
