"""REST views for split versions (list, detail, balance table and plot, clips, manifest, import,
edit, make) and exports (formats, launch, list, detail with job progress, zip download).

Curators and admins only: splits name participants. Views only translate HTTP: they validate
the input, fetch through a selector and call one service.
"""
import tempfile
from pathlib import Path

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsCurator
from config.api import optional_int, paginated_response
from config.exceptions import ConflictError, DomainError, NotFoundError
from datasets import selectors, selectors_splits
from datasets.exports.report import balance_json, balance_png
from datasets.exports.service import export_formats, split_export_launch, split_export_zip
from datasets.importers.safety import sanitize_upload_name
from datasets.importers.writer import dataset_import
from datasets.models import SplitVersion
from datasets.services.splits import SPLIT_NAMES, split_edit
from tasks.models import Job
from tasks.services import job_launch

IMPORT_FORMATS = ["split_csv", "repcount_a", "fitness_aqa", "qevd", "flex", "jsonl"]
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class SplitVersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    version = serializers.IntegerField()
    name = serializers.CharField()
    note = serializers.CharField()
    source = serializers.CharField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    rule = serializers.CharField()
    rule_detail = serializers.CharField()
    participant_based = serializers.BooleanField()
    label_set = serializers.IntegerField(source="label_set_id", allow_null=True)
    label_set_info = serializers.JSONField()
    params = serializers.JSONField()
    seed = serializers.IntegerField(allow_null=True)
    counts = serializers.JSONField()
    max_deviation = serializers.SerializerMethodField()
    manifest_hash = serializers.CharField()
    code_version = serializers.CharField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()

    def get_max_deviation(self, obj) -> float | None:
        return (obj.balance or {}).get("max_deviation")


class SplitVersionListApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("dataset", int)], responses=SplitVersionOutput(many=True))
    def get(self, request):
        qs = selectors_splits.split_version_list(dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=SplitVersionOutput)


class SplitVersionDetailApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses=SplitVersionOutput)
    def get(self, request, split_version_id):
        version = selectors_splits.split_version_get(split_version_id=split_version_id)
        return Response(SplitVersionOutput(version).data)


class SplitBalanceApi(APIView):
    """Per-split proportions of exercise, skill and severity class, the largest deviation from the
    whole, and severity class counts per error type and split (for the browser's tables and charts)."""

    permission_classes = [IsCurator]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, split_version_id):
        version = selectors_splits.split_version_get(split_version_id=split_version_id)
        return Response(balance_json(version))


class SplitBalancePlotApi(APIView):
    """The class balance per split as a PNG."""

    permission_classes = [IsCurator]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, split_version_id):
        version = selectors_splits.split_version_get(split_version_id=split_version_id)
        response = HttpResponse(balance_png(version), content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400"  # a frozen version never changes
        return response


class SplitClipListApi(APIView):
    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        clip = serializers.IntegerField(source="clip_id")
        external_id = serializers.CharField(source="clip.external_id")
        exercise = serializers.CharField(source="clip.exercise.slug")
        participant = serializers.CharField(source="clip.participant.external_id", default=None)
        split = serializers.SerializerMethodField()

        def get_split(self, obj) -> str:
            return SPLIT_NAMES[obj.split]

    @extend_schema(parameters=[OpenApiParameter("split", str, enum=list(SPLIT_NAMES))],
                   responses=OutputSerializer(many=True))
    def get(self, request, split_version_id):
        version = selectors_splits.split_version_get(split_version_id=split_version_id)
        split = request.query_params.get("split")
        if split not in (None, "") and split not in SPLIT_NAMES:
            raise DomainError(f"Unknown split {split!r}; use train, val or test.", code="unknown_split_name")
        qs = selectors_splits.split_membership_list(split_version=version,
                                                    split=SPLIT_NAMES.index(split) if split else None)
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class SplitManifestApi(APIView):
    """The version as a CSV ``clip_id,split`` (sorted), the file whose hash is the manifest hash's input."""

    permission_classes = [IsCurator]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, split_version_id):
        version = selectors_splits.split_version_get(split_version_id=split_version_id)
        rows = selectors_splits.split_membership_list(split_version=version).values_list("clip__external_id", "split")
        body = "clip_id,split\n" + "".join(f"{ext},{SPLIT_NAMES[s]}\n" for ext, s in sorted(rows))
        response = HttpResponse(body, content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="split-{version.pk}.csv"'
        return response


class SplitMakeApi(APIView):
    """Launch the ``make_split`` job (participant-disjoint, stratified); the job freezes a version."""

    permission_classes = [IsCurator]

    class InputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField()
        params = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dataset = selectors.dataset_get_for_user(user=request.user, dataset_id=serializer.validated_data["dataset"])
        job = job_launch(kind="make_split", dataset=dataset, params=serializer.validated_data["params"],
                         user=request.user)
        return Response({"job": job.pk, "state": job.state, "params": job.params}, status=status.HTTP_201_CREATED)


class SplitImportApi(APIView):
    """Import a split version from uploaded split files (checked; refused with the offending
    participants when one is in two splits, unless ``rule`` names the rule the split follows)."""

    permission_classes = [IsCurator]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField()
        format = serializers.ChoiceField(IMPORT_FORMATS, default="split_csv")
        rule = serializers.ChoiceField(SplitVersion.Rule.values, required=False)
        rule_detail = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        files = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=20)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: SplitVersionOutput})
    def post(self, request):
        data = {k: request.data.get(k) for k in ("dataset", "format", "rule", "rule_detail", "note")
                if request.data.get(k) not in (None, "")}
        data["files"] = request.FILES.getlist("files")
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        dataset = selectors.dataset_get_for_user(user=request.user, dataset_id=valid["dataset"])
        with tempfile.TemporaryDirectory(prefix="formlab-split-upload-") as tmp:
            paths = []
            for upload in valid["files"]:
                name = sanitize_upload_name(upload.name)
                if upload.size > MAX_UPLOAD_BYTES:
                    raise DomainError(f"{name} is larger than {MAX_UPLOAD_BYTES} bytes.", code="file_too_large")
                target = Path(tmp) / name
                if target.exists():
                    raise DomainError(f"Two uploads are named {name}.", code="duplicate_file")
                with open(target, "wb") as handle:
                    for chunk in upload.chunks():
                        handle.write(chunk)
                paths.append(target)
            options = {"split_rule": valid.get("rule"), "split_rule_detail": valid.get("rule_detail"),
                       "note": valid.get("note", "")}
            summary = dataset_import(fmt=valid["format"], dataset_name=dataset.name, paths=paths,
                                     options={k: v for k, v in options.items() if v}, user=request.user,
                                     splits_only=True)
        version = selectors_splits.split_version_get(split_version_id=summary["split_version"])
        return Response(SplitVersionOutput(version).data, status=status.HTTP_201_CREATED)


