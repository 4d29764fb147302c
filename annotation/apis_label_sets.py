"""REST views for curators: label sets, their per-item results, the current flag, agreement
reports and the BMM histogram (JSON series or PNG). Label sets are read-only here: new versions
come from the aggregation jobs (``POST /api/jobs/launch/``)."""
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors_label_sets as selectors
from annotation.models import LabelSet
from annotation.plots import histogram_png, severity_histogram_data
from annotation.roles import IsCurator
from annotation.services.aggregation import label_set_set_current
from config.api import optional_int, paginated_response


def _optional_bool(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise serializers.ValidationError({name: [f"Expected true or false, got {raw!r}."]})


def _required_int(request, name):
    value = optional_int(request, name)
    if value is None:
        raise serializers.ValidationError({name: ["This query parameter is required."]})
    return value


class LabelSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    kind = serializers.CharField()
    number = serializers.IntegerField()
    method = serializers.CharField()
    params = serializers.JSONField()
    code_version = serializers.CharField()
    input_count = serializers.IntegerField()
    input_hash = serializers.CharField()
    item_count = serializers.IntegerField()
    is_current = serializers.BooleanField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_by = serializers.CharField(source="created_by.username", default=None)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    timings = serializers.JSONField()


class LabelSetListApi(APIView):
    """Label-set versions, newest first. Filter by dataset, kind (endpoints / severity), current."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("dataset", int),
                               OpenApiParameter("kind", str, enum=LabelSet.Kind.values),
                               OpenApiParameter("current", bool)],
                   responses=LabelSetOutput(many=True))
    def get(self, request):
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in LabelSet.Kind.values:
            raise serializers.ValidationError({"kind": [f"Expected one of {LabelSet.Kind.values}."]})
        qs = selectors.label_set_list(user=request.user, dataset_id=optional_int(request, "dataset"), kind=kind,
                                      current=_optional_bool(request, "current"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=LabelSetOutput)


class LabelSetDetailApi(APIView):
    """One label set with its summary (counts, BMM and Dawid-Skene fits per error type, flags)."""

    permission_classes = [IsCurator]

    class OutputSerializer(LabelSetOutput):
        summary = serializers.JSONField()
        agreement_report = serializers.SerializerMethodField()

        def get_agreement_report(self, label_set) -> int | None:
            report = getattr(label_set, "agreement", None)
            return report.pk if report else None

    @extend_schema(responses=OutputSerializer)
    def get(self, request, label_set_id):
        label_set = selectors.label_set_get(user=request.user, label_set_id=label_set_id)
        return Response(self.OutputSerializer(label_set).data)


class SeverityItemOutput(serializers.Serializer):
    repetition = serializers.IntegerField(source="repetition_id")
    clip = serializers.IntegerField(source="repetition.clip_id")
    clip_external_id = serializers.CharField(source="repetition.clip.external_id")
    rep_index = serializers.IntegerField(source="repetition.index")
    error_type = serializers.IntegerField(source="error_type_id")
    error_type_code = serializers.CharField(source="error_type.code")
    n_votes = serializers.IntegerField()
    mean = serializers.FloatField()
    majority = serializers.IntegerField()
    bmm_score = serializers.FloatField(allow_null=True)
    ds_class = serializers.IntegerField(allow_null=True)
    ds_confidence = serializers.FloatField(allow_null=True)


class EndPointItemOutput(serializers.Serializer):
    clip = serializers.IntegerField(source="clip_id")
    clip_external_id = serializers.CharField(source="clip.external_id")
    n_annotators = serializers.IntegerField()
    count = serializers.IntegerField()
    ends = serializers.ListField(child=serializers.FloatField())
    spread = serializers.ListField(child=serializers.FloatField())
    disagree = serializers.BooleanField()
    reason = serializers.CharField()


class LabelSetItemListApi(APIView):
    """Per-item results of a label set, paginated: severity items (filter ``error_type``,
    ``clip``) or end-point clips (filter ``clip``, ``disagree``)."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("error_type", int), OpenApiParameter("clip", int),
                               OpenApiParameter("disagree", bool)],
                   responses={200: OpenApiResponse(description="Paginated SeverityItemOutput or EndPointItemOutput "
                                                               "rows, by the label set's kind.")})
    def get(self, request, label_set_id):
        label_set = selectors.label_set_get(user=request.user, label_set_id=label_set_id)
        clip_id = optional_int(request, "clip")
        if label_set.kind == LabelSet.Kind.SEVERITY:
            qs = selectors.severity_label_list(label_set=label_set, error_type_id=optional_int(request, "error_type"),
                                               clip_id=clip_id)
            serializer = SeverityItemOutput
        else:
            qs = selectors.end_point_label_list(label_set=label_set, disagree=_optional_bool(request, "disagree"),
                                                clip_id=clip_id)
            serializer = EndPointItemOutput
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=serializer)


