"""Small helpers shared by the API views."""
from rest_framework import serializers

from config.pagination import Pagination


def paginated_response(*, request, view, queryset, serializer_class, context=None):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {"request": request}).data
    return paginator.get_paginated_response(data)


def optional_int(request, name):
    """Read an integer query parameter; a non-integer value is a 400 with a clear message."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({name: [f"Expected an integer, got {raw!r}."]}) from None


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    class Inner(serializers.Serializer):
        code = serializers.CharField()
        detail = serializers.CharField()
        fields = serializers.DictField(required=False)

    error = Inner()
