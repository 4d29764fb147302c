"""Label sets: immutable, versioned results of aggregating raw labels, and agreement reports.

A label set is written once, by one service, in one transaction together with all its per-item
rows (``annotation.services.aggregation``), and never updated afterwards except for the
``is_current`` flag, which a curator moves. Raw labels are never touched.

The per-item tables hold about a million rows per severity label set (Halo scale). Their foreign
keys are declared with ``db_constraint=False``: PostgreSQL checks a foreign key with one trigger
call per inserted row, which for 1 M rows x 3 keys costs more than the whole aggregation, while
the rows are only ever written by the aggregation service in the same transaction as their
label set, from ids it has just read. Deleting a label set (or its dataset) still removes its
rows, through Django's cascade (one ``DELETE ... WHERE label_set_id IN``); the links to raw
rows (repetition, clip, error type) are ``DO_NOTHING``: a label set records what was computed,
and raw repetitions and error types are protected by their votes anyway.
"""
from django.conf import settings
from django.db import models

from config.exceptions import DomainError
from datasets.models import Clip, Dataset, ErrorType, Repetition

# The one field of a label set that may change after it is written.
MUTABLE_FIELDS = frozenset({"is_current"})


def _refuse(what: str):
    raise DomainError(f"{what} are immutable: run the aggregation again to get a new version.",
                      code="label_set_immutable")


class ImmutableQuerySet(models.QuerySet):
    """``update()`` may only touch ``MUTABLE_FIELDS`` (none, for per-item rows)."""

    mutable: frozenset = frozenset()

    def update(self, **kwargs):
        if set(kwargs) - self.mutable:
            _refuse("Label sets and their rows")
        return super().update(**kwargs)


class LabelSetQuerySet(ImmutableQuerySet):
    mutable = MUTABLE_FIELDS


class ImmutableRow(models.Model):
    """A row that is written once: saving it again is refused (deleting goes with its parent)."""

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            _refuse("Label-set rows")
        super().save(*args, **kwargs)


class LabelSet(models.Model):
    class Kind(models.TextChoices):
        ENDPOINTS = "endpoints", "Repetition end points"
        SEVERITY = "severity", "Severity labels"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="label_sets")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.PositiveIntegerField(help_text="Version number within (dataset, kind), from 1.")
    method = models.CharField(max_length=32, help_text="Aggregation method, e.g. all, mean, consensus.")
    params = models.JSONField(default=dict, help_text="Every parameter that shaped the result.")
    code_version = models.CharField(max_length=64, blank=True)
    input_count = models.BigIntegerField(help_text="Raw labels read (votes or end-point marks).")
    input_hash = models.CharField(max_length=64, help_text="sha256 of the sorted raw labels read.")
    item_count = models.BigIntegerField(help_text="Per-item rows written.")
    is_current = models.BooleanField(default=False)
    summary = models.JSONField(default=dict, help_text="Counts and model fits (BMM, Dawid-Skene, flags).")
    timings = models.JSONField(default=dict, help_text="Seconds per stage of the run.")
    job = models.ForeignKey("tasks.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    started_at = models.DateTimeField(help_text="When the run started reading its input.")
    finished_at = models.DateTimeField(help_text="When the results were computed, just before the write.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LabelSetQuerySet.as_manager()

    class Meta:
        ordering = ["dataset_id", "kind", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "kind", "number"], name="label_set_unique_number"),
            models.UniqueConstraint(fields=["dataset", "kind"], condition=models.Q(is_current=True),
                                    name="label_set_one_current"),
            # A re-delivered job finds the set its first attempt committed instead of writing another.
            models.UniqueConstraint(fields=["job"], condition=models.Q(job__isnull=False),
                                    name="label_set_one_per_job"),
        ]

    def __str__(self):
        return f"{self.dataset_id} {self.kind} labels v{self.number}"

    def save(self, *args, update_fields=None, **kwargs):
        if not self._state.adding and (update_fields is None or set(update_fields) - MUTABLE_FIELDS):
            _refuse("Label sets")
        super().save(*args, update_fields=update_fields, **kwargs)


