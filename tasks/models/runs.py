"""Model runs: what one training job produced, how, from what, and where its files are.

A run row is written once, at the end of a successful training job, in the same transaction as
nothing else; its files (model, plots) are in storage under ``runs/<key>/`` before the row
exists and are deleted again if the row cannot be written. Runs are never edited: a new training
is a new run.
"""
import uuid

from django.conf import settings
from django.db import models


class ModelRun(models.Model):
    class Kind(models.TextChoices):
        SEVERITY = "train_severity", "Severity classifier"
        EXERCISE = "train_exercise_classifier", "Exercise classifier"
        REP_COUNTER = "train_rep_counter", "Repetition counter"
        FLEX_SCORE = "train_flex_score", "FLEX score regressor"

    # Names the run's folder in storage before the row (and its id) exists.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=64, choices=Kind.choices)
    job = models.OneToOneField(
        "tasks.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="model_run"
    )
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="model_runs")
    split_version = models.ForeignKey(
        "datasets.SplitVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="model_runs"
    )
    # The label-set versions the run read, as plain ids plus what they were (kind, version):
    # severity and end-point label sets live in annotation, FLEX score label sets in kg.
    label_set_id = models.BigIntegerField(null=True, blank=True)
    endpoint_label_set_id = models.BigIntegerField(null=True, blank=True)
    label_sets = models.JSONField(default=dict, blank=True)
    estimator = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(default=0)
    code_version = models.CharField(max_length=64, blank=True)
    # Sizes and a hash of exactly what was trained and evaluated on.
    inputs = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    headline = models.JSONField(default=dict, blank=True)
    # [{"name", "path", "sha256", "bytes", "content_type"}]; the model file is also named below.
    artefacts = models.JSONField(default=list, blank=True)
    model_path = models.CharField(max_length=255, blank=True)
    model_sha256 = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dataset", "kind"])]

    def __str__(self):
        return f"{self.kind} run {self.pk}"

    def plot_names(self) -> list[str]:
        return [a["name"] for a in self.artefacts if a.get("content_type") == "image/png"]
