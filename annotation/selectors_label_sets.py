"""Reads of label sets, their per-item rows and agreement reports.

Label sets aggregate every annotator's labels, so only curators and admins see them: for anyone
else every label set and report is answered 404, as if it did not exist.
"""
from django.db.models import QuerySet

from annotation.models import (
    AgreementReport, AnnotatorAgreement, EndPointLabel, ErrorTypeAgreement, LabelSet, SeverityLabel,
)
from annotation.roles import is_staff_role
from config.exceptions import NotFoundError


def label_set_list(*, user, dataset_id=None, kind=None, current=None) -> QuerySet:
    qs = LabelSet.objects.select_related("dataset", "created_by").order_by("-created_at", "-id")
    if not is_staff_role(user):
        return qs.none()
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    if kind:
        qs = qs.filter(kind=kind)
    if current is not None:
        qs = qs.filter(is_current=current)
    return qs


def label_set_get(*, user, label_set_id) -> LabelSet:
    try:
        return label_set_list(user=user).get(pk=label_set_id)
    except (LabelSet.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Label set {label_set_id} not found.", code="label_set_not_found") from None


def severity_label_list(*, label_set: LabelSet, error_type_id=None, clip_id=None) -> QuerySet:
    qs = SeverityLabel.objects.filter(label_set=label_set).select_related(
        "repetition__clip", "error_type").order_by("error_type_id", "repetition_id")
    if error_type_id is not None:
        qs = qs.filter(error_type_id=error_type_id)
    if clip_id is not None:
        qs = qs.filter(repetition__clip_id=clip_id)
    return qs


def end_point_label_list(*, label_set: LabelSet, disagree=None, clip_id=None) -> QuerySet:
    qs = EndPointLabel.objects.filter(label_set=label_set).select_related("clip").order_by("clip_id")
    if disagree is not None:
        qs = qs.filter(disagree=disagree)
    if clip_id is not None:
        qs = qs.filter(clip_id=clip_id)
    return qs


def severity_means(*, label_set: LabelSet, error_type_id: int) -> list[float]:
    """The mean vote of every item of one error type (for the histogram)."""
    return list(SeverityLabel.objects.filter(label_set=label_set, error_type_id=error_type_id)
                .values_list("mean", flat=True))


def agreement_report_list(*, user, dataset_id=None) -> QuerySet:
    qs = AgreementReport.objects.select_related("dataset", "label_set").order_by("-created_at", "-id")
    if not is_staff_role(user):
        return qs.none()
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    return qs


def agreement_report_get(*, user, report_id) -> AgreementReport:
    try:
        return agreement_report_list(user=user).get(pk=report_id)
    except (AgreementReport.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Agreement report {report_id} not found.", code="agreement_report_not_found") from None


def agreement_report_latest(*, user, dataset_id) -> AgreementReport:
    report = agreement_report_list(user=user, dataset_id=dataset_id).first()
    if report is None:
        raise NotFoundError("This dataset has no agreement report yet: run compute_agreement or aggregate_severity.",
                            code="agreement_report_not_found")
    return report


def error_type_agreement_list(*, report: AgreementReport) -> QuerySet:
    return ErrorTypeAgreement.objects.filter(report=report).select_related("error_type__exercise") \
        .order_by("error_type__exercise__slug", "error_type__code")


def annotator_agreement_list(*, report: AgreementReport) -> QuerySet:
    return AnnotatorAgreement.objects.filter(report=report).select_related("annotator").order_by("annotator_id")