class SeverityLabel(ImmutableRow):
    """Aggregated severity of one (repetition, error type) that has at least one vote.

    ``n_votes``, ``mean`` and ``majority`` are always filled (every method starts from them);
    ``bmm_score`` and the Dawid-Skene columns are null when the set's method did not compute them.
    """

    label_set = models.ForeignKey(LabelSet, on_delete=models.CASCADE, related_name="severity_labels",
                                  db_constraint=False, db_index=False)
    repetition = models.ForeignKey(Repetition, on_delete=models.DO_NOTHING, related_name="+",
                                   db_constraint=False, db_index=False)
    error_type = models.ForeignKey(ErrorType, on_delete=models.DO_NOTHING, related_name="+",
                                   db_constraint=False, db_index=False)
    n_votes = models.PositiveSmallIntegerField()
    mean = models.FloatField(help_text="Mean vote, 0..3.")
    majority = models.SmallIntegerField(help_text="Most voted class, ties toward the lower severity.")
    bmm_score = models.FloatField(null=True, help_text="Beta-mixture severity score in [0, 1].")
    ds_class = models.SmallIntegerField(null=True, help_text="Dawid-Skene most probable class.")
    ds_confidence = models.FloatField(null=True, help_text="Dawid-Skene posterior of ds_class.")

    class Meta:
        ordering = ["label_set_id", "error_type_id", "repetition_id"]
        constraints = [
            # Rows are written sorted by this key, so the index grows at its right edge only.
            models.UniqueConstraint(fields=["label_set", "error_type", "repetition"],
                                    name="severity_label_unique_item"),
        ]


class EndPointLabel(ImmutableRow):
    """Consensus repetition ends of one clip (the mean of the annotators' matched marks)."""

    label_set = models.ForeignKey(LabelSet, on_delete=models.CASCADE, related_name="end_point_labels",
                                  db_constraint=False, db_index=False)
    clip = models.ForeignKey(Clip, on_delete=models.DO_NOTHING, related_name="+",
                             db_constraint=False, db_index=False)
    n_annotators = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(help_text="Consensus repetition count.")
    ends = models.JSONField(default=list, help_text="Consensus end frames (float), increasing.")
    spread = models.JSONField(default=list, help_text="Largest distance of a matched mark from each end.")
    disagree = models.BooleanField(help_text="Left out of evaluation: the annotators do not agree.")
    reason = models.CharField(max_length=16, blank=True,
                              help_text="count_mismatch, end_spread or no_marks; empty when they agree.")

    class Meta:
        ordering = ["label_set_id", "clip_id"]
        constraints = [
            models.UniqueConstraint(fields=["label_set", "clip"], name="end_point_label_unique_clip"),
        ]
        indexes = [models.Index(fields=["label_set", "disagree"], name="end_point_label_disagree")]


