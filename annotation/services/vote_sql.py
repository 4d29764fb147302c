"""The severity-vote path's checks and insert, as hand-written SQL.

Voting is the hottest write in FormLab (every annotator, every few seconds). Building these
statements through the ORM costs about 1-3 ms of CPU each (query compilation), several times what
the database spends on them, so the batch's checks (one read) and its insert are written out once here. They run
unchanged on PostgreSQL and SQLite; table and column names come from the models' metadata.
"""
from django.db import connection

from annotation.models import Assignment, SeverityVote
from datasets.models import Clip, ErrorType, Repetition

_REP, _CLIP, _ASSIGNMENT = Repetition._meta.db_table, Clip._meta.db_table, Assignment._meta.db_table


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def vote_check_rows(*, user_id: int, pairs) -> list[tuple]:
    """One row per (repetition id, error type id) pair: the pair, then the repetition's clip id,
    exercise id and dataset id (None when the repetition does not exist), the state and lease
    expiry of the user's severity assignment on that clip (None when there is none), and the
    error type's exercise id (None when it does not exist). One statement for the whole batch."""
    pairs = list(pairs)
    sql = (f"SELECT p.column1, p.column2, c.id, c.exercise_id, c.dataset_id, a.state, a.lease_expires_at, "
           f"e.exercise_id FROM (VALUES {', '.join(['(%s, %s)'] * len(pairs))}) AS p "
           f"LEFT JOIN {_REP} r ON r.id = p.column1 LEFT JOIN {_CLIP} c ON c.id = r.clip_id "
           f"LEFT JOIN {_ASSIGNMENT} a ON a.clip_id = c.id AND a.annotator_id = %s AND a.kind = %s "
           f"LEFT JOIN {ErrorType._meta.db_table} e ON e.id = p.column2")
    with connection.cursor() as cursor:
        cursor.execute(sql, [x for pair in pairs for x in pair] + [user_id, Assignment.Kind.SEVERITY.value])
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":  # SQLite hands back a datetime column's stored text
        rows = [(*row[:6], connection.ops.convert_datetimefield_value(row[6], None, connection), row[7])
                for row in rows]
    return rows


def votes_insert(*, rows: list[tuple], annotator_id: int, client_key: str, created_at) -> None:
    """Insert (repetition id, error type id, value) rows. The unique constraint refuses a second
    vote of the annotator on the same (repetition, error type) with an IntegrityError."""
    created = connection.ops.adapt_datetimefield_value(created_at)
    columns = "repetition_id, error_type_id, annotator_id, value, client_key, created_at"
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params = [p for r, e, v in rows for p in (r, e, annotator_id, v, client_key, created)]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {SeverityVote._meta.db_table} ({columns}) VALUES {values}", params)
