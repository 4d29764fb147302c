"""FLEX label sets: the proposal, final slots and score of every sample, as one immutable version.

Written by the ``score_flex`` job (``kg.services.label_sets.flex_label_set_compute``) in one
transaction; never updated afterwards except for the ``is_current`` flag, which a curator moves.
"""
from django.conf import settings
from django.db import models

from datasets.models import Clip, Dataset
from kg.models.graph import GraphVersion


class FlexLabelSet(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="flex_label_sets")
    number = models.PositiveIntegerField(help_text="Version number within the dataset, from 1.")
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.PROTECT, related_name="label_sets")
    is_current = models.BooleanField(default=False)
    params = models.JSONField(default=dict)
    code_version = models.CharField(max_length=64, blank=True)
    counts = models.JSONField(default=dict, help_text="Input and output counts.")
    summary = models.JSONField(default=dict, help_text="Score statistics of the final samples.")
    input_hash = models.CharField(max_length=64, help_text="sha256 over the graph and every raw label used.")
    job = models.ForeignKey("tasks.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="kg_label_set_unique_number"),
            models.UniqueConstraint(fields=["dataset"], condition=models.Q(is_current=True),
                                    name="kg_label_set_one_current"),
            models.UniqueConstraint(fields=["job"], condition=models.Q(job__isnull=False),
                                    name="kg_label_set_one_per_job"),
        ]

    def __str__(self):
        return f"{self.dataset_id} FLEX labels v{self.number}"


class FlexSampleLabel(models.Model):
    class Status(models.TextChoices):
        STAGE1_OPEN = "stage1_open", "Stage 1 incomplete"
        STAGE2_OPEN = "stage2_open", "Waiting for reviews"
        TIED = "tied", "Two reviews tie; waits for the third"
        FINAL = "final", "Final"
        NOT_IN_GRAPH = "not_in_graph", "The clip's exercise is not an action of the graph"
        GRAPH_MISMATCH = "graph_mismatch", "A label names a slot the graph version lacks"

    label_set = models.ForeignKey(FlexLabelSet, on_delete=models.CASCADE, related_name="samples")
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="+")
    action_index = models.PositiveSmallIntegerField(null=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    n_stage1 = models.PositiveSmallIntegerField()
    n_reviews = models.PositiveSmallIntegerField()
    proposal = models.JSONField(null=True, help_text="Slot keys of the stage-1 majority.")
    final = models.JSONField(null=True, help_text="Slot keys of the reviewers' majority.")
    tied = models.JSONField(null=True, help_text="Slots on which two reviews disagree.")
    total = models.PositiveIntegerField(null=True)
    penalty = models.PositiveIntegerField(null=True)
    score = models.FloatField(null=True)

    class Meta:
        ordering = ["label_set_id", "clip_id"]
        constraints = [
            models.UniqueConstraint(fields=["label_set", "clip"], name="kg_sample_label_unique_clip"),
        ]
        indexes = [models.Index(fields=["label_set", "status"])]
