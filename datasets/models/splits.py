"""Frozen split versions, the exports made from them, and the provenance of imported data.

A split version is written once, complete, and never changed: editing a split means a new
version (``parent`` points at the one it was edited from). Its manifest hash (SHA-256 of the
sorted clip ids per split, ``datasets.core.splitting.manifest_hash``) lets an export, a paper
or a training run name exactly which clips were in which split.

Two import-side tables live here too, because the public formats bring labels FormLab's raw-label
model cannot hold: RepCount-A's (start, end) frame pairs per repetition (``RepetitionSpan``) and
the record of what an import read and what it found odd (``ImportRecord``).
"""
from django.conf import settings
from django.db import models

from datasets.models.catalog import Dataset
from datasets.models.clips import Clip, Repetition

SPLIT_NAMES = ("train", "val", "test")


class FrozenError(Exception):
    """Raised on any attempt to change a frozen row in place."""


class SplitVersion(models.Model):
    class Source(models.TextChoices):
        MADE = "made", "Made by make_split"
        IMPORTED = "imported", "Imported from split lists"
        EDITED = "edited", "Edited from another version"

    class Rule(models.TextChoices):
        PARTICIPANT = "participant", "Participant-disjoint"
        EXERCISE = "exercise", "Exercise (action category) disjoint"
        ID_PREFIX = "id_prefix", "Source-video disjoint (clip id up to its last '_')"
        NONE = "none", "Fixed id lists (no rule verified)"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="split_versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=128, blank=True)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    # The rule the split follows and was verified against. Only "participant" is leakage-safe for
    # models that must generalise to new people; the others are recorded because public splits
    # (RepCount-A's open set, Fitness-AQA's key lists) follow them.
    rule = models.CharField(max_length=16, choices=Rule.choices, default=Rule.PARTICIPANT)
    rule_detail = models.TextField(blank=True)
    # The label set the stratification read, as a plain id plus a snapshot: a split must outlive
    # (and not depend on the migrations of) the label-set tables.
    label_set_id = models.BigIntegerField(null=True, blank=True)
    label_set_info = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    balance = models.JSONField(default=dict, blank=True)
    manifest_hash = models.CharField(max_length=64)
    code_version = models.CharField(max_length=64, blank=True)
    job_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="split_version_unique_number"),
        ]

    def __str__(self):
        return f"{self.dataset_id}:v{self.version}"

    @property
    def participant_based(self) -> bool:
        return self.rule == self.Rule.PARTICIPANT

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise FrozenError(f"Split version {self.pk} is frozen; make a new version instead.")
        super().save(*args, **kwargs)


class SplitMembership(models.Model):
    """One clip's split in one version. Clips of the dataset with no row are in no split."""

    split_version = models.ForeignKey(SplitVersion, on_delete=models.CASCADE, related_name="memberships")
    # RESTRICT: a clip inside a frozen split cannot be deleted on its own, but deleting the whole
    # dataset (which deletes the split too) still works.
    clip = models.ForeignKey(Clip, on_delete=models.RESTRICT, related_name="+")
    split = models.SmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["split_version", "clip"], name="split_membership_unique_clip"),
            models.CheckConstraint(condition=models.Q(split__in=[0, 1, 2]), name="split_membership_0_1_2"),
        ]
        indexes = [models.Index(fields=["split_version", "split"])]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise FrozenError("Split memberships are frozen with their version.")
        super().save(*args, **kwargs)


class SplitExport(models.Model):
    """One export of a split version, written under ``MEDIA_ROOT/exports/<id>/``."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    split_version = models.ForeignKey(SplitVersion, on_delete=models.PROTECT, related_name="exports")
    format = models.CharField(max_length=16)
    options = models.JSONField(default=dict, blank=True)
    label_set_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    job_id = models.BigIntegerField(null=True, blank=True)
    path = models.CharField(max_length=255, blank=True)
    files = models.JSONField(default=list, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"export {self.pk} ({self.format}, {self.state})"


class ImportRecord(models.Model):
    """What one ``import_dataset`` run read (files and their checksums) and what it noticed."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="imports")
    format = models.CharField(max_length=32)
    files = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    # Quirks kept rather than silently fixed, e.g. RepCount-A's test118.mp4 (count 6, 5 pairs).
    warnings = models.JSONField(default=list)
    details = models.JSONField(default=dict)
    license = models.CharField(max_length=128, blank=True)
    split_version = models.ForeignKey(SplitVersion, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    code_version = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class RepetitionSpan(models.Model):
    """A repetition's (start, end) as one annotator or one imported source gave it.

    Frames, measured on the clip's own frame axis; fractional when the source is itself a
    consensus (a mean of marks). RepCount-A stores exactly this, one pair per cycle, and its
    pairs often share a boundary (end of cycle i = start of cycle i+1); both are kept as given.
    """

    repetition = models.ForeignKey(Repetition, on_delete=models.CASCADE, related_name="spans")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    start_frame = models.FloatField()
    end_frame = models.FloatField()
    source = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repetition", "annotator"], name="repetition_span_unique"),
            models.CheckConstraint(condition=models.Q(start_frame__gte=0) & models.Q(end_frame__gte=models.F("start_frame")),
                                   name="repetition_span_ordered"),
        ]
