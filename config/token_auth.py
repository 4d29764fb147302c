"""Token authentication of API calls: token, user and FormLab roles in one query."""
import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotation.roles import ADMIN, ROLES


class TokenRolesAuthentication(TokenAuthentication):
    """DRF's token authentication, reading the token, its user and the user's FormLab roles in
    one hand-written query instead of two ORM queries (every API call pays for this, so it is
    worth ~2 ms of CPU per request). Same rules: unknown token or inactive user -> 401."""

    def authenticate_credentials(self, key):
        user, roles = _token_user_with_roles(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._formlab_roles = roles | ({ADMIN} if user.is_superuser else set())
        return user, key


@functools.cache
def _user_select(vendor: str) -> tuple[str, list, list]:
    """The query, the user's fields and each field's value converters, built once per backend."""
    User = get_user_model()
    fields = User._meta.concrete_fields
    columns = ", ".join(f"u.{connection.ops.quote_name(f.column)}" for f in fields)
    membership = User.groups.through._meta.db_table
    sql = (f"SELECT {columns}, g.name FROM {Token._meta.db_table} t "
           f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
           f"LEFT JOIN {membership} m ON m.user_id = u.id "
           f"LEFT JOIN {Group._meta.db_table} g ON g.id = m.group_id AND g.name IN ({', '.join(['%s'] * len(ROLES))}) "
           "WHERE t.key = %s")
    converters = []
    for field in fields:
        col = field.get_col(User._meta.db_table)
        converters.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))
    return sql, fields, converters


def _token_user_with_roles(key: str):
    sql, fields, converters = _user_select(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ROLES, key])
        rows = cursor.fetchall()
    if not rows:
        return None, set()
    values = []
    for (col, field_converters), value in zip(converters, rows[0]):
        for converter in field_converters:
            value = converter(value, col, connection)
        values.append(value)
    user = get_user_model().from_db(connection.alias, [f.attname for f in fields], values)
    return user, {row[-1] for row in rows if row[-1]}
