"""REST views of the model registry: list and launch runs, run detail, compare two runs, plots.

Admins only. Launching creates a training job (the run appears when the job succeeds); its
progress is at ``/api/jobs/<id>/``.
"""
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsAdmin
from config.api import optional_int, paginated_response
from config.exceptions import DomainError
from datasets.selectors import dataset_get_for_user
from tasks.apis import JobOutput
from tasks.models import ModelRun
from tasks.services import job_launch
from tasks.training import selectors
from tasks.training.runs import model_run_compare, model_run_plot_read

TRAINING_KINDS = [choice.value for choice in ModelRun.Kind]


class RunListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    split_version = serializers.IntegerField(source="split_version_id", allow_null=True)
    label_set_id = serializers.IntegerField(allow_null=True)
    endpoint_label_set_id = serializers.IntegerField(allow_null=True)
    estimator = serializers.CharField()
    seed = serializers.IntegerField()
    headline = serializers.JSONField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    launched_by = serializers.CharField(source="launched_by.username", default=None)
    duration_s = serializers.FloatField(allow_null=True)
    code_version = serializers.CharField()
    created_at = serializers.DateTimeField()


class RunDetailOutput(RunListOutput):
    key = serializers.UUIDField()
    label_sets = serializers.JSONField()
    params = serializers.JSONField()
    inputs = serializers.JSONField()
    metrics = serializers.JSONField()
    artefacts = serializers.JSONField()
    model_sha256 = serializers.CharField()
    plots = serializers.SerializerMethodField()

    def get_plots(self, run) -> list[str]:
        return [f"/api/runs/{run.pk}/plots/{name}.png" for name in run.plot_names()]


class RunListApi(APIView):
    """GET: the model runs, newest first. POST: launch a training job."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(TRAINING_KINDS)
        dataset = serializers.IntegerField()
        params = serializers.DictField(required=False, default=dict)

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=TRAINING_KINDS), OpenApiParameter("dataset", int)],
        responses=RunListOutput(many=True),
    )
    def get(self, request):
        kind = request.query_params.get("kind")
        if kind and kind not in TRAINING_KINDS:
            raise DomainError(f"Unknown run kind {kind!r}.", code="unknown_run_kind", fields={"known": TRAINING_KINDS})
        qs = selectors.model_run_list_for_user(user=request.user, kind=kind,
                                               dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=RunListOutput)

    @extend_schema(request=InputSerializer, responses={201: JobOutput})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dataset = dataset_get_for_user(user=request.user, dataset_id=data["dataset"])
        job = job_launch(kind=data["kind"], dataset=dataset, params=data["params"], user=request.user)
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=RunDetailOutput)
    def get(self, request, run_id):
        run = selectors.model_run_get_for_user(user=request.user, run_id=run_id)
        return Response(RunDetailOutput(run).data)


class RunCompareApi(APIView):
    """Two runs side by side: parameter changes, per-metric deltas (b - a), and per error type
    Kappa1 of each run against the target."""

    permission_classes = [IsAdmin]

    class OutputSerializer(serializers.Serializer):
        a = RunDetailOutput()
        b = RunDetailOutput()
        same_kind = serializers.BooleanField()
        same_inputs = serializers.BooleanField()
        params_changed = serializers.JSONField()
        metrics = serializers.JSONField()
        error_types = serializers.JSONField()

    @extend_schema(parameters=[OpenApiParameter("a", int, required=True), OpenApiParameter("b", int, required=True)],
                   responses=OutputSerializer)
    def get(self, request):
        a, b = selectors.model_run_pair_for_user(user=request.user, a=request.query_params.get("a"),
                                                 b=request.query_params.get("b"))
        comparison = model_run_compare(a=a, b=b)
        comparison["a"], comparison["b"] = a, b
        return Response(self.OutputSerializer(comparison).data)


class RunPlotApi(APIView):
    """One of the run's PNG plots (kappa1_vs_target, severity_confusion, exercise_confusion, ...)."""

    permission_classes = [IsAdmin]

    @extend_schema(responses={(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, run_id, name):
        run = selectors.model_run_get_for_user(user=request.user, run_id=run_id)
        return HttpResponse(model_run_plot_read(run=run, name=name), content_type="image/png")
