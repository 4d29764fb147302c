"""Cross-cutting HTTP protections: security headers (CSP) and login rate limiting.

Both are plain Django middleware so they cover the browser pages, the admin and the API alike.
"""
import hashlib
import logging

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse

logger = logging.getLogger(__name__)

# No inline script anywhere in the pages (htmx and the page modules are static files); inline
# style attributes are used for progress bars, hence 'unsafe-inline' for styles only.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The Swagger page loads its bundle from a CDN and boots it with an inline script.
SWAGGER_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://cdn.jsdelivr.net; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DEFAULT_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy to every response that lacks them.

    Django's SecurityMiddleware already sends nosniff, Referrer-Policy, COOP and HSTS (in
    production); X-Frame-Options comes from XFrameOptionsMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = getattr(settings, "FORMLAB_CSP", DEFAULT_CSP)
        self.path_csp = dict(getattr(settings, "FORMLAB_CSP_PATHS", {"/api/docs/": SWAGGER_CSP}))
        self.permissions_policy = getattr(settings, "FORMLAB_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        policy = next((p for prefix, p in self.path_csp.items() if request.path.startswith(prefix)), self.csp)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        if self.permissions_policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions_policy
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class LoginRateLimitMiddleware:
    """Refuses (429) password logins after too many failures, per (address, username) and per address.

    Covers the browser login (``/accounts/login/``), the admin login and the API token endpoint,
    whatever view serves them. A failure is a POST that did not log in: the login form answers
    200 with errors, the token endpoint 400. A success clears the (address, username) counter.
    Counters live in the default cache: LocMem per process by default; set ``CACHE_URL`` to a
    Redis URL so several web processes share them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        paths = getattr(settings, "FORMLAB_LOGIN_PATHS", ())
        if request.method != "POST" or request.path not in paths:
            return self.get_response(request)
        window = int(getattr(settings, "FORMLAB_LOGIN_WINDOW_S", 900))
        per_user = int(getattr(settings, "FORMLAB_LOGIN_FAILURES_PER_USER", 5))
        per_ip = int(getattr(settings, "FORMLAB_LOGIN_FAILURES_PER_IP", 50))
        ip = request.META.get("REMOTE_ADDR", "")
        username = _posted_username(request)
        user_key = _key("user", ip, username.lower())
        ip_key = _key("ip", ip)
        cache = caches["default"]
        if (cache.get(user_key, 0) >= per_user) or (cache.get(ip_key, 0) >= per_ip):
            logger.warning("login.throttled", extra={"ip": ip, "path": request.path})
            return _too_many(request, window)
        response = self.get_response(request)
        if response.status_code in (200, 400, 401):
            for key in (user_key, ip_key):
                cache.add(key, 0, timeout=window)
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, timeout=window)
        elif response.status_code in (301, 302, 303):
            cache.delete(user_key)
        return response


def _posted_username(request) -> str:
    try:
        value = request.POST.get("username", "")
    except Exception:  # malformed body: the view reports it; the address counter still applies
        value = ""
    if not value and request.content_type == "application/json":
        import json

        try:
            body = json.loads(request.body or b"{}")
            value = body.get("username", "") if isinstance(body, dict) else ""
        except (ValueError, UnicodeDecodeError):
            value = ""
    return str(value)[:150]


def _key(*parts: str) -> str:
    return "formlab:login:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _too_many(request, window: int) -> HttpResponse:
    minutes = max(1, window // 60)
    if request.path.startswith("/api/"):
        import json

        body = json.dumps({"error": {"code": "throttled",
                                     "detail": f"Too many failed logins. Try again in {minutes} minutes."}})
        response = HttpResponse(body, status=429, content_type="application/json")
    else:
        response = HttpResponse(
            f"<!doctype html><title>Too many attempts</title><p>Too many failed logins. "
            f"Try again in {minutes} minutes.</p>", status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(window)
    return response


class DomainErrorMiddleware:
    """Pages answer a refused request with its status, not a 500.

    The API's exception handler turns a ``DomainError`` into ``{"error": {...}}``; a page view that
    lets one escape (a selector's ``NotFoundError`` for a made-up id) would otherwise be a server
    error. JSON and htmx callers get the API's error body; browsers a short page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.utils.html import escape

        from config.exceptions import DomainError, error_body

        if not isinstance(exception, DomainError):
            return None
        status = int(getattr(exception, "status_code", 400))
        wants_json = ("application/json" in request.headers.get("Accept", "")
                      or request.headers.get("HX-Request") == "true" or request.path.startswith("/api/"))
        if wants_json:
            import json

            body = json.dumps(error_body(exception.code, str(exception.detail), exception.fields or None))
            return HttpResponse(body, status=status, content_type="application/json")
        return HttpResponse(
            f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(str(exception.detail))}</p>"
            f"<p><code>{escape(exception.code)}</code></p><p><a href=\"/\">Back to FormLab</a></p>",
            status=status, content_type="text/html; charset=utf-8")


class RequestSizeLimitMiddleware:
    """Refuses (413) a request body larger than the limit before anything reads it.

    DRF's JSON parser reads the raw stream, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` never
    applies to JSON bodies: without this, a client could make the server parse gigabytes.
    Multipart bodies (pose uploads, split lists) get ``FORMLAB_MAX_UPLOAD_BYTES``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = (getattr(settings, "FORMLAB_MAX_UPLOAD_BYTES", 64 * 1024 * 1024) if multipart
                 else getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 8 * 1024 * 1024)
        if length > limit:
            import json

            from config.exceptions import error_body

            body = json.dumps(error_body("request_too_large",
                                         f"The request body is {length} bytes; the limit is {limit}."))
            return HttpResponse(body, status=413, content_type="application/json")
        return self.get_response(request)
