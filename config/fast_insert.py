"""One-row INSERTs without the ORM's per-call SQL compilation.

``Model.save()`` compiles its INSERT afresh on every call (~1-2 ms of CPU), which matters on the
paths every annotator hits every few seconds (a vote submission writes its idempotency record
and its audit entry). ``insert_row`` writes the same row (field defaults, ``auto_now_add``,
database preparation of each value) with a statement built once per model, and sets the new
primary key on the instance. It sends no signals: callers that need ``post_save`` send it.
"""
import functools

from django.db import connection


@functools.cache
def _statement(model, vendor: str) -> tuple[str, tuple]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, fields


def insert_row(instance) -> None:
    """INSERT ``instance`` as a new row and set its primary key (one statement, no signals)."""
    sql, fields = _statement(type(instance), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pk = cursor.fetchone()[0] if connection.features.can_return_columns_from_insert else cursor.lastrowid
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
