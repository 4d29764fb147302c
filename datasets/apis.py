"""REST views for datasets, exercises, error types, participants, clips and pose arrays."""
from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsCurator
from config.api import optional_int, paginated_response
from config.exceptions import DomainError, NotFoundError
from datasets import selectors
from datasets.models import Exercise, Participant
from datasets.services.clips import clip_create


class DatasetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    is_synthetic = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DatasetListApi(APIView):
    OutputSerializer = DatasetOutput

    @extend_schema(responses=DatasetOutput(many=True))
    def get(self, request):
        qs = selectors.dataset_list_for_user(user=request.user)
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class DatasetDetailApi(APIView):
    @extend_schema(responses=DatasetOutput)
    def get(self, request, dataset_id):
        dataset = selectors.dataset_get_for_user(user=request.user, dataset_id=dataset_id)
        return Response(DatasetOutput(dataset).data)


class ExerciseListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        dataset = serializers.IntegerField(source="dataset_id")
        slug = serializers.CharField()
        name = serializers.CharField()
        skeleton_layout = serializers.CharField()
        joint_count = serializers.IntegerField()
        dims = serializers.IntegerField()

    @extend_schema(parameters=[OpenApiParameter("dataset", int)], responses=OutputSerializer(many=True))
    def get(self, request):
        qs = selectors.exercise_list_for_user(user=request.user, dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class ErrorTypeListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        exercise = serializers.IntegerField(source="exercise_id")
        code = serializers.CharField()
        description = serializers.CharField()
        generic_name = serializers.CharField()

    @extend_schema(parameters=[OpenApiParameter("dataset", int), OpenApiParameter("exercise", int)],
                   responses=OutputSerializer(many=True))
    def get(self, request):
        qs = selectors.error_type_list_for_user(
            user=request.user, dataset_id=optional_int(request, "dataset"),
            exercise_id=optional_int(request, "exercise"),
        )
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class ParticipantListApi(APIView):
    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        dataset = serializers.IntegerField(source="dataset_id")
        external_id = serializers.CharField()
        skill_level = serializers.IntegerField(allow_null=True)

    @extend_schema(parameters=[OpenApiParameter("dataset", int)], responses=OutputSerializer(many=True))
    def get(self, request):
        qs = selectors.participant_list(dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class ClipOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    exercise = serializers.IntegerField(source="exercise_id")
    participant = serializers.IntegerField(source="participant_id", allow_null=True)
    external_id = serializers.CharField()
    fps = serializers.FloatField()
    frame_count = serializers.IntegerField()
    has_pose = serializers.SerializerMethodField()
    has_video = serializers.SerializerMethodField()
    content_hash = serializers.CharField()

    def get_has_pose(self, clip) -> bool:
        return bool(clip.pose_file)

    def get_has_video(self, clip) -> bool:
        return bool(clip.video_file)


class ClipListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("dataset", int), OpenApiParameter("exercise", int),
                    OpenApiParameter("participant", int)],
        responses=ClipOutput(many=True),
    )
    def get(self, request):
        qs = selectors.clip_list_for_user(
            user=request.user, dataset_id=optional_int(request, "dataset"),
            exercise_id=optional_int(request, "exercise"), participant_id=optional_int(request, "participant"),
        )
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=ClipOutput)


class ClipCreateApi(APIView):
    """Upload a clip: a pose ``.npy`` of shape (frames, joints, 2 or 3). Curators and admins."""

    permission_classes = [IsCurator]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        dataset = serializers.IntegerField()
        exercise = serializers.IntegerField()
        participant = serializers.IntegerField(required=False, allow_null=True)
        external_id = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
        fps = serializers.FloatField(min_value=1.0, max_value=1000.0)
        pose_file = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={201: ClipOutput})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dataset = selectors.dataset_get_for_user(user=request.user, dataset_id=data["dataset"])
        exercise = Exercise.objects.filter(pk=data["exercise"], dataset=dataset).first()
        if exercise is None:
            raise DomainError("Unknown exercise for this dataset.", code="exercise_not_found")
        participant = None
        if data.get("participant") is not None:
            participant = Participant.objects.filter(pk=data["participant"], dataset=dataset).first()
            if participant is None:
                raise DomainError("Unknown participant for this dataset.", code="participant_not_found")
        upload = data["pose_file"]
        if upload.size > settings.FORMLAB_POSE_MAX_BYTES:
            raise DomainError(f"The file is {upload.size} bytes; the limit is {settings.FORMLAB_POSE_MAX_BYTES}.",
                              code="pose_too_large")
        clip = clip_create(dataset=dataset, exercise=exercise, participant=participant,
                           external_id=data["external_id"], fps=data["fps"], pose_data=upload.read())
        return Response(ClipOutput(clip).data, status=status.HTTP_201_CREATED)


class ClipDetailApi(APIView):
    @extend_schema(responses=ClipOutput)
    def get(self, request, clip_id):
        clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
        return Response(ClipOutput(clip).data)


class ClipPoseApi(APIView):
    """The clip's pose array as a ``.npy`` file (float32, frames x joints x 2 or 3; NaN = dropped)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, clip_id):
        clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
        if not clip.pose_file:
            raise NotFoundError("This clip has no pose array.", code="pose_missing")
        try:
            handle = clip.pose_file.open("rb")
        except (FileNotFoundError, OSError):
            raise NotFoundError("The pose file is missing from storage.", code="pose_file_missing") from None
        response = FileResponse(handle, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="clip-{clip.pk}.npy"'
        response["Cache-Control"] = "private, max-age=3600"
        return response


class RepetitionListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        clip = serializers.IntegerField(source="clip_id")
        index = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, clip_id):
        clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
        qs = selectors.repetition_list_for_clip(clip=clip)
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)
