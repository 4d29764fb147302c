"""FLEX label sets (computed by the ``score_flex`` job) and the agreement report."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsCurator
from config.api import ErrorSerializer, optional_int, paginated_response
from datasets.selectors import dataset_get_for_user
from kg import selectors
from kg.apis.common import GRAPH_VERSION_PARAM, graph_version_from_query
from kg.models import FlexSampleLabel
from kg.services.agreement import flex_agreement_compute
from kg.services.label_sets import flex_label_set_make_current


class FlexLabelSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    number = serializers.IntegerField()
    graph_version = serializers.IntegerField(source="graph_version.number")
    is_current = serializers.BooleanField()
    params = serializers.DictField()
    code_version = serializers.CharField()
    counts = serializers.DictField()
    summary = serializers.DictField()
    input_hash = serializers.CharField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class FlexLabelSetListApi(APIView):
    """FLEX label sets (newest first). Compute a new one with the ``score_flex`` job."""

    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("dataset", int)], responses=FlexLabelSetOutput(many=True))
    def get(self, request):
        qs = selectors.label_set_list(dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=FlexLabelSetOutput)


class FlexLabelSetDetailApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses={200: FlexLabelSetOutput, 404: ErrorSerializer})
    def get(self, request, label_set_id):
        return Response(FlexLabelSetOutput(selectors.label_set_get(label_set_id=label_set_id)).data)


class FlexLabelSetSampleListApi(APIView):
    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        clip = serializers.IntegerField(source="clip_id")
        action_index = serializers.IntegerField(allow_null=True)
        status = serializers.CharField()
        n_stage1 = serializers.IntegerField()
        n_reviews = serializers.IntegerField()
        proposal = serializers.ListField(child=serializers.CharField(), allow_null=True)
        final = serializers.ListField(child=serializers.CharField(), allow_null=True)
        tied = serializers.ListField(child=serializers.CharField(), allow_null=True)
        total = serializers.IntegerField(allow_null=True)
        penalty = serializers.IntegerField(allow_null=True)
        score = serializers.FloatField(allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=[s.value for s in FlexSampleLabel.Status]),
                    OpenApiParameter("action", int, description="Action index (1 = A01).")],
        responses=OutputSerializer(many=True),
    )
    def get(self, request, label_set_id):
        label_set = selectors.label_set_get(label_set_id=label_set_id)
        qs = selectors.label_set_samples(label_set=label_set, status=request.query_params.get("status"),
                                         action_index=optional_int(request, "action"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class FlexLabelSetMakeCurrentApi(APIView):
    """Make this label set its dataset's current one."""

    permission_classes = [IsCurator]

    @extend_schema(request=None, responses={200: FlexLabelSetOutput, 404: ErrorSerializer})
    def post(self, request, label_set_id):
        label_set = selectors.label_set_get(label_set_id=label_set_id)
        return Response(FlexLabelSetOutput(flex_label_set_make_current(label_set=label_set)).data)


class FlexAgreementApi(APIView):
    """Krippendorff's alpha on slot marks per action and per error type: among stage-1 annotators,
    among reviewers, stage-1 vs final, proposal vs final; plus changed-slot and mark rates."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField()
        graph_version = serializers.IntegerField()
        samples = serializers.IntegerField()
        final_samples = serializers.IntegerField()
        overall = serializers.DictField()
        per_action = serializers.ListField(child=serializers.DictField())
        per_error_type = serializers.ListField(child=serializers.DictField())

    @extend_schema(parameters=[OpenApiParameter("dataset", int, required=True), GRAPH_VERSION_PARAM],
                   responses={200: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request):
        dataset_id = optional_int(request, "dataset")
        if dataset_id is None:
            raise serializers.ValidationError({"dataset": ["Required."]})
        dataset = dataset_get_for_user(user=request.user, dataset_id=dataset_id)
        body = flex_agreement_compute(dataset=dataset, graph_version=graph_version_from_query(request))
        return Response(self.OutputSerializer(body).data)
