"""The graph (versions, actions with phases -> rows -> slots, error types) and scoring."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ErrorSerializer, paginated_response
from kg import selectors
from kg.apis.common import GRAPH_VERSION_PARAM, SLOT_LIST, KgScoreOutput, graph_version_from_query
from kg.services.scoring import slot_set_score


class KgGraphVersionListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.IntegerField()
        content_hash = serializers.CharField()
        source = serializers.CharField()
        path = serializers.CharField()
        is_current = serializers.BooleanField()
        counts = serializers.DictField(child=serializers.IntegerField())
        loaded_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        return paginated_response(request=request, view=self, queryset=selectors.graph_version_list(),
                                  serializer_class=self.OutputSerializer)


class KgActionListApi(APIView):
    """The graph's actions (A01..A20) with their total weights."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        code = serializers.CharField()
        index = serializers.IntegerField()
        name = serializers.CharField()
        total_weight = serializers.IntegerField()
        graph_version = serializers.IntegerField(source="graph_version.number")

    @extend_schema(parameters=[GRAPH_VERSION_PARAM], responses=OutputSerializer(many=True))
    def get(self, request):
        qs = selectors.action_list(graph_version=graph_version_from_query(request)).select_related("graph_version")
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class KgActionDetailApi(APIView):
    """One action: phases in order -> rows -> keysteps and slots with weights."""

    class OutputSerializer(serializers.Serializer):
        class PhaseOutput(serializers.Serializer):
            class RowOutput(serializers.Serializer):
                class KeystepOutput(serializers.Serializer):
                    code = serializers.CharField()
                    description = serializers.CharField()

                class RowSlotOutput(serializers.Serializer):
                    key = serializers.CharField()
                    position = serializers.IntegerField()
                    error_type = serializers.CharField()
                    description = serializers.CharField()
                    weight = serializers.IntegerField()

                position = serializers.IntegerField()
                keysteps = KeystepOutput(many=True)
                slots = RowSlotOutput(many=True)

            name = serializers.CharField()
            position = serializers.IntegerField()
            total = serializers.IntegerField()
            rows = RowOutput(many=True)

        id = serializers.IntegerField()
        code = serializers.CharField()
        index = serializers.IntegerField()
        name = serializers.CharField()
        graph_version = serializers.IntegerField()
        total_weight = serializers.IntegerField()
        slot_count = serializers.IntegerField()
        phases = PhaseOutput(many=True)

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, action_id):
        return Response(self.OutputSerializer(selectors.action_tree_get(action_id=action_id)).data)


class KgErrorTypeListApi(APIView):
    """The graph's error types with weights and their current feedback text (null when none)."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        description = serializers.CharField()
        weight = serializers.IntegerField()
        feedback = serializers.CharField(allow_null=True)
        feedback_version = serializers.IntegerField(allow_null=True)

    @extend_schema(parameters=[GRAPH_VERSION_PARAM], responses=OutputSerializer(many=True))
    def get(self, request):
        rows = selectors.error_type_rows(graph_version=graph_version_from_query(request))
        return Response(self.OutputSerializer(rows, many=True).data)


class KgScoreApi(APIView):
    """Score a slot set of one action (FLEX Eq. 1). Answers what ``manage.py kg_score`` prints."""

    class InputSerializer(serializers.Serializer):
        action = serializers.CharField(max_length=128, help_text="Action name or code (A01).")
        slots = SLOT_LIST
        graph_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    @extend_schema(request=InputSerializer, responses={200: KgScoreOutput, 400: ErrorSerializer, 404: ErrorSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = slot_set_score(action=data["action"], slots=data["slots"],
                              graph_version_number=data.get("graph_version"))
        return Response(KgScoreOutput(body).data)
