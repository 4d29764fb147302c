"""The queue's per-request conditions and hot-path statements, as hand-written SQL.

The per-request conditions are SQL fragments on the clip row, not ORM subqueries: composing
a handful of Exists/OuterRef subqueries costs Django several milliseconds per request, ten
times what PostgreSQL needs to run them, and ``next`` is the one call fifty annotators make
at once. Each rule is written once, here, and every query of the queue uses it.
"""
import functools

from django.db import connection
from django.db.models.expressions import Col
from django.utils import timezone

from annotation.models import Assignment, SeverityVote
from annotation.services.queue.rules import RELEASED, SENT_BACK, Kind
from datasets.models import Clip, Exercise, Repetition


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def clip_id_sql() -> str:
    return f"{q(Clip._meta.db_table)}.{q('id')}"


def holders_sql(*, kind: str, now, clip_id: str | None = None, other_than=None) -> tuple[str, list]:
    """How many assignments count toward the quota of the clip ``clip_id`` (SQL, params).

    ``clip_id`` defaults to the outer query's clip row; ``other_than`` leaves one annotator out.
    """
    sql = (f"(SELECT COUNT(*) FROM {q(Assignment._meta.db_table)} h WHERE h.clip_id = {clip_id or clip_id_sql()}"
           " AND h.kind = %s AND (h.state = %s OR (h.state = %s AND h.lease_expires_at > %s))"
           " AND h.item_ref <> %s")
    params = [kind, Assignment.State.SUBMITTED, Assignment.State.LEASED, now, SENT_BACK]
    if other_than is not None:
        sql += " AND h.annotator_id <> %s"
        params.append(other_than.pk)
    return sql + ")", params




def not_done_by_sql(*, user, kind: str) -> tuple[str, list]:
    """The clip row is not one ``user`` did, skipped, or may not take for ``kind`` (SQL, params)."""
    assignments = q(Assignment._meta.db_table)
    clip_id = clip_id_sql()
    # Submitted or skipped by this user (skipped items never come back to the one who skipped).
    sql = (f"NOT EXISTS (SELECT 1 FROM {assignments} d WHERE d.annotator_id = %s AND d.clip_id = {clip_id}"
           " AND d.kind = %s AND (d.state = %s OR d.item_ref = %s))")
    params = [user.pk, kind, Assignment.State.SUBMITTED, RELEASED]
    if kind == Kind.SEVERITY:
        # A vote batch stored while the "complete" call was lost still means "already did it".
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {q(SeverityVote._meta.db_table)} v"
                f" JOIN {q(Repetition._meta.db_table)} r ON r.id = v.repetition_id"
                f" WHERE v.annotator_id = %s AND r.clip_id = {clip_id})")
        params.append(user.pk)
    # FLEX: a reviewer of a sample never annotates it (the kg app refuses that submission),
    # and a stage 1 annotator never reviews it.
    other_stage = {Kind.FLEX_STAGE1: Kind.FLEX_STAGE2, Kind.FLEX_STAGE2: Kind.FLEX_STAGE1}.get(kind)
    if other_stage:
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {assignments} o WHERE o.annotator_id = %s"
                f" AND o.clip_id = {clip_id} AND o.kind = %s)")
        params += [user.pk, other_stage]
    return sql, params



# ---------------------------------------------------------------- the hot path of ``next``
# ``next`` is the call fifty annotators make at once. Built through the ORM, its statements cost
# several times in query compilation what the database spends on them, so the ones every call
# runs are written out here. They run on PostgreSQL and SQLite alike.

_CLIP, _ASSIGNMENT, _EXERCISE = Clip._meta.db_table, Assignment._meta.db_table, Exercise._meta.db_table
_CLIP_FIELDS = list(Clip._meta.concrete_fields)


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


@functools.cache
def _clip_converters(vendor: str) -> list[tuple[Col, list]]:
    """Per clip column, the converters the ORM applies to its raw value on this backend
    (SQLite returns a datetime column's stored text, for instance). Built once per process."""
    columns = [Col(_CLIP, field) for field in _CLIP_FIELDS]
    return [(col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for col in columns]


def _converted(row) -> list:
    """A raw clip row's values as the ORM would hand them to ``Model.from_db``."""
    values = list(row)
    for i, (col, converters) in enumerate(_clip_converters(connection.vendor)):
        for converter in converters:
            values[i] = converter(values[i], col, connection)
    return values


def live_leases(*, user_id: int, kind: str, now) -> list[tuple[int, int]]:
    """(assignment id, dataset id of its clip) of the user's live, unskipped ``kind`` leases,
    first to expire first. Not filtered by dataset in SQL: see ``leases._held_lease``."""
    sql = (f"SELECT a.id, c.dataset_id FROM {_ASSIGNMENT} a JOIN {_CLIP} c ON c.id = a.clip_id"
           " WHERE a.annotator_id = %s AND a.kind = %s AND a.state = %s AND a.lease_expires_at > %s"
           " AND a.item_ref NOT IN (%s, %s) ORDER BY a.lease_expires_at, a.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, kind, Assignment.State.LEASED, connection.ops.adapt_datetimefield_value(now),
                             RELEASED, SENT_BACK])
        return cursor.fetchall()


