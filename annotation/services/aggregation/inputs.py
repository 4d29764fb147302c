"""Bulk reads of raw labels as numpy arrays: the selectors of the aggregation engine.

At Halo scale a severity aggregation reads ~9 M votes. ``values_list`` builds 36 M Python ints
(tens of seconds), and psycopg's ``Copy`` iterator costs ~10 us per row because PostgreSQL sends
one COPY message per row and psycopg runs its wait loop for each. So on PostgreSQL the rows come
through ``COPY (SELECT ...) TO STDOUT (FORMAT binary)`` read with libpq's blocking
``PQgetCopyData`` in a tight loop into 32 MB blocks, each parsed at once with a numpy structured
dtype (every column is NOT NULL or COALESCEd, so every row has the same byte layout). SQLite
(the embedded default) gets a plain query.

Every reader here only reads; call them outside any transaction that writes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from django.db import connection

from datasets.bulk import is_postgres

# PostgreSQL type of each column kind, and its big-endian numpy dtype in the binary COPY format.
_PG_TYPES = {"int8": ("int8", ">i8"), "int4": ("int4", ">i4"), "int2": ("int2", ">i2"),
             "float8": ("float8", ">f8")}
_NATIVE = {"int8": np.int64, "int4": np.int32, "int2": np.int16, "float8": np.float64}
_BINARY_HEADER = 19  # signature (11) + flags (4) + header extension length (4, always 0 here)
_BLOCK_BYTES = 32 * 1024 * 1024


def _row_dtype(kinds: list[str]) -> np.dtype:
    fields = [("n_fields", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"len{i}", ">i4"), (f"c{i}", _PG_TYPES[kind][1])]
    return np.dtype(fields)


def _parse_block(block: bytes | bytearray, offset: int, row: np.dtype, kinds: list[str], *, last: bool):
    usable = len(block) - offset
    if last:
        usable -= 2  # the trailer: a field count of -1
    if usable % row.itemsize:
        raise ValueError("COPY stream is not a whole number of fixed-width rows (a NULL slipped in?)")
    rec = np.frombuffer(block, dtype=row, count=usable // row.itemsize, offset=offset)
    expected_n, widths = len(kinds), [np.dtype(_PG_TYPES[k][1]).itemsize for k in kinds]
    if rec.size and (np.any(rec["n_fields"] != expected_n)
                     or any(np.any(rec[f"len{i}"] != w) for i, w in enumerate(widths))):
        raise ValueError("COPY stream has an unexpected row layout (a NULL slipped in?)")
    return [rec[f"c{i}"].astype(_NATIVE[k]) for i, k in enumerate(kinds)]


def _copy_out_postgres(select_sql: str, consume) -> None:
    """Run ``COPY (select_sql) TO STDOUT (FORMAT binary)``, handing every message to ``consume``."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    from psycopg import errors, pq

    pgconn.send_query(f"COPY ({select_sql}) TO STDOUT (FORMAT binary)".encode())
    result = pgconn.get_result()
    if result.status != pq.ExecStatus.COPY_OUT:
        while pgconn.get_result() is not None:
            pass
        raise errors.error_from_result(result, encoding="utf-8")
    get = pgconn.get_copy_data
    try:
        while True:
            n, data = get(0)
            if n < 0:
                break
            consume(data)
        final = None
        while (res := pgconn.get_result()) is not None:
            final = res
        if n == -2 or final is None or final.status != pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(final, encoding="utf-8") if final is not None else \
                errors.OperationalError("COPY TO STDOUT failed")
    except BaseException:
        # The connection may be left in the middle of a COPY: never reuse it.
        connection.close()
        raise


def _copy_columns_postgres(select_sql: str, kinds: list[str]) -> list[np.ndarray]:
    row = _row_dtype(kinds)
    parts: list[list[np.ndarray]] = []
    state = {"block": bytearray(), "offset": _BINARY_HEADER}

    def consume(data):
        state["block"] += data
        if len(state["block"]) >= _BLOCK_BYTES:
            parts.append(_parse_block(state["block"], state["offset"], row, kinds, last=False))
            state["block"], state["offset"] = bytearray(), 0

    _copy_out_postgres(select_sql, consume)
    parts.append(_parse_block(state["block"], state["offset"], row, kinds, last=True))
    return [np.concatenate([p[i] for p in parts]) for i in range(len(kinds))]


