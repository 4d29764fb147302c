"""Serializers and helpers shared by the kg views."""
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from config.api import ErrorSerializer, optional_int
from kg import selectors

CLIENT_KEY = serializers.RegexField(r"^[A-Za-z0-9_.:-]{8,64}$",
                                    help_text="Client-chosen idempotency key, 8-64 characters.")
SLOT_LIST = serializers.ListField(
    child=serializers.CharField(max_length=40), allow_empty=True, max_length=200,
    help_text='Marked slots as "AKxx:ETyyy" (a merged row answers to any of its keysteps).',
)
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class KgSlotOutput(serializers.Serializer):
    slot = serializers.CharField()
    error_type = serializers.CharField()
    keysteps = serializers.ListField(child=serializers.CharField())
    phase = serializers.CharField()
    weight = serializers.IntegerField()
    description = serializers.CharField()


class KgPhasePenaltyOutput(serializers.Serializer):
    phase = serializers.CharField()
    penalty = serializers.IntegerField()
    total = serializers.IntegerField()


class KgScoreOutput(serializers.Serializer):
    """The same JSON ``manage.py kg_score`` prints."""

    action = serializers.CharField()
    action_code = serializers.CharField()
    graph_version = serializers.IntegerField()
    graph_hash = serializers.CharField()
    total = serializers.IntegerField()
    penalty = serializers.IntegerField()
    score = serializers.FloatField(help_text="(1 - penalty / total) x 100, 2 decimals.")
    marked = KgSlotOutput(many=True)
    penalty_by_phase = KgPhasePenaltyOutput(many=True)


def graph_version_from_query(request):
    return selectors.graph_version_get(number=optional_int(request, "graph_version"))


GRAPH_VERSION_PARAM = OpenApiParameter("graph_version", int, description="Graph version number (default: current).")


class KgActionRef(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class KgScoredSet(serializers.Serializer):
    slots = serializers.ListField(child=serializers.CharField())
    penalty = serializers.IntegerField()
    total = serializers.IntegerField()
    score = serializers.FloatField()
