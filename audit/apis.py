"""The audit log API: read-only, curators and admins. There is no route that writes or deletes."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from annotation.roles import IsCurator
from audit import selectors
from audit.models import AuditEntry
from config.api import paginated_response


class AuditEntryListApi(APIView):
    """Who created, changed or deleted labels, label sets, splits, exports, feedback texts, graph
    versions and model runs; when, and from where. Newest first, paginated."""

    permission_classes = [IsCurator]

    class FilterSerializer(serializers.Serializer):
        actor = serializers.RegexField(r"^[\w.@+-]{1,150}$", required=False,
                                       help_text="User id or username.")
        action = serializers.ChoiceField(AuditEntry.Action.choices, required=False)
        object_type = serializers.RegexField(r"^[A-Za-z_][\w.:]{0,99}$", required=False,
                                             help_text="Model label, e.g. annotation.SeverityVote or SeverityVote.")
        object_id = serializers.CharField(max_length=64, required=False)
        dataset = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
        since = serializers.DateTimeField(required=False, help_text="ISO 8601; entries at or after.")
        until = serializers.DateTimeField(required=False, help_text="ISO 8601; entries before.")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        actor = serializers.IntegerField(source="actor_id", allow_null=True)
        actor_username = serializers.CharField()
        action = serializers.CharField()
        object_type = serializers.CharField()
        object_id = serializers.CharField()
        dataset = serializers.IntegerField(source="dataset_id", allow_null=True)
        changes = serializers.JSONField()
        source = serializers.CharField()
        ip_address = serializers.CharField(allow_null=True)
        user_agent = serializers.CharField()

    @extend_schema(parameters=[FilterSerializer], responses=OutputSerializer(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        qs = selectors.audit_entry_list(
            actor=data.get("actor"), action=data.get("action"), object_type=data.get("object_type"),
            object_id=data.get("object_id"), dataset_id=data.get("dataset"),
            since=data.get("since"), until=data.get("until"),
        )
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)