def _parse_int_array(buf: bytes, pos: int, width: int) -> tuple[np.ndarray, int]:
    """One binary-format integer array field (its length word at ``pos``) -> (values, next pos)."""
    length = int.from_bytes(buf[pos:pos + 4], "big", signed=True)
    end = pos + 4 + length
    ndim = int.from_bytes(buf[pos + 4:pos + 8], "big")
    if ndim == 0:
        return np.zeros(0, dtype=np.int64), end
    count = int.from_bytes(buf[pos + 16:pos + 20], "big")
    element = np.dtype([("len", ">i4"), ("value", f">i{width}")])
    values = np.frombuffer(buf, dtype=element, count=count, offset=pos + 24)["value"].astype(np.int64)
    return values, end


def copy_columns(columns: list[tuple[str, str]], from_sql: str, params: list[int]) -> list[np.ndarray]:
    """``SELECT <columns> <from_sql>`` as one numpy array per column.

    ``columns`` are (SQL expression, kind) with kind int8/int4/int2/float8; the expressions must
    never be NULL (COALESCE them). ``params`` are integers substituted for ``%s`` (COPY takes no
    bind parameters, so they are formatted as integer literals after ``int()``).
    """
    kinds = [kind for _, kind in columns]
    literal = tuple(int(p) for p in params)
    if is_postgres():
        select = ", ".join(f"({expr})::{_PG_TYPES[kind][0]}" for expr, kind in columns)
        return _copy_columns_postgres(f"SELECT {select} {from_sql % literal}", kinds)
    select = ", ".join(expr for expr, _ in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} {from_sql}", list(literal))
        rows = cursor.fetchall()
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    return [table[:, i].astype(_NATIVE[kind]) for i, kind in enumerate(kinds)]


# Votes of a dataset, found through their error type: an error type belongs to one exercise of
# one dataset, and a vote's error type always belongs to its clip's exercise (checked by vote
# submission and import), so this equals the join through repetition and clip without touching
# the 1 M-row repetition table.
_VOTES_FROM = (
    "FROM annotation_severityvote v WHERE v.error_type_id IN ("
    "SELECT et.id FROM datasets_errortype et JOIN datasets_exercise ex ON ex.id = et.exercise_id "
    "WHERE ex.dataset_id = %s)"
)


@dataclass(frozen=True)
class Votes:
    """Severity votes as parallel arrays, sorted by (repetition, error type, annotator)."""

    repetition: np.ndarray  # int64 ids
    error_type: np.ndarray  # int64 ids
    annotator: np.ndarray  # int64 user ids
    value: np.ndarray  # int8, 0..3

    def __len__(self) -> int:
        return int(self.value.size)

    def digest(self) -> str:
        """sha256 over the sorted arrays' bytes: repetition, error type, annotator (little-endian
        int64 each) then value (int8). Equal votes give equal digests, whatever their row order."""
        h = hashlib.sha256()
        for array, dtype in ((self.repetition, "<i8"), (self.error_type, "<i8"), (self.annotator, "<i8"),
                             (self.value, "i1")):
            h.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
        return h.hexdigest()