def _in_ids_sql(ids: list[int]) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        # One array parameter (an index condition, cheap to parse), sent as its text: psycopg
        # adapting hundreds of ints one by one costs more than the query.
        return f"{clip_id_sql()} = ANY(%s::bigint[])", ["{" + ",".join(str(int(i)) for i in ids) + "}"]
    return f"{clip_id_sql()} IN ({_placeholders(len(ids))})", list(ids)


def _clip_select() -> str:
    columns = ", ".join(f"{_CLIP}.{q(f.column)}" for f in _CLIP_FIELDS)
    return f"SELECT {columns}, (SELECT e.name FROM {_EXERCISE} e WHERE e.id = {_CLIP}.exercise_id) FROM {_CLIP}"


def lock_first_free_in(*, ids: list[int], user, kind: str, quota: int, now, rejected: list[int]) -> Clip | None:
    """Lock and return, of the clips ``ids``, the open one ``user`` may take with the most
    holders (then the lowest id), skipping clips other transactions hold locked; its exercise
    comes with it (id and name). None when there is no such clip free at this instant: the
    caller then asks the full query, which waits for a locked clip rather than answer "none"
    (``lock_objects.clip_lock_first_free``). The caller re-checks the clip's conditions under
    the lock. SQLite has no row locks: the transaction already holds the database's write lock."""
    in_ids, params = _in_ids_sql(ids)
    holders, holder_params = holders_sql(kind=kind, now=now)
    not_done, not_done_params = not_done_by_sql(user=user, kind=kind)
    sql = f"{_clip_select()} WHERE {in_ids} AND {holders} < %s AND {not_done}"
    params += [*holder_params, quota, *not_done_params]
    if rejected:
        sql += f" AND {clip_id_sql()} NOT IN ({_placeholders(len(rejected))})"
        params += rejected
    sql += f" ORDER BY {holders} DESC, {clip_id_sql()} LIMIT 1"
    params += holder_params
    if connection.features.has_select_for_update_skip_locked:
        sql += f" FOR UPDATE OF {_CLIP} SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    clip = Clip.from_db(connection.alias, [f.attname for f in _CLIP_FIELDS], _converted(row[:-1]))
    clip.exercise = Exercise.from_db(connection.alias, ["id", "name"], [clip.exercise_id, row[-1]])
    return clip


def lease_if_open(*, user, clip_id: int, kind: str, quota: int, now, expires) -> tuple[int, object] | None:
    """Create the user's lease on the clip, or renew their expired one, if the clip still has
    room for them, in one statement: (assignment id, created_at), or None when it is full.

    Run under the clip's lock, as a new statement: it counts what other transactions committed
    since the locking query began. Only an expired lease of this user can already exist here
    (submitted and skipped ones are never candidates), so submitted work is never touched."""
    ops = connection.ops
    holders, holder_params = holders_sql(kind=kind, now=now, clip_id="%s", other_than=user)
    # (SQLite needs the WHERE to tell the upsert's ON CONFLICT from a join's ON.)
    sql = (f"INSERT INTO {_ASSIGNMENT} (annotator_id, clip_id, kind, item_ref, state, lease_expires_at,"
           f" created_at, submitted_at) SELECT %s, %s, %s, '', %s, %s, %s, NULL WHERE {holders} < %s"
           " ON CONFLICT (annotator_id, clip_id, kind) DO UPDATE"
           " SET lease_expires_at = excluded.lease_expires_at, item_ref = excluded.item_ref"
           " RETURNING id, created_at")
    params = [user.pk, clip_id, kind, Assignment.State.LEASED, ops.adapt_datetimefield_value(expires),
              ops.adapt_datetimefield_value(timezone.now()), clip_id, *holder_params, quota]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    assignment_id, created_at = row
    if connection.vendor == "sqlite":
        created_at = ops.convert_datetimefield_value(created_at, None, connection)
    return assignment_id, created_at
