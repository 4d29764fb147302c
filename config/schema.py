"""OpenAPI schema generation.

Views declare their serializers as nested ``InputSerializer`` / ``OutputSerializer`` classes, so
plain class names collide across views. Nested serializers are named after their full qualified
name instead (``JobLaunchApi.InputSerializer`` -> ``JobLaunchApiInput``).
"""
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        qualname = getattr(cls, "__qualname__", "")
        if "." in qualname and "<locals>" not in qualname and not getattr(getattr(cls, "Meta", None), "ref_name", None):
            base = qualname.replace("Serializer", "").replace(".", "")
            suffix = "Request" if name.endswith("Request") and direction == "request" else ""
            return base + suffix
        return name
