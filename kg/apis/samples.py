"""A FLEX sample: its state, the two annotation stages, its feedback and its hidden truth."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsAnnotator, IsCurator, IsReviewer
from config.api import ErrorSerializer
from kg import selectors
from kg.apis.common import CLIENT_KEY, ERRORS, SLOT_LIST, KgActionRef, KgScoredSet
from kg.services.feedback import sample_feedback
from kg.services.two_stage import review_view, sample_view, stage1_submit, stage2_submit


class FlexSampleDetailApi(APIView):
    """A FLEX sample's state. Annotators and reviewers see their own work and the counts only;
    curators and admins also see every set, the proposal, the final set and its score."""

    class OutputSerializer(serializers.Serializer):
        class Mine(serializers.Serializer):
            slots = serializers.ListField(child=serializers.CharField())
            approve = serializers.BooleanField(required=False)
            created_at = serializers.DateTimeField()

        clip = serializers.IntegerField()
        dataset = serializers.IntegerField()
        action = KgActionRef()
        graph_version = serializers.IntegerField()
        status = serializers.CharField(help_text="stage1_open, stage2_open, tied, final or graph_mismatch.")
        stage1_count = serializers.IntegerField()
        review_count = serializers.IntegerField()
        class Labels(serializers.Serializer):
            class Stage1(serializers.Serializer):
                annotator = serializers.IntegerField()
                slots = serializers.ListField(child=serializers.CharField())
                created_at = serializers.DateTimeField()

            class Review(serializers.Serializer):
                reviewer = serializers.IntegerField()
                approve = serializers.BooleanField()
                slots = serializers.ListField(child=serializers.CharField())
                created_at = serializers.DateTimeField()

            stage1 = Stage1(many=True)
            reviews = Review(many=True)
            proposal = serializers.ListField(child=serializers.CharField(), allow_null=True)
            final = serializers.ListField(child=serializers.CharField(), allow_null=True)
            tied = serializers.ListField(child=serializers.CharField())
            score = KgScoredSet(allow_null=True)

        my_stage1 = Mine(allow_null=True)
        my_review = Mine(allow_null=True)
        labels = Labels(required=False, help_text="Curators and admins only.")

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(sample_view(user=request.user, sample=sample)).data)


class FlexSubmissionOutput(serializers.Serializer):
    client_key = serializers.CharField()
    clip = serializers.IntegerField()
    stage = serializers.IntegerField()
    graph_version = serializers.IntegerField()
    slots = serializers.ListField(child=serializers.CharField(), help_text="Canonical keys stored.")
    stored = serializers.IntegerField()
    replayed = serializers.BooleanField()
    approve = serializers.BooleanField(required=False)
    review_count = serializers.IntegerField(required=False)
    status = serializers.CharField(required=False)


def _submission_response(result: dict, replayed: bool) -> Response:
    body = FlexSubmissionOutput(dict(result, replayed=replayed)).data
    return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


class FlexStage1SubmitApi(APIView):
    """Submit your stage-1 error slots for a sample (an empty list: no error seen).

    Needs a ``flex_stage1`` assignment. Idempotent by ``client_key``: a retry with the same key and
    body returns the first answer (``replayed: true``); the same key with another body is a 409.
    """

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        slots = SLOT_LIST

    @extend_schema(request=InputSerializer, responses={201: FlexSubmissionOutput, 200: FlexSubmissionOutput, **ERRORS})
    def post(self, request, clip_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        result, replayed = stage1_submit(user=request.user, sample=sample,
                                         client_key=serializer.validated_data["client_key"],
                                         slots=serializer.validated_data["slots"])
        return _submission_response(result, replayed)


class FlexReviewDetailApi(APIView):
    """For a stage-2 reviewer: the three stage-1 sets side by side (anonymised A, B, C), the
    per-slot votes and the proposal with its score. Never shown to a stage-1 annotator."""

    permission_classes = [IsReviewer]

    class OutputSerializer(serializers.Serializer):
        class Stage1Set(KgScoredSet):
            label = serializers.CharField()
            created_at = serializers.DateTimeField()

        class Vote(serializers.Serializer):
            slot = serializers.CharField()
            votes = serializers.IntegerField()

        class MyReview(serializers.Serializer):
            approve = serializers.BooleanField()
            slots = serializers.ListField(child=serializers.CharField())
            created_at = serializers.DateTimeField()

        clip = serializers.IntegerField()
        action = KgActionRef()
        graph_version = serializers.IntegerField()
        stage1 = Stage1Set(many=True)
        votes = Vote(many=True)
        proposal = KgScoredSet(allow_null=True)
        review_count = serializers.IntegerField()
        status = serializers.CharField()
        my_review = MyReview(allow_null=True)

    @extend_schema(responses={200: OutputSerializer, **ERRORS})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(review_view(user=request.user, sample=sample)).data)


class FlexStage2SubmitApi(APIView):
    """Submit your stage-2 review: ``approve: true`` keeps the proposal; ``approve: false`` with
    ``slots`` sends your corrected set. Needs a ``flex_stage2`` assignment and a complete stage 1.
    Idempotent by ``client_key``."""

    permission_classes = [IsReviewer]

    class InputSerializer(serializers.Serializer):
        client_key = CLIENT_KEY
        approve = serializers.BooleanField()
        slots = serializers.ListField(child=serializers.CharField(max_length=40), required=False, allow_null=True,
                                      allow_empty=True, max_length=200)

    @extend_schema(request=InputSerializer, responses={201: FlexSubmissionOutput, 200: FlexSubmissionOutput, **ERRORS})
    def post(self, request, clip_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        result, replayed = stage2_submit(user=request.user, sample=sample, client_key=data["client_key"],
                                         approve=data["approve"], slots=data.get("slots"))
        return _submission_response(result, replayed)


class FlexSampleFeedbackApi(APIView):
    """Corrective feedback for a scored sample: the curated texts of its marked error types, in
    phase order (from the current label set, else from the raw labels if the sample is final)."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        class Item(serializers.Serializer):
            phase = serializers.CharField()
            slot = serializers.CharField()
            error_type = serializers.CharField()
            weight = serializers.IntegerField()
            description = serializers.CharField()
            feedback = serializers.CharField(allow_null=True)
            feedback_version = serializers.IntegerField(allow_null=True)

        clip = serializers.IntegerField()
        action = serializers.CharField()
        graph_version = serializers.IntegerField()
        source = serializers.CharField(help_text="label_set or raw_labels.")
        label_set = serializers.IntegerField(allow_null=True)
        total = serializers.IntegerField()
        penalty = serializers.IntegerField()
        score = serializers.FloatField()
        items = Item(many=True)

    @extend_schema(responses={200: OutputSerializer, **ERRORS})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(sample_feedback(sample=sample)).data)


class FlexSampleTruthApi(APIView):
    """Hidden true slots of a synthetic FLEX sample. Curators and admins only."""

    permission_classes = [IsCurator]

    class OutputSerializer(serializers.Serializer):
        clip = serializers.IntegerField(source="clip_id")
        graph_version = serializers.IntegerField(source="graph_version.number")
        slot_keys = serializers.ListField(child=serializers.CharField())
        penalty = serializers.IntegerField()
        score = serializers.FloatField()

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, clip_id):
        sample = selectors.sample_get_for_user(user=request.user, clip_id=clip_id)
        return Response(self.OutputSerializer(selectors.true_slots_get(clip=sample.clip)).data)
