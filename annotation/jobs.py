"""Job kinds of the annotation app: the label aggregation engine (docs/aggregation.md).

Each run function calls one service and returns a JSON summary for the Job row. The services
write their label set in one transaction at the end, so a failed or killed job leaves nothing
behind and can simply be run again.
"""
from rest_framework import serializers

from annotation.core.consensus import DEFAULT_TOLERANCE_S
from annotation.services.aggregation.compute import METHODS, SeverityParams
from annotation.services.aggregation.severity import SPLIT_CHOICES
from tasks.registry import job_kind

SET_CURRENT_HELP = ("Make the new label set the current one of its dataset and kind. The first label set "
                    "of a kind always becomes current.")


class SeverityParamsSerializer(serializers.Serializer):
    method = serializers.ChoiceField(METHODS, default="all",
                                     help_text="all, or one of mean / majority / bmm / dawid_skene. n_votes, "
                                               "mean and majority are always stored.")
    bmm_components = serializers.IntegerField(default=2, min_value=1, max_value=5,
                                              help_text="Components of the beta mixture.")
    ds_max_iter = serializers.IntegerField(default=100, min_value=1, max_value=1000,
                                           help_text="Dawid-Skene EM iterations at most.")
    ds_tol = serializers.FloatField(default=1e-5, min_value=0.0, max_value=1.0,
                                    help_text="Dawid-Skene stops when the per-vote bound gains less.")
    agreement = serializers.BooleanField(default=True, help_text="Also write an agreement report.")
    split = serializers.ChoiceField(SPLIT_CHOICES, default="auto",
                                    help_text="Spread error types over Celery workers: auto (from 2 M votes), "
                                              "always or never.")
    set_current = serializers.BooleanField(default=False, help_text=SET_CURRENT_HELP)


class AgreementParamsSerializer(serializers.Serializer):
    split = serializers.ChoiceField(SPLIT_CHOICES, default="auto", help_text=SeverityParamsSerializer().fields[
        "split"].help_text)


class EndpointParamsSerializer(serializers.Serializer):
    tolerance_s = serializers.FloatField(default=DEFAULT_TOLERANCE_S, min_value=0.0, max_value=10.0,
                                         help_text="A mark further than this from the consensus end (seconds) "
                                                   "flags the clip as disagreeing.")
    set_current = serializers.BooleanField(default=False, help_text=SET_CURRENT_HELP)


class EvaluateParamsSerializer(serializers.Serializer):
    label_set = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                         help_text="Severity label set id; default the current, else the newest.")
    endpoint_label_set = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                                  help_text="End-point label set id; default the current, else "
                                                            "the newest.")


def _set_current(dataset, kind, asked: bool) -> bool:
    from annotation.models import LabelSet

    return asked or not LabelSet.objects.filter(dataset=dataset, kind=kind, is_current=True).exists()


@job_kind("aggregate_severity", params=SeverityParamsSerializer, role="curator",
          description="Severity votes -> a new severity label set (mean, majority, BMM score, Dawid-Skene class) "
                      "with its agreement report.")
def aggregate_severity(*, job, progress, method="all", bmm_components=2, ds_max_iter=100, ds_tol=1e-5,
                       agreement=True, split="auto", set_current=False):
    from annotation.models import LabelSet
    from annotation.services.aggregation import severity_aggregate

    params = SeverityParams(method=method, bmm_components=bmm_components, ds_max_iter=ds_max_iter, ds_tol=ds_tol,
                            with_agreement=agreement)
    label_set, report, facts = severity_aggregate(
        dataset=job.dataset, params=params, job=job, user=job.launched_by, progress=progress, split=split,
        set_current=_set_current(job.dataset, LabelSet.Kind.SEVERITY, set_current))
    return {"label_set": label_set.pk, "number": label_set.number, "is_current": label_set.is_current,
            "agreement_report": report.pk if report else None, **facts}


@job_kind("compute_agreement", params=AgreementParamsSerializer, role="curator",
          description="Agreement per error type and per annotator (Kappa0, Kappa1, alpha, Halo target, "
                      "Dawid-Skene reliability), without writing labels.")
def compute_agreement(*, job, progress, split="auto"):
    from annotation.services.aggregation import severity_aggregate

    _, report, facts = severity_aggregate(
        dataset=job.dataset, params=SeverityParams(method="all", with_agreement=True), job=job,
        user=job.launched_by, progress=progress, split=split, write_items=False)
    return {"agreement_report": report.pk, "summary": report.summary, **facts}


@job_kind("aggregate_endpoints", params=EndpointParamsSerializer, role="curator",
          description="Repetition end-point marks -> a new end-point label set (consensus ends, disagreeing "
                      "clips flagged).")
def aggregate_endpoints(*, job, progress, tolerance_s=DEFAULT_TOLERANCE_S, set_current=False):
    from annotation.models import LabelSet
    from annotation.services.aggregation import endpoint_aggregate

    label_set, facts = endpoint_aggregate(
        dataset=job.dataset, tolerance_s=tolerance_s, job=job, user=job.launched_by, progress=progress,
        set_current=_set_current(job.dataset, LabelSet.Kind.ENDPOINTS, set_current))
    return {"label_set": label_set.pk, "number": label_set.number, "is_current": label_set.is_current, **facts}


@job_kind("evaluate_labels", params=EvaluateParamsSerializer, role="curator",
          description="Synthetic datasets: each method's labels against the hidden truth (accuracy, MAE, "
                      "Spearman, BMM calibration, disagreeing clips caught).")
def evaluate_labels(*, job, progress, label_set=None, endpoint_label_set=None):
    from annotation.services.aggregation import labels_evaluate

    return labels_evaluate(dataset=job.dataset, label_set_id=label_set, endpoint_label_set_id=endpoint_label_set,
                           progress=progress)
