"""The four roles, as Django groups, and the DRF permissions built on them."""
from rest_framework.permissions import BasePermission

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
CURATOR = "curator"
ADMIN = "admin"
ROLES = (ANNOTATOR, REVIEWER, CURATOR, ADMIN)

# Roles that see every dataset, label and hidden truth.
STAFF_ROLES = (CURATOR, ADMIN)


def user_roles(user) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_formlab_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMIN)
        user._formlab_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_staff_role(user) -> bool:
    return has_role(user, *STAFF_ROLES)


class _RolePermission(BasePermission):
    roles: tuple[str, ...] = ()
    message = "Your role does not allow this."

    def has_permission(self, request, view):
        return has_role(request.user, *self.roles)


class IsAnnotator(_RolePermission):
    roles = (ANNOTATOR, CURATOR, ADMIN)


class IsReviewer(_RolePermission):
    roles = (REVIEWER, CURATOR, ADMIN)


class IsCurator(_RolePermission):
    roles = (CURATOR, ADMIN)


class IsAdmin(_RolePermission):
    roles = (ADMIN,)
