"""Token login for scripts, rate limited per client address."""
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import AnonRateThrottle


class LoginRateThrottle(AnonRateThrottle):
    scope = "login"


class TokenObtainApi(ObtainAuthToken):
    """Exchange a username and password for an API token (``Authorization: Token <key>``)."""

    throttle_classes = [LoginRateThrottle]

    @extend_schema(operation_id="auth_token_obtain")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

