"""REST views for submitting and reading raw labels."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.roles import IsAnnotator, IsCurator
from annotation.services.labels import end_points_submit, vote_submit
from config.api import optional_int, paginated_response
from datasets.selectors import clip_get_for_user
from datasets.selectors_truth import clip_truth_get

CLIENT_KEY = serializers.RegexField(r"^[A-Za-z0-9_.:-]{8,64}$",
                                    help_text="Client-chosen idempotency key, 8-64 characters.")


class SubmissionOutput(serializers.Serializer):
    client_key = serializers.CharField()
    stored = serializers.IntegerField()
    dataset = serializers.IntegerField(required=False, allow_null=True,
                                       help_text="Votes: the dataset of the batch (null when it spans several).")
    replayed = serializers.BooleanField()


def _submission_response(result: dict, replayed: bool) -> Response:
    body = dict(result, replayed=replayed)
    return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


class VoteSubmitApi(APIView):
    """Submit severity votes (0..3) for repetitions of clips you are assigned.

    Idempotent by ``client_key``: a retry with the same key and body returns the first answer
    (``replayed: true``) and stores nothing; the same key with another body is a 409.
    """

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        class VoteInput(serializers.Serializer):
            repetition = serializers.IntegerField(min_value=1, max_value=2**62)
            error_type = serializers.IntegerField(min_value=1, max_value=2**62)
            value = serializers.IntegerField(min_value=0, max_value=3)

        client_key = CLIENT_KEY
        votes = VoteInput(many=True, allow_empty=False, max_length=1000)

    @extend_schema(request=InputSerializer, responses={201: SubmissionOutput, 200: SubmissionOutput})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result, replayed = vote_submit(user=request.user, client_key=data["client_key"],
                                       votes=[dict(v) for v in data["votes"]])
        return _submission_response(result, replayed)


class VoteListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        repetition = serializers.IntegerField(source="repetition_id")
        error_type = serializers.IntegerField(source="error_type_id")
        annotator = serializers.IntegerField(source="annotator_id")
        value = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(parameters=[OpenApiParameter("clip", int), OpenApiParameter("dataset", int)],
                   responses=OutputSerializer(many=True))
    def get(self, request):
        qs = selectors.vote_list_for_user(user=request.user, clip_id=optional_int(request, "clip"),
                                          dataset_id=optional_int(request, "dataset"))
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class EndPointSubmitApi(APIView):
    """Submit your repetition end frames for a clip, all at once (frame indices as displayed)."""

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        frames = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=10**7),
                                       allow_empty=True, max_length=2000)

    @extend_schema(request=InputSerializer, responses={201: SubmissionOutput, 200: SubmissionOutput})
    def post(self, request, clip_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        result, replayed = end_points_submit(user=request.user, clip=clip,
                                             client_key=serializer.validated_data["client_key"],
                                             frames=serializer.validated_data["frames"])
        return _submission_response(result, replayed)


class EndPointListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        annotator = serializers.IntegerField(source="annotator_id")
        frame = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, clip_id):
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        qs = selectors.end_point_list_for_user(user=request.user, clip=clip)
        return paginated_response(request=request, view=self, queryset=qs, serializer_class=self.OutputSerializer)


class ClipTruthApi(APIView):
    """Hidden truth of a synthetic clip (true repetition bounds and severities). Curators only."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        clip = serializers.IntegerField()
        true_starts = serializers.ListField(child=serializers.IntegerField())
        true_ends = serializers.ListField(child=serializers.IntegerField())
        severities = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request, clip_id):
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(clip_truth_get(clip=clip)).data)
