"""Curated, versioned feedback texts per error type."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.roles import IsCurator
from config.api import ErrorSerializer
from kg import selectors
from kg.apis.common import ERRORS
from kg.models import FEEDBACK_MAX_CHARS
from kg.services.feedback import feedback_text_create


class KgFeedbackTextOutput(serializers.Serializer):
    error_code = serializers.CharField()
    version = serializers.IntegerField()
    text = serializers.CharField()
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()


class FeedbackTextListApi(APIView):
    """The current (newest) feedback text of every error type that has one."""

    @extend_schema(responses=KgFeedbackTextOutput(many=True))
    def get(self, request):
        texts = sorted(selectors.feedback_current_map().values(), key=lambda t: t.error_code)
        return Response(KgFeedbackTextOutput(texts, many=True).data)


class FeedbackTextHistoryApi(APIView):
    """Every version of one error type's feedback text, newest first."""

    class OutputSerializer(serializers.Serializer):
        error_code = serializers.CharField()
        description = serializers.CharField()
        weight = serializers.IntegerField()
        current_version = serializers.IntegerField(allow_null=True)
        versions = KgFeedbackTextOutput(many=True)

    @extend_schema(responses={200: OutputSerializer, 404: ErrorSerializer})
    def get(self, request, code):
        return Response(self.OutputSerializer(selectors.feedback_history_get(error_code=code)).data)


class FeedbackTextCreateApi(APIView):
    """Write a new version of an error type's feedback text (curators). Nothing is overwritten.

    Send ``based_on``: the version you edited (null for the first text). If someone saved a newer
    version meanwhile the answer is 409 ``stale_feedback``.
    """

    permission_classes = [IsCurator]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=FEEDBACK_MAX_CHARS, trim_whitespace=True)
        based_on = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
        note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: KgFeedbackTextOutput, **ERRORS})
    def post(self, request, code):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = feedback_text_create(error_code=code, text=data["text"], user=request.user,
                                       based_on=data["based_on"], note=data["note"])
        return Response(KgFeedbackTextOutput(created).data, status=status.HTTP_201_CREATED)
