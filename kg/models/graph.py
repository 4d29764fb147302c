"""The FLEX knowledge graph, one immutable copy per loaded version.

A graph version is written once by ``load_flex_kg`` (``kg.services.graph.graph_load``) and never
changed; loading a changed file makes a new version. Scores, raw slot labels and label sets name
the version they used. Exactly one version is current.
"""
from django.conf import settings
from django.db import models


class GraphVersion(models.Model):
    number = models.PositiveIntegerField(unique=True)
    content_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the canonical JSON.")
    source = models.CharField(max_length=500, blank=True, help_text="The file's own 'source' field.")
    path = models.CharField(max_length=500, blank=True, help_text="Where the file was loaded from.")
    # The file as loaded: the scoring core is rebuilt from it, so scores never depend on rows
    # someone might have edited.
    document = models.JSONField()
    is_current = models.BooleanField(default=False)
    counts = models.JSONField(default=dict)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True),
                                    name="kg_one_current_graph_version"),
        ]

    def __str__(self):
        return f"FLEX graph v{self.number}"


class GraphKeystep(models.Model):
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.CASCADE, related_name="keysteps")
    code = models.CharField(max_length=16)
    description = models.TextField()

    class Meta:
        ordering = ["graph_version_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["graph_version", "code"], name="kg_keystep_unique_code"),
        ]

    def __str__(self):
        return self.code


class GraphErrorType(models.Model):
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.CASCADE, related_name="error_types")
    code = models.CharField(max_length=16)
    description = models.TextField()
    weight = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["graph_version_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["graph_version", "code"], name="kg_error_type_unique_code"),
            models.CheckConstraint(condition=models.Q(weight__gte=1, weight__lte=10), name="kg_error_type_weight_1_10"),
        ]

    def __str__(self):
        return self.code


class GraphAction(models.Model):
    graph_version = models.ForeignKey(GraphVersion, on_delete=models.CASCADE, related_name="actions")
    index = models.PositiveSmallIntegerField(help_text="1-based position in the file: FLEX's A01..A20.")
    name = models.CharField(max_length=128)
    total_weight = models.PositiveIntegerField()

    class Meta:
        ordering = ["graph_version_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["graph_version", "index"], name="kg_action_unique_index"),
            models.UniqueConstraint(fields=["graph_version", "name"], name="kg_action_unique_name"),
        ]

    @property
    def code(self) -> str:
        return f"A{self.index:02d}"

    def __str__(self):
        return self.name


class GraphPhase(models.Model):
    action = models.ForeignKey(GraphAction, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=32)

    class Meta:
        ordering = ["action_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["action", "position"], name="kg_phase_unique_position"),
        ]

    def __str__(self):
        return f"{self.action_id}:{self.name}"


class GraphRow(models.Model):
    """One line of Table 9: one keystep, or two or three merged ones, and its error types."""

    phase = models.ForeignKey(GraphPhase, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveSmallIntegerField(help_text="Row order within the action.")
    keysteps = models.ManyToManyField(GraphKeystep, through="GraphRowKeystep", related_name="rows")

    class Meta:
        ordering = ["phase_id", "position"]


class GraphRowKeystep(models.Model):
    row = models.ForeignKey(GraphRow, on_delete=models.CASCADE, related_name="row_keysteps")
    keystep = models.ForeignKey(GraphKeystep, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["row_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["row", "keystep"], name="kg_row_keystep_unique"),
        ]


class GraphSlot(models.Model):
    """A penalty slot: one (row, error type) pair, named ``<first keystep>:<error type>``."""

    action = models.ForeignKey(GraphAction, on_delete=models.CASCADE, related_name="slots")
    row = models.ForeignKey(GraphRow, on_delete=models.CASCADE, related_name="slots")
    error_type = models.ForeignKey(GraphErrorType, on_delete=models.CASCADE, related_name="slots")
    position = models.PositiveSmallIntegerField(help_text="Index within the action (phase, row, error order).")
    key = models.CharField(max_length=40)
    weight = models.PositiveSmallIntegerField(help_text="The error type's weight, copied for fast reads.")

    class Meta:
        ordering = ["action_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["action", "key"], name="kg_slot_unique_key"),
            models.UniqueConstraint(fields=["action", "position"], name="kg_slot_unique_position"),
        ]

    def __str__(self):
        return self.key
