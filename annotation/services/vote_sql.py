"""The severity-vote path's reads and insert, as hand-written SQL.

Voting is the hottest write in FormLab (every annotator, every few seconds). Building these
statements through the ORM costs about 1-3 ms of CPU each (query compilation), several times what
the database spends on them, so the two reads and the insert are written out once here. They run
unchanged on PostgreSQL and SQLite; table and column names come from the models' metadata.
"""
from django.db import connection

from annotation.models import Assignment, SeverityVote
from datasets.models import Clip, ErrorType, Repetition

_REP, _CLIP, _ASSIGNMENT = Repetition._meta.db_table, Clip._meta.db_table, Assignment._meta.db_table


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def vote_target_rows(*, user_id: int, rep_ids) -> list[tuple]:
    """(repetition id, clip id, exercise id, dataset id, assignment state, lease expiry) per
    repetition that exists; the last two are None when the user holds no severity assignment."""
    rep_ids = list(rep_ids)
    sql = (f"SELECT r.id, c.id, c.exercise_id, c.dataset_id, a.state, a.lease_expires_at "
           f"FROM {_REP} r JOIN {_CLIP} c ON c.id = r.clip_id "
           f"LEFT JOIN {_ASSIGNMENT} a ON a.clip_id = c.id AND a.annotator_id = %s AND a.kind = %s "
           f"WHERE r.id IN ({_placeholders(len(rep_ids))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, Assignment.Kind.SEVERITY.value, *rep_ids])
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":  # SQLite hands back a datetime column's stored text
        rows = [(*row[:5], connection.ops.convert_datetimefield_value(row[5], None, connection))
                for row in rows]
    return rows


def error_type_exercises(ids) -> dict[int, int]:
    ids = list(ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, exercise_id FROM {ErrorType._meta.db_table} "
                       f"WHERE id IN ({_placeholders(len(ids))})", ids)
        return dict(cursor.fetchall())


def votes_insert(*, rows: list[tuple], annotator_id: int, client_key: str, created_at) -> None:
    """Insert (repetition id, error type id, value) rows. The unique constraint refuses a second
    vote of the annotator on the same (repetition, error type) with an IntegrityError."""
    created = connection.ops.adapt_datetimefield_value(created_at)
    columns = "repetition_id, error_type_id, annotator_id, value, client_key, created_at"
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params = [p for r, e, v in rows for p in (r, e, annotator_id, v, client_key, created)]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {SeverityVote._meta.db_table} ({columns}) VALUES {values}", params)
