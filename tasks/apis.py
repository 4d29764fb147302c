"""REST views for jobs: kinds, launch, list, detail with progress, cancel."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsCurator
from config.api import optional_int, paginated_response
from config.exceptions import ForbiddenError
from datasets.selectors import dataset_get_for_user
from tasks import registry, selectors
from tasks.services import job_cancel, job_launch


class JobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    dataset = serializers.IntegerField(source="dataset_id", allow_null=True)
    dataset_name = serializers.CharField(source="dataset.name", default=None)
    params = serializers.JSONField()
    state = serializers.CharField()
    progress = serializers.FloatField()
    progress_message = serializers.CharField()
    log = serializers.ListField(child=serializers.CharField())
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField()
    cancel_requested = serializers.BooleanField()
    attempts = serializers.IntegerField()
    queue = serializers.CharField()
    code_version = serializers.CharField()
    launched_by = serializers.CharField(source="launched_by.username", default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)


def _default_of(field):
    default = field.default
    if default is serializers.empty:
        return None
    value = default() if callable(default) else default
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)


class JobKindListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        description = serializers.CharField()
        queue = serializers.CharField()
        role = serializers.CharField()
        needs_dataset = serializers.BooleanField()
        params = serializers.DictField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        kinds = []
        for kind in registry.all_kinds().values():
            fields = kind.params().fields
            params = {
                name: {
                    "type": type(field).__name__.removesuffix("Field").lower(),
                    "required": field.required,
                    "default": _default_of(field),
                    "help": str(field.help_text or ""),
                    "choices": list(getattr(field, "choices", {}) or []),
                }
                for name, field in fields.items()
            }
            kinds.append({"name": kind.name, "description": kind.description, "queue": kind.queue,
                          "role": kind.role, "needs_dataset": kind.needs_dataset, "params": params})
        return Response(self.OutputSerializer(kinds, many=True).data)


class JobListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("kind", str), OpenApiParameter("dataset", int), OpenApiParameter("state", str)],
        responses=JobOutput(many=True),
    )
    def get(self, request):
        qs = selectors.job_list_for_user(
            user=request.user, kind=request.query_params.get("kind"),
            dataset_id=optional_int(request, "dataset"), state=request.query_params.get("state"),
        )
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=JobOutput)


class JobLaunchApi(APIView):
    """Launch a job of a registered kind. Training kinds are for admins only."""

    permission_classes = [IsCurator]

    class InputSerializer(serializers.Serializer):
        kind = serializers.CharField(max_length=64)
        dataset = serializers.IntegerField(required=False, allow_null=True)
        params = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses={201: JobOutput})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dataset = None
        if data.get("dataset") is not None:
            dataset = dataset_get_for_user(user=request.user, dataset_id=data["dataset"])
        job = job_launch(kind=data["kind"], dataset=dataset, params=data["params"], user=request.user)
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutput)
    def get(self, request, job_id):
        job = selectors.job_get_for_user(user=request.user, job_id=job_id)
        return Response(JobOutput(job).data)


class JobCancelApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(request=None, responses=JobOutput)
    def post(self, request, job_id):
        job = selectors.job_get_for_user(user=request.user, job_id=job_id)
        if not selectors.job_may_cancel(user=request.user, job=job):
            raise ForbiddenError("Only an admin or the job's launcher may cancel it.", code="forbidden")
        return Response(JobOutput(job_cancel(job=job)).data)
