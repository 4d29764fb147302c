"""Template helpers: the navigation flags of the logged-in user, and small number formats."""
from django import template

from annotation.roles import ADMIN, CURATOR, user_roles

register = template.Library()


@register.simple_tag(takes_context=True)
def formlab_nav(context) -> dict:
    request = context.get("request")
    roles = user_roles(getattr(request, "user", None))
    return {"roles": sorted(roles), "is_curator": bool(roles & {CURATOR, ADMIN}), "is_admin": ADMIN in roles}


@register.filter
def percent(value, digits=0):
    try:
        return f"{100 * float(value):.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "–"


@register.filter
def num(value, digits=3):
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    try:
        return f"{float(value):.{int(digits)}f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None