def dense_rank(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each id among the distinct ids, the distinct ids sorted). O(n) for compact ids."""
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low, high = int(ids.min()), int(ids.max())
    if high - low <= max(4 * ids.size, 1 << 20):
        present = np.zeros(high - low + 1, dtype=bool)
        present[ids - low] = True
        rank = np.cumsum(present, dtype=np.int64) - 1
        return rank[ids - low], np.flatnonzero(present).astype(np.int64) + low
    distinct, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64), distinct.astype(np.int64)


def sort_votes(repetition, error_type, annotator, value) -> Votes:
    """Sort by (repetition, error type, annotator). Votes COPY'd in insertion order usually are
    already sorted (the generator and the importer write them so): then nothing moves."""
    r, _ = dense_rank(repetition)
    e, et_ids = dense_rank(error_type)
    a, ann_ids = dense_rank(annotator)
    key = (r * max(len(et_ids), 1) + e) * max(len(ann_ids), 1) + a
    del r, e, a
    if key.size > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
        repetition, error_type, annotator, value = (x[order] for x in (repetition, error_type, annotator, value))
    return Votes(repetition=np.asarray(repetition, dtype=np.int64), error_type=np.asarray(error_type, dtype=np.int64),
                 annotator=np.asarray(annotator, dtype=np.int64), value=np.asarray(value, dtype=np.int8))


def severity_votes_load(*, dataset_id: int) -> Votes:
    """Every severity vote of the dataset, sorted. COPY on PostgreSQL."""
    rep, et, ann, val = copy_columns(
        [("v.repetition_id", "int8"), ("v.error_type_id", "int8"), ("v.annotator_id", "int4"), ("v.value", "int2")],
        _VOTES_FROM, [dataset_id],
    )
    return sort_votes(rep, et, ann.astype(np.int64), val)


def end_point_marks_load(*, dataset_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clip id, annotator id, frame) of every end-point mark of the dataset, sorted.

    On PostgreSQL the marks come grouped per clip (``array_agg``): one COPY message per clip
    instead of per mark, which halves the read at 3.5 M marks.
    """
    where = "WHERE m.clip_id IN (SELECT id FROM datasets_clip WHERE dataset_id = %s)"
    if is_postgres():
        buffer = bytearray()
        _copy_out_postgres(
            "SELECT m.clip_id::int8, array_agg(m.annotator_id::int4), array_agg(m.frame::int8) "
            f"FROM annotation_endpointmark m {where % int(dataset_id)} GROUP BY m.clip_id", buffer.extend)
        buf = bytes(buffer)
        clips, annotators, frames = [], [], []
        pos = _BINARY_HEADER
        while int.from_bytes(buf[pos:pos + 2], "big", signed=True) != -1:
            clips.append(int.from_bytes(buf[pos + 6:pos + 14], "big", signed=True))
            ann, pos = _parse_int_array(buf, pos + 14, 4)
            frame, pos = _parse_int_array(buf, pos, 8)
            annotators.append(ann)
            frames.append(frame)
        counts = np.array([a.size for a in annotators], dtype=np.int64)
        clip = np.repeat(np.array(clips, dtype=np.int64), counts)
        ann = np.concatenate(annotators) if annotators else np.zeros(0, dtype=np.int64)
        frame = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int64)
    else:
        clip, ann, frame = copy_columns([("m.clip_id", "int8"), ("m.annotator_id", "int4"), ("m.frame", "int8")],
                                        f"FROM annotation_endpointmark m {where}", [dataset_id])
        ann = ann.astype(np.int64)
    # The canonical order of the hash; marks usually arrive in it, and then nothing moves.
    c, _ = dense_rank(clip)
    a, ann_ids = dense_rank(ann)
    key = (c * max(ann_ids.size, 1) + a) * (int(frame.max(initial=0)) + 1) + frame
    if key.size > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
        clip, ann, frame = clip[order], ann[order], frame[order]
    return clip, ann, frame


def true_severity_load(*, dataset_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(repetition id, error type id, true severity) of a synthetic dataset's hidden truth."""
    rep, et, sev = copy_columns(
        [("t.repetition_id", "int8"), ("t.error_type_id", "int8"), ("t.severity", "int2")],
        "FROM datasets_trueseverity t WHERE t.error_type_id IN ("
        "SELECT et.id FROM datasets_errortype et JOIN datasets_exercise ex ON ex.id = et.exercise_id "
        "WHERE ex.dataset_id = %s)",
        [dataset_id],
    )
    return rep, et, sev.astype(np.int64)


def _nan_if_null(expr: str) -> str:
    # SQLite rows come back through Python, where None becomes NaN on the float conversion.
    return f"COALESCE({expr}, 'NaN'::float8)" if is_postgres() else expr


def severity_labels_load(*, label_set_id: int) -> dict[str, np.ndarray]:
    """The per-item rows of a severity label set as arrays (NULL -> NaN / -1)."""
    names = ["repetition", "error_type", "n_votes", "mean", "majority", "bmm_score", "ds_class", "ds_confidence"]
    arrays = copy_columns(
        [("s.repetition_id", "int8"), ("s.error_type_id", "int8"), ("s.n_votes", "int4"), ("s.mean", "float8"),
         ("s.majority", "int2"), (_nan_if_null("s.bmm_score"), "float8"), ("COALESCE(s.ds_class, -1)", "int2"),
         (_nan_if_null("s.ds_confidence"), "float8")],
        "FROM annotation_severitylabel s WHERE s.label_set_id = %s", [label_set_id],
    )
    return dict(zip(names, arrays))