class SplitEditApi(APIView):
    """Move clips between splits: the result is a NEW version (frozen versions never change)."""

    permission_classes = [IsCurator]

    class InputSerializer(serializers.Serializer):
        class Move(serializers.Serializer):
            clip_id = serializers.CharField(max_length=255)
            split = serializers.ChoiceField([*SPLIT_NAMES, "none"])

        moves = Move(many=True, allow_empty=False)
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(request=InputSerializer, responses={201: SplitVersionOutput})
    def post(self, request, split_version_id):
        version = selectors_splits.split_version_get(split_version_id=split_version_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moves = {m["clip_id"]: (None if m["split"] == "none" else m["split"])
                 for m in serializer.validated_data["moves"]}
        new = split_edit(split_version=version, moves=moves, note=serializer.validated_data.get("note", ""),
                         user=request.user)
        return Response(SplitVersionOutput(new).data, status=status.HTTP_201_CREATED)


class ExportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    split_version = serializers.IntegerField(source="split_version_id")
    dataset = serializers.CharField(source="split_version.dataset.name")
    format = serializers.CharField()
    options = serializers.JSONField()
    label_set = serializers.IntegerField(source="label_set_id", allow_null=True)
    state = serializers.CharField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    progress = serializers.SerializerMethodField()
    progress_message = serializers.SerializerMethodField()
    path = serializers.CharField()
    files = serializers.JSONField()
    counts = serializers.JSONField()
    error = serializers.CharField()
    download_url = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def _job(self, obj):
        jobs = self.context.setdefault("jobs", {})
        if obj.job_id not in jobs:
            jobs[obj.job_id] = Job.objects.filter(pk=obj.job_id).first() if obj.job_id else None
        return jobs[obj.job_id]

    def get_progress(self, obj) -> float:
        job = self._job(obj)
        return 1.0 if obj.state == "succeeded" else (job.progress if job else 0.0)

    def get_progress_message(self, obj) -> str:
        job = self._job(obj)
        return job.progress_message if job else ""

    def get_download_url(self, obj) -> str | None:
        return f"/api/exports/{obj.pk}/download/" if obj.state == "succeeded" else None


class ExportFormatListApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"formats": export_formats(), "balance": ["none", "two_step", "dynamic_step"],
                         "options": ["label_set", "endpoint_label_set", "balance", "balance_splits", "seed", "include_pose", "max_frames",
                                     "llava_frames", "time_instruction", "video_prefix", "qevd_span_s", "license"]})


class ExportListApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(parameters=[OpenApiParameter("split_version", int)], responses=ExportOutput(many=True))
    def get(self, request):
        qs = selectors_splits.split_export_list(split_version_id=optional_int(request, "split_version"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=ExportOutput)


class ExportLaunchApi(APIView):
    """Export a split version as a job; the files land in ``MEDIA_ROOT/exports/<id>/``."""

    permission_classes = [IsCurator]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        split_version = serializers.IntegerField()
        format = serializers.CharField(max_length=16)
        options = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses={201: ExportOutput})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = selectors_splits.split_version_get(split_version_id=data["split_version"])
        export = split_export_launch(split_version=version, fmt=data["format"], params=data["options"],
                                     user=request.user)
        return Response(ExportOutput(export).data, status=status.HTTP_201_CREATED)


class ExportDetailApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses=ExportOutput)
    def get(self, request, export_id):
        export = selectors_splits.split_export_get(export_id=export_id)
        return Response(ExportOutput(export).data)


class ExportDownloadApi(APIView):
    """The finished export as one zip (README.md, manifest.json and every data file)."""

    permission_classes = [IsCurator]

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, export_id):
        export = selectors_splits.split_export_get(export_id=export_id)
        if export.state != "succeeded":
            raise ConflictError(f"Export {export.pk} is {export.state}; download it once it has succeeded.",
                                code="export_not_ready")
        try:
            path = split_export_zip(export=export)
        except FileNotFoundError:
            raise NotFoundError("The export's files are missing from storage.", code="export_files_missing") from None
        response = FileResponse(open(path, "rb"), content_type="application/zip")
        response["Content-Disposition"] = (f'attachment; filename="{export.split_version.dataset.name}-'
                                           f'v{export.split_version.version}-{export.format}-{export.pk}.zip"')
        return response
