"""Role checks for every page and every htmx endpoint of the browser UI.

Menus hide what a role may not use, but that is only a convenience: each view is wrapped in
``role_required`` so a user who types a URL gets 403 (anonymous users are sent to the login
page; an anonymous htmx or JSON request gets 403 rather than a login page to swap in).
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from annotation.roles import ADMIN, ANNOTATOR, CURATOR, REVIEWER, has_role

ANYONE = (ANNOTATOR, REVIEWER, CURATOR, ADMIN)
ANNOTATE = (ANNOTATOR, CURATOR, ADMIN)
REVIEW = (REVIEWER, CURATOR, ADMIN)
CURATE = (CURATOR, ADMIN)
ADMINISTER = (ADMIN,)


def _wants_fragment(request) -> bool:
    return (request.headers.get("HX-Request") == "true"
            or request.method != "GET"
            or "application/json" in request.headers.get("Accept", ""))


def role_required(*roles: str):
    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if _wants_fragment(request):
                    raise PermissionDenied("Log in first.")
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        wrapped.formlab_roles = roles
        return wrapped

    return decorate
