"""Records the current request's user, address and user agent for audit entries."""
import ipaddress

from django.conf import settings

from audit.context import audit_context


def client_ip(request) -> str | None:
    """The client's address. Behind a proxy (``FORMLAB_TRUST_X_FORWARDED_FOR``), the first
    ``X-Forwarded-For`` hop; otherwise ``REMOTE_ADDR`` (a client-set header is never trusted)."""
    raw = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "FORMLAB_TRUST_X_FORWARDED_FOR", False):
        raw = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip() or raw
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(source=f"{request.method} {request.path}", request=request,
                           ip_address=client_ip(request),
                           user_agent=request.META.get("HTTP_USER_AGENT", "")):
            return self.get_response(request)
