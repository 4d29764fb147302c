"""Training job kinds. All run on the ``training`` Celery queue (so aggregation never waits behind
them) and are for admins. Each writes one `ModelRun` at its end and returns
``{"run_id", "headline", "duration_s"}``, which ``manage.py run_job ... --wait`` prints.

The services live in `tasks.training`; these are the thin registrations.
"""
from rest_framework import serializers

from tasks.registry import job_kind
from tasks.training.common import TrainingParams


class SeverityParams(TrainingParams):
    label_set = serializers.IntegerField(required=False, allow_null=True, default=None,
                                         help_text="Severity label set id; default: the current one.")
    endpoint_label_set = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="End-point label set id (segments the repetitions); default: the current one.")
    target = serializers.ChoiceField(["bmm", "mean"], default="bmm",
                                     help_text="Regress the BMM score or the mean vote / 3.")
    mode = serializers.ChoiceField(
        ["specific", "generic"], default="specific",
        help_text="specific: one model per error type; generic: one per generic name, trained without "
                  "the split's held-out exercises and evaluated on them (zero-shot).")
    error_types = serializers.CharField(required=False, allow_blank=True, default="",
                                        help_text="Comma-separated error type codes (default: all).")


class ExerciseParams(TrainingParams):
    estimator_task = "classification"
    endpoint_label_set = serializers.IntegerField(required=False, allow_null=True, default=None,
                                                  help_text="End-point label set id; default: the current one.")


class RepCounterParams(TrainingParams):
    estimator_task = "rep_count"
    estimator = serializers.CharField(default="periodicity", help_text="Registered rep-counting estimator.")
    endpoint_label_set = serializers.IntegerField(required=False, allow_null=True, default=None,
                                                  help_text="End-point label set id; default: the current one.")
    max_clips_per_exercise = serializers.IntegerField(default=200, min_value=1, max_value=100_000,
                                                      help_text="Training clips loaded per exercise (seeded sample).")


class FlexScoreParams(TrainingParams):
    label_set = serializers.IntegerField(required=False, allow_null=True, default=None,
                                         help_text="FLEX label set id; default: the current one.")
    per_action = serializers.BooleanField(default=True, help_text="One regressor per action (else one for all).")


@job_kind("train_severity", params=SeverityParams, queue="training", role="admin")
def train_severity(*, job, progress, **params):
    """Severity regressor per error type + Halo threshold search; Kappa1 vs target per (exercise, error type)."""
    from tasks.training.severity import severity_train

    return severity_train(job=job, progress=progress, **params)


@job_kind("train_exercise_classifier", params=ExerciseParams, queue="training", role="admin")
def train_exercise_classifier(*, job, progress, **params):
    """Per-repetition exercise classifier; precision/recall/F1 per exercise and macro, confusion matrix."""
    from tasks.training.exercise import exercise_train

    return exercise_train(job=job, progress=progress, **params)


@job_kind("train_rep_counter", params=RepCounterParams, queue="training", role="admin")
def train_rep_counter(*, job, progress, **params):
    """Repetition counter from pose; OBO, MAE, EORL(0.5) per exercise on agreeing test clips."""
    from tasks.training.rep_counter import rep_counter_train

    return rep_counter_train(job=job, progress=progress, **params)


@job_kind("train_flex_score", params=FlexScoreParams, queue="training", role="admin")
def train_flex_score(*, job, progress, **params):
    """FLEX score regressor from 3-D pose per action; Spearman's rho and R-l2 per action and overall."""
    from tasks.training.flex_score import flex_score_train

    return flex_score_train(job=job, progress=progress, **params)