class LabelSetSetCurrentApi(APIView):
    """Make this label set the current one of its dataset and kind (the previous one stops being
    current). Idempotent. Nothing else about a label set can change."""

    permission_classes = [IsCurator]

    @extend_schema(request=None, responses=LabelSetOutput)
    def post(self, request, label_set_id):
        label_set = selectors.label_set_get(user=request.user, label_set_id=label_set_id)
        return Response(LabelSetOutput(label_set_set_current(label_set=label_set)).data)


class LabelSetHistogramApi(APIView):
    """Histogram of one error type's mean votes (density, x = mean / 3) with the fitted BMM curve
    (mixture, components, posterior of the high component), as JSON series for the browser."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("error_type", int, required=True), OpenApiParameter("bins", int)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, label_set_id):
        label_set = selectors.label_set_get(user=request.user, label_set_id=label_set_id)
        bins = min(max(optional_int(request, "bins") or 30, 5), 120)
        return Response(severity_histogram_data(label_set=label_set, error_type_id=_required_int(request, "error_type"),
                                                bins=bins))


class LabelSetHistogramPngApi(APIView):
    """The same histogram and BMM curve drawn as a PNG (matplotlib, Agg)."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("error_type", int, required=True), OpenApiParameter("bins", int)],
                   responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, label_set_id):
        label_set = selectors.label_set_get(user=request.user, label_set_id=label_set_id)
        bins = min(max(optional_int(request, "bins") or 30, 5), 120)
        data = severity_histogram_data(label_set=label_set, error_type_id=_required_int(request, "error_type"),
                                       bins=bins)
        title = f"{label_set.dataset.name} severity v{label_set.number}: {data['error_type_code']}"
        response = HttpResponse(histogram_png(data, title=title), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"  # a label set never changes
        return response


class AgreementReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    label_set = serializers.IntegerField(source="label_set_id", allow_null=True)
    input_count = serializers.IntegerField()
    input_hash = serializers.CharField()
    code_version = serializers.CharField()
    summary = serializers.JSONField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class AgreementReportListApi(APIView):
    """Agreement reports, newest first (``dataset`` filter)."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("dataset", int)], responses=AgreementReportOutput(many=True))
    def get(self, request):
        qs = selectors.agreement_report_list(user=request.user, dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=AgreementReportOutput)


class AgreementReportLatestApi(APIView):
    """The newest agreement report of a dataset."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("dataset", int, required=True)], responses=AgreementReportOutput)
    def get(self, request):
        report = selectors.agreement_report_latest(user=request.user, dataset_id=_required_int(request, "dataset"))
        return Response(AgreementReportOutput(report).data)


class AgreementReportDetailApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses=AgreementReportOutput)
    def get(self, request, report_id):
        report = selectors.agreement_report_get(user=request.user, report_id=report_id)
        return Response(AgreementReportOutput(report).data)


class AgreementErrorTypeListApi(APIView):
    """Per error type: Kappa0 / Kappa1 of the votes against the leave-one-out majority, alpha,
    and the Halo target (85 % of Kappa1) a model must reach, with the catalogue's reference."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        error_type = serializers.IntegerField(source="error_type_id")
        error_type_code = serializers.CharField(source="error_type.code")
        exercise = serializers.CharField(source="error_type.exercise.slug")
        n_items = serializers.IntegerField()
        n_votes = serializers.IntegerField()
        n_annotators = serializers.IntegerField()
        kappa0 = serializers.FloatField(allow_null=True)
        kappa1 = serializers.FloatField(allow_null=True)
        mean_annotator_kappa1 = serializers.FloatField(allow_null=True)
        alpha = serializers.FloatField(allow_null=True)
        target_kappa1 = serializers.FloatField(allow_null=True)
        reference_kappa1 = serializers.FloatField(allow_null=True)
        majority_counts = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, report_id):
        report = selectors.agreement_report_get(user=request.user, report_id=report_id)
        qs = selectors.error_type_agreement_list(report=report)
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class AgreementAnnotatorListApi(APIView):
    """Per annotator: Kappa0 / Kappa1 against the leave-one-out majority (item-weighted over error
    types) and Dawid-Skene reliability: accuracy and the 4x4 confusion [true class][vote]."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        annotator = serializers.IntegerField(source="annotator_id")
        username = serializers.CharField(source="annotator.username", default=None)
        n_votes = serializers.IntegerField()
        n_items_scored = serializers.IntegerField()
        kappa0 = serializers.FloatField(allow_null=True)
        kappa1 = serializers.FloatField(allow_null=True)
        ds_accuracy = serializers.FloatField(allow_null=True)
        confusion = serializers.JSONField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, report_id):
        report = selectors.agreement_report_get(user=request.user, report_id=report_id)
        qs = selectors.annotator_agreement_list(report=report)
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)