class AgreementReport(ImmutableRow):
    """Inter-annotator agreement of a dataset's severity votes at one moment, with its inputs.

    Written by ``compute_agreement`` (alone) and by ``aggregate_severity`` (then linked to the
    severity label set computed from the same votes). Immutable like label sets.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="agreement_reports")
    label_set = models.OneToOneField(LabelSet, on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="agreement")
    params = models.JSONField(default=dict)
    code_version = models.CharField(max_length=64, blank=True)
    input_count = models.BigIntegerField()
    input_hash = models.CharField(max_length=64)
    summary = models.JSONField(default=dict, help_text="Dataset-wide figures (mean Kappa1, alpha, share on target).")
    job = models.ForeignKey("tasks.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset_id", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job"], condition=models.Q(job__isnull=False),
                                    name="agreement_report_one_per_job"),
        ]

    def __str__(self):
        return f"{self.dataset_id} agreement #{self.pk}"


class ErrorTypeAgreement(ImmutableRow):
    """Agreement of the votes of one error type (Halo Trainer, seed 000, Table 9).

    ``kappa0`` / ``kappa1``: every vote against the leave-one-out majority of the other votes on
    its item, pooled over annotators. ``target_kappa1`` is 85 % of ``kappa1``: the bar a model's
    Kappa1 must reach. ``reference_kappa1`` is the error type's annotator Kappa1 from the catalogue
    (``ErrorType.annotator_kappa1``) when known, for comparison. Null means undefined (NaN).
    """

    report = models.ForeignKey(AgreementReport, on_delete=models.CASCADE, related_name="error_types")
    error_type = models.ForeignKey(ErrorType, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    n_items = models.PositiveIntegerField()
    n_votes = models.PositiveIntegerField()
    n_annotators = models.PositiveIntegerField()
    kappa0 = models.FloatField(null=True)
    kappa1 = models.FloatField(null=True)
    mean_annotator_kappa1 = models.FloatField(null=True, help_text="Per-annotator Kappa1, weighted by items.")
    alpha = models.FloatField(null=True, help_text="Krippendorff's alpha, ordinal.")
    target_kappa1 = models.FloatField(null=True, help_text="Halo target: 85 % of kappa1.")
    reference_kappa1 = models.FloatField(null=True, help_text="The catalogue's annotator Kappa1, if any.")
    majority_counts = models.JSONField(default=list, help_text="Items per majority class 0..3.")

    class Meta:
        ordering = ["report_id", "error_type_id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "error_type"], name="error_type_agreement_unique"),
        ]


class AnnotatorAgreement(ImmutableRow):
    """One annotator's agreement and Dawid-Skene reliability over all error types of a report.

    ``kappa0`` / ``kappa1``: the annotator's votes against the leave-one-out majority, per error
    type, averaged with the items of each error type as weights. ``confusion[c][k]`` is the
    Dawid-Skene expected number of the annotator's votes ``k`` on items whose true class is ``c``
    (posterior-weighted, summed over error types); ``ds_accuracy`` is its trace over its total.
    """

    report = models.ForeignKey(AgreementReport, on_delete=models.CASCADE, related_name="annotators")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+",
                                  db_constraint=False)
    n_votes = models.PositiveIntegerField()
    n_items_scored = models.PositiveIntegerField()
    kappa0 = models.FloatField(null=True)
    kappa1 = models.FloatField(null=True)
    ds_accuracy = models.FloatField(null=True)
    confusion = models.JSONField(null=True, help_text="4x4 expected counts, [true class][vote].")

    class Meta:
        ordering = ["report_id", "annotator_id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "annotator"], name="annotator_agreement_unique"),
        ]


class AggregationPart(models.Model):
    """One error type's share of a split severity aggregation: the chord's book-keeping.

    The job's own task stages the input of every error type as an ``.npz`` file, creates one
    ``pending`` row per error type and enqueues one Celery task per row; every process (those
    tasks and the job's task itself) claims pending rows with a compare-and-set, computes, stores
    its result file and marks the row ``done``. The job's task writes the label set once every
    row is done, then deletes rows and files. Rows are scratch state, never results.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    job = models.ForeignKey("tasks.Job", on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveSmallIntegerField(help_text="The job attempt that staged this part.")
    error_type_id = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    input_path = models.CharField(max_length=255)
    result_path = models.CharField(max_length=255, blank=True)
    claimed_by = models.CharField(max_length=128, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "attempt", "error_type_id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt", "error_type_id"], name="aggregation_part_unique"),
        ]


class LabelSetRanking(ImmutableRow):
    """A label set's clips, least sure first (``annotation.services.uncertainty``), written with the
    label set so the work queue's *uncertainty first* order does not rank a Halo-size set in a
    request. Derived from the label set's rows and as immutable as they are."""

    label_set = models.OneToOneField(LabelSet, on_delete=models.CASCADE, primary_key=True, related_name="ranking")
    clip_ids = models.JSONField(help_text="Clip ids, least sure first.")
