"""Fast bulk inserts of column arrays: COPY on PostgreSQL, executemany on SQLite.

Used where millions of rows are written at once (the synthetic generator, vote import). Rows get
explicit primary keys from a reserved block so callers can link child rows without reading back.
"""
import io
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection

from datasets.copy_binary import binary_rows

CHUNK_ROWS = 1_000_000


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model, count: int) -> int:
    """Return the first id of a block of ``count`` unused ids. Call inside the writing transaction."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cursor.fetchone()[0]) + 1


def reset_sequence(model) -> None:
    if not is_postgres():
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM "
            f"{connection.ops.quote_name(table)}), 1))",
            [table],
        )


def _column(value, n: int) -> pa.Array:
    if isinstance(value, np.ndarray):
        if len(value) != n:
            raise ValueError("All columns must have the same length.")
        return pa.array(value)
    if isinstance(value, list):
        return pa.array(value)
    return pa.repeat(pa.scalar(value), n)


def bulk_insert(model, columns: Mapping[str, object], *, n_rows: int) -> int:
    """Insert ``n_rows`` rows given as {column name: array or scalar}. Returns rows written.

    On PostgreSQL: COPY, in binary format when every column is an integer array or a constant
    (``datasets.copy_binary``), else CSV."""
    if n_rows == 0:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    names = list(columns)
    quoted = ", ".join(connection.ops.quote_name(c) for c in names)
    if is_postgres():
        with connection.cursor() as cursor:
            for start in range(0, n_rows, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, n_rows)
                part = {k: (v[start:stop] if isinstance(v, (np.ndarray, list)) else v) for k, v in columns.items()}
                payload, fmt = binary_rows(model, connection, part, stop - start), "binary"
                if payload is None:
                    table_pa = pa.table({k: _column(v, stop - start) for k, v in part.items()})
                    buffer = io.BytesIO()
                    pa_csv.write_csv(table_pa, buffer,
                                     pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
                    payload, fmt = buffer.getvalue(), "csv"
                with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT {fmt})") as copy:
                    copy.write(payload)
        return n_rows
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        for start in range(0, n_rows, 50_000):
            stop = min(start + 50_000, n_rows)
            cols = []
            for v in columns.values():
                if isinstance(v, np.ndarray):
                    cols.append(v[start:stop].tolist())
                elif isinstance(v, list):
                    cols.append(v[start:stop])
                else:
                    cols.append([v] * (stop - start))
            cursor.executemany(sql, list(zip(*cols)))
    return n_rows


def db_now():
    """The current time in the form this database's columns take in a bulk write."""
    from django.utils import timezone

    now = timezone.now()
    if is_postgres():
        return now.isoformat()
    return connection.ops.adapt_datetimefield_value(now)


def skip_reference_checks() -> bool:
    """Inside a transaction that writes rows whose references it created itself, skip the
    per-row foreign-key triggers (as ``pg_restore --disable-triggers`` does). Django declares its
    foreign keys DEFERRABLE INITIALLY DEFERRED, so millions of COPY rows otherwise queue millions
    of checks that all run at COMMIT. Needs a role allowed to set ``session_replication_role``;
    without it the checks simply run. Returns whether they are skipped."""
    if not is_postgres():
        return False
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return False
    return True


@contextmanager
def indexes_deferred(model, *, n_rows: int):
    """Around a bulk load of ``n_rows`` into a table that holds fewer rows than that: drop the
    table's plain indexes (never the primary key nor a unique constraint) and build each again
    once the load is done, in the same transaction. One index build over the loaded table costs
    a fraction of updating the index row by row (measured on 2 M votes: 16.0 s to COPY through
    the annotator index, 11.4 s to COPY without it and build it afterwards).

    DROP INDEX locks the table (ACCESS EXCLUSIVE) until the transaction ends, so readers and
    writers of the table wait for the load; on a table already larger than the load this does
    nothing (the lock would cost more than it saves). PostgreSQL only; must run inside a
    transaction (an error rolls the drops back with everything else). Yields the dropped names.
    """
    if not is_postgres():
        yield []
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT %s) AS s",
                       [n_rows])
        if cursor.fetchone()[0] >= n_rows:
            yield []
            return
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conrelid = %s::regclass AND c.conname = i.indexname)", [table, table])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield [name for name, _ in indexes]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
