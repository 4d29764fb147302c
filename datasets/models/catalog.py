"""What a dataset is made of: its exercises, their error types and its participants."""
from django.core.validators import RegexValidator
from django.db import models

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,63}$",
    "Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit.",
    code="invalid_slug",
)


class Dataset(models.Model):
    class Kind(models.TextChoices):
        HALO = "halo", "Halo-style (repetitions + severity votes)"
        FLEX = "flex", "FLEX-style (knowledge-graph error slots)"
        GENERIC = "generic", "Generic"

    name = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.HALO)
    description = models.TextField(blank=True)
    is_synthetic = models.BooleanField(default=False)
    synthetic_seed = models.BigIntegerField(null=True, blank=True)

    class QueueOrder(models.TextChoices):
        BREADTH_FIRST = "breadth_first", "Breadth first (finish items close to complete)"
        UNCERTAINTY_FIRST = "uncertainty_first", "Uncertainty first (least sure labels first)"

    queue_order = models.CharField(max_length=32, choices=QueueOrder.choices, default=QueueOrder.BREADTH_FIRST)
    lease_minutes = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Exercise(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="exercises")
    slug = models.CharField(max_length=64)
    name = models.CharField(max_length=128)
    skeleton_layout = models.CharField(max_length=32, default="halo26")
    joint_count = models.PositiveSmallIntegerField(default=26)
    dims = models.PositiveSmallIntegerField(default=2)

    class Meta:
        ordering = ["dataset_id", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "slug"], name="exercise_unique_slug"),
            models.CheckConstraint(condition=models.Q(dims__in=[2, 3]), name="exercise_dims_2_or_3"),
        ]

    def __str__(self):
        return self.name


class ErrorType(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="error_types")
    code = models.CharField(max_length=96)
    description = models.TextField(blank=True)
    generic_name = models.CharField(max_length=96, blank=True)
    annotator_kappa1 = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["exercise_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "code"], name="error_type_unique_code"),
        ]

    def __str__(self):
        return self.code


class Participant(models.Model):
    class Skill(models.IntegerChoices):
        BEGINNER = 0, "beginner"
        INTERMEDIATE = 1, "intermediate"
        EXPERT = 2, "expert"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="participants")
    external_id = models.CharField(max_length=128)
    skill_level = models.SmallIntegerField(choices=Skill.choices, null=True, blank=True)

    class Meta:
        ordering = ["dataset_id", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="participant_unique_external_id"
            ),
        ]

    def __str__(self):
        return self.external_id
