"""Reads for split versions and exports, and the bulk column reads they are computed from.

Halo-scale exports touch ~1.2 M repetitions, ~3.5 M end-point marks and ~9 M severity votes, so
the big reads go through ``COPY (SELECT ...) TO STDOUT`` parsed by pyarrow (PostgreSQL), never
through model instances; SQLite (the embedded default) falls back to a plain cursor.
Every function here only reads.
"""
import numpy as np
import pyarrow as pa
from django.db import connection, transaction
from django.db.models import QuerySet

from config.exceptions import NotFoundError
from datasets.bulk import is_postgres
from datasets.models import (
    Clip, Dataset, ErrorType, Exercise, Participant, RepetitionSpan, SplitExport, SplitMembership, SplitVersion,
)

# --- split versions and exports ---------------------------------------------------------------


def split_version_list(*, dataset_id=None) -> QuerySet:
    qs = SplitVersion.objects.select_related("dataset", "created_by")
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    return qs.order_by("dataset_id", "-version")


def split_version_get(*, split_version_id) -> SplitVersion:
    try:
        return split_version_list().get(pk=split_version_id)
    except (SplitVersion.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Split version {split_version_id} not found.", code="split_version_not_found") from None


def split_export_list(*, split_version_id=None) -> QuerySet:
    qs = SplitExport.objects.select_related("split_version__dataset", "created_by")
    if split_version_id is not None:
        qs = qs.filter(split_version_id=split_version_id)
    return qs


def split_export_get(*, export_id) -> SplitExport:
    try:
        return split_export_list().get(pk=export_id)
    except (SplitExport.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Export {export_id} not found.", code="export_not_found") from None


def split_membership_list(*, split_version: SplitVersion, split: int | None = None) -> QuerySet:
    qs = SplitMembership.objects.filter(split_version=split_version).select_related(
        "clip__participant", "clip__exercise").order_by("clip_id")
    if split is not None:
        qs = qs.filter(split=split)
    return qs


def split_membership_arrays(*, split_version: SplitVersion) -> tuple[np.ndarray, np.ndarray]:
    """(clip ids ascending, split code per clip) of one version."""
    rows = copy_packed(
        f"SELECT clip_id, split FROM {SplitMembership._meta.db_table} WHERE split_version_id = %s",
        [split_version.pk], {"clip_id": pa.int64(), "split": pa.int8()}, bucket="clip_id",
    )
    order = np.argsort(rows["clip_id"], kind="stable")
    return rows["clip_id"][order], rows["split"][order]


def positions(ids: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index in ``ids`` (unique, any order) of each query id, all of which must be present.

    Database ids are nearly contiguous, so a dense lookup table (one slot per id in the range)
    answers in O(1) per query; a ``searchsorted`` through an argsort costs a cache miss per step
    (seconds for a million queries). Falls back to it when the ids are too sparse.
    """
    ids = np.asarray(ids)
    queries = np.asarray(queries)
    if ids.size == 0 or queries.size == 0:
        return np.zeros(queries.shape[0], dtype=np.int64)
    low, high = int(ids.min()), int(ids.max())
    if high - low < 8 * ids.shape[0] + 1024:
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[ids - low] = np.arange(ids.shape[0])
        return table[queries - low]
    order = np.argsort(ids)
    return order[np.searchsorted(ids, queries, sorter=order)]


# --- background reads ---------------------------------------------------------------------------


class Prefetch:
    """Run a read in a thread (its own database connection) while the caller does other work.

    An export's biggest query (the vote histogram: seconds of database CPU at Halo scale) then
    overlaps with reading and computing repetition bounds in this process. Inside a transaction
    the read runs in the caller's thread instead, when ``result()`` is called, because another
    connection would not see the transaction's uncommitted rows (tests, imports).
    """

    def __init__(self, fn, **kwargs):
        self._fn, self._kwargs = fn, kwargs
        self._thread = None
        self._result = self._error = None
        if not connection.in_atomic_block:
            import threading

            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self):
        try:
            self._result = self._fn(**self._kwargs)
        except BaseException as exc:  # handed to the caller in result()
            self._error = exc
        finally:
            connection.close()

    def result(self):
        if self._thread is None:
            return self._fn(**self._kwargs)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


# --- bulk column reads ------------------------------------------------------------------------


_NUMPY = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64}
# Big GROUP BYs (vote histograms) spill to disk at PostgreSQL's default 4 MB; a local setting lets
# them hash in memory without changing the server's configuration.
WORK_MEM = "256MB"


def copy_rows(sql: str, params: list, columns: dict[str, pa.DataType], *, text_as_arrow: bool = False) -> dict:
    """Run a SELECT and return its columns as numpy arrays (strings as object arrays).

    ``columns`` names the SELECT's columns in order with their Arrow types. NULL integers come
    back as -1, NULL floats as NaN, NULL strings as "" (as an Arrow array with ``text_as_arrow``).
    The result is fetched in one go (libpq reads it in C); a COPY would cost a Python-level
    round of the driver per row, which under CPU contention means a scheduler hand-off per row.
    Meant for up to a few hundred thousand rows; bigger numeric results use :func:`copy_packed`.
    """
    names = list(columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])
        cursor.execute(sql, params or None)
        rows = cursor.fetchall()
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    table = {n: pa.array(list(c), type=t) for (n, t), c in zip(columns.items(), cols)}
    out = {}
    for name, dtype in columns.items():
        col = table[name]
        if pa.types.is_integer(dtype):
            values = col.to_numpy(zero_copy_only=False)
            if col.null_count:
                values = np.where(np.asarray(col.is_valid()), np.nan_to_num(values, nan=-1), -1)
            out[name] = values.astype(_NUMPY[dtype], copy=False)
        elif pa.types.is_floating(dtype):
            out[name] = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        elif pa.types.is_boolean(dtype):
            out[name] = np.asarray(col.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        elif text_as_arrow:
            out[name] = col.fill_null("")
        else:
            out[name] = np.array(["" if v is None else v for v in cols[names.index(name)]], dtype=object) \
                if col.null_count else np.array(list(cols[names.index(name)]), dtype=object)
    return out


#: Rows of a packed read: the result is folded into at most this many rows (see copy_packed).
PACK_GROUPS = 4096


def copy_packed(sql: str, params: list, columns: dict[str, pa.DataType], *, bucket: str) -> dict[str, np.ndarray]:
    """Like :func:`copy_rows` for big, purely numeric results, folded server-side into few rows.

    Reading a result costs the driver a few microseconds per row whatever the row's width, so
    millions of short rows (repetitions, vote histograms) are regrouped by the database into at
    most ``PACK_GROUPS`` rows (``GROUP BY mod(<bucket>, PACK_GROUPS)``), each column aggregated, in
    the same row order, as the concatenation of its values' binary send form (``int8send`` /
    ``float8send``: big-endian 8 bytes), which numpy reads without parsing. Row order is not kept;
    callers sort. Columns must be numeric and NOT NULL (``string_agg`` skips NULLs).
    """
    if not is_postgres():
        return copy_rows(sql, params, columns)
    names = list(columns)
    send = {n: ("float8send(CAST(q.{0} AS double precision))" if pa.types.is_floating(t)
                else "int8send(CAST(q.{0} AS bigint))").format(n) for n, t in columns.items()}
    folded = ", ".join(f"string_agg({send[n]}, ''::bytea)" for n in names)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])
        cursor.execute(f"SELECT {folded} FROM ({sql}) q GROUP BY mod(q.{bucket}, {PACK_GROUPS})", params or None)
        rows = cursor.fetchall()
    out = {}
    for i, (name, dtype) in enumerate(columns.items()):
        kind = ">f8" if pa.types.is_floating(dtype) else ">i8"
        # Views on the fetched buffers, one copy into native byte order.
        parts = [np.frombuffer(row[i], dtype=kind) for row in rows]
        values = np.concatenate(parts) if parts else np.zeros(0, dtype=kind)
        out[name] = values.astype(np.float64 if kind == ">f8" else _NUMPY[dtype])
        del parts, values
    return out


def _member_ids(split_version: SplitVersion) -> np.ndarray:
    """Sorted clip ids of a version (cached on the instance: a frozen version never changes)."""
    cached = getattr(split_version, "_member_ids_cache", None)
    if cached is None:
        cached = split_membership_arrays(split_version=split_version)[0]
        split_version._member_ids_cache = cached
    return cached


def _clips_of(dataset: Dataset, column: str) -> tuple[str, list]:
    """SQL condition keeping rows whose ``column`` is a clip of ``dataset``.

    Always true when every clip in the database is the dataset's: a plain scan then beats a
    semi-join, and it does not depend on the planner's statistics of freshly written rows.
    Versions are narrowed afterwards in numpy (:func:`_in_version`), for the same reason.
    """
    if not Clip.objects.exclude(dataset=dataset).exists():
        return "TRUE", []
    return f"{column} IN (SELECT id FROM {Clip._meta.db_table} WHERE dataset_id = %s)", [dataset.pk]


def _in_version(rows: dict, clip_ids: np.ndarray, split_version: SplitVersion | None) -> dict:
    if split_version is None or not clip_ids.size:
        return rows
    members = _member_ids(split_version)
    pos = np.minimum(np.searchsorted(members, clip_ids), max(members.shape[0] - 1, 0))
    keep = members[pos] == clip_ids if members.size else np.zeros(clip_ids.shape[0], dtype=bool)
    return {k: v.filter(pa.array(keep)) if isinstance(v, pa.Array) else v[keep] for k, v in rows.items()}


def clip_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Clip rows of a dataset (or of a split version's clips), ordered by id."""
    rows = copy_rows(
        f"SELECT c.id, c.external_id, c.exercise_id, c.participant_id, c.fps, c.frame_count, c.pose_file, "
        f"c.video_file, c.source FROM {Clip._meta.db_table} c WHERE c.dataset_id = %s ORDER BY c.id",
        [dataset.pk],
        {"id": pa.int64(), "external_id": pa.string(), "exercise_id": pa.int64(), "participant_id": pa.int64(),
         "fps": pa.float64(), "frame_count": pa.int64(), "pose_file": pa.string(), "video_file": pa.string(),
         "source": pa.string()},
    )
    return _in_version(rows, rows["id"], split_version)


def repetition_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Repetitions of the dataset's (or the version's) clips, ordered by (clip, index)."""
    where, params = _clips_of(dataset, "r.clip_id")
    # "index" is a reserved word in SQLite: quoted.
    rows = copy_packed(f'SELECT r.id, r.clip_id, r."index" FROM datasets_repetition r WHERE {where}', params,
                       {"id": pa.int64(), "clip_id": pa.int64(), "index": pa.int32()}, bucket="id")
    rows = _in_version(rows, rows["clip_id"], split_version)
    order = np.lexsort((rows["index"], rows["clip_id"]))
    return {k: v[order] for k, v in rows.items()}


def _dataset_error_types(dataset: Dataset) -> list[int]:
    return list(ErrorType.objects.filter(exercise__dataset=dataset).values_list("pk", flat=True))


def severity_histogram_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Per (repetition, error type) of the dataset: the vote histogram ``h0..h3``, counted by the database.

    Halo has ~10 votes per item: aggregating in SQL sends ~0.9 M rows instead of ~9 M, which is
    what keeps a Halo-scale export or split within its time budget. The four counts travel as one
    integer (16 bits per class, so up to 65,535 votes per class and item). ``split_version`` is
    accepted for symmetry but not used to filter: the caller keeps the repetitions it knows, which
    costs less than a semi-join over millions of votes.
    """
    from annotation.models import SeverityVote

    error_types = _dataset_error_types(dataset)
    names = ("repetition_id", "error_type_id", "h0", "h1", "h2", "h3")
    if not error_types:
        return {n: np.zeros(0, np.int64) for n in names}
    # The dataset's error types select its votes. When no other dataset has error types, every vote
    # is this dataset's and the filter is left out: a plain sequential scan, where an IN list on an
    # unanalysed table can turn into a bitmap scan of the whole table.
    where, params = "", []
    if ErrorType.objects.exclude(exercise__dataset=dataset).exists():
        where, params = f"WHERE v.error_type_id IN ({', '.join(['%s'] * len(error_types))})", list(error_types)
    # Four filtered counts, combined once per item: summing a bigint per vote would accumulate
    # in numeric, which is slower.
    packed = " + ".join(f"(count(*) FILTER (WHERE v.value = {c}) * {1 << (16 * c)})" for c in range(4))
    sql = (f"SELECT v.repetition_id, v.error_type_id, {packed} AS packed "
           f"FROM {SeverityVote._meta.db_table} v {where} GROUP BY v.repetition_id, v.error_type_id")
    rows = copy_packed(sql, params, {"repetition_id": pa.int64(), "error_type_id": pa.int64(),
                                                "packed": pa.int64()}, bucket="repetition_id")
    packed = rows.pop("packed").astype(np.uint64)
    for c in range(4):
        rows[f"h{c}"] = ((packed >> np.uint64(16 * c)) & np.uint64(0xFFFF)).astype(np.int64)
    return rows


def clip_class_counts(*, dataset: Dataset) -> dict[str, np.ndarray]:
    """Per (clip, error type, majority class): how many repetitions have that class (raw votes).

    The majority is taken per (repetition, error type) from the vote histogram, ties toward the
    lower class (``argmax`` keeps the first maximum), as ``annotation.core.votes``.
    """
    pending = Prefetch(severity_histogram_columns, dataset=dataset)
    reps = repetition_columns(dataset=dataset)
    hist = pending.result()
    names = ("clip_id", "error_type_id", "cls", "n")
    if hist["repetition_id"].size == 0:
        return {n: np.zeros(0, np.int64) for n in names}
    clip_id = reps["clip_id"][positions(reps["id"], hist["repetition_id"])]
    cls = np.stack([hist[f"h{c}"] for c in range(4)], axis=1).argmax(1)
    return class_counts(clip_id, hist["error_type_id"], cls)


def class_counts(clip_id: np.ndarray, error_type_id: np.ndarray, cls: np.ndarray) -> dict[str, np.ndarray]:
    """Count items per (clip, error type, class 0-3), with one sort of packed integer keys."""
    clips, clip_local = np.unique(clip_id, return_inverse=True)
    ets, et_local = np.unique(error_type_id, return_inverse=True)
    keys, n = np.unique((clip_local.astype(np.int64) * ets.shape[0] + et_local) * 4 + np.asarray(cls, np.int64),
                        return_counts=True)
    return {"clip_id": clips[keys // 4 // ets.shape[0]], "error_type_id": ets[keys // 4 % ets.shape[0]],
            "cls": keys % 4, "n": n.astype(np.int64)}


def repetition_counts(*, dataset: Dataset) -> dict[str, np.ndarray]:
    """Repetitions per clip of the dataset (clips without any are absent)."""
    return copy_rows(
        f"SELECT r.clip_id, count(*) FROM datasets_repetition r JOIN {Clip._meta.db_table} c ON c.id = r.clip_id "
        "WHERE c.dataset_id = %s GROUP BY r.clip_id", [dataset.pk], {"clip_id": pa.int64(), "n": pa.int64()})


def end_point_mark_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Every end-point mark (clip, annotator, frame), read packed (Halo: 3.5 M marks)."""
    from annotation.models import EndPointMark

    where, params = _clips_of(dataset, "m.clip_id")
    rows = copy_packed(f"SELECT m.clip_id, m.annotator_id, m.frame FROM {EndPointMark._meta.db_table} m WHERE {where}",
                       params, {"clip_id": pa.int64(), "annotator_id": pa.int64(), "frame": pa.int64()},
                       bucket="clip_id")
    return _in_version(rows, rows["clip_id"], split_version)


def repetition_span_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Imported (start, end) spans of the dataset's repetitions (none for annotated datasets)."""
    if not RepetitionSpan.objects.filter(repetition__clip__dataset=dataset).exists():
        return {"repetition_id": np.zeros(0, np.int64), "annotator_id": np.zeros(0, np.int64),
                "start_frame": np.zeros(0), "end_frame": np.zeros(0)}
    where, params = _clips_of(dataset, "r.clip_id")
    rows = copy_rows(
        f"SELECT s.repetition_id, s.annotator_id, s.start_frame, s.end_frame, r.clip_id FROM "
        f"{RepetitionSpan._meta.db_table} s JOIN datasets_repetition r ON r.id = s.repetition_id WHERE {where}",
        params, {"repetition_id": pa.int64(), "annotator_id": pa.int64(), "start_frame": pa.float64(),
                 "end_frame": pa.float64(), "clip_id": pa.int64()},
    )
    return _in_version(rows, rows["clip_id"], split_version)


def error_segment_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    from annotation.models import ErrorSegment

    table = ErrorSegment._meta.db_table
    where, params = _clips_of(dataset, "s.clip_id")
    rows = copy_rows(
        f"SELECT s.clip_id, s.error_type_id, s.annotator_id, s.start_frame, s.end_frame FROM {table} s WHERE {where} "
        "ORDER BY s.clip_id, s.error_type_id, s.start_frame, s.end_frame, s.annotator_id",
        params, {"clip_id": pa.int64(), "error_type_id": pa.int64(), "annotator_id": pa.int64(),
                 "start_frame": pa.int64(), "end_frame": pa.int64()},
    )
    return _in_version(rows, rows["clip_id"], split_version)


def feedback_note_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    from annotation.models import FeedbackNote

    table = FeedbackNote._meta.db_table
    where, params = _clips_of(dataset, "n.clip_id")
    rows = copy_rows(
        f"SELECT n.clip_id, n.annotator_id, n.frame, n.text FROM {table} n WHERE {where} "
        "ORDER BY n.clip_id, n.frame, n.annotator_id, n.id",
        params, {"clip_id": pa.int64(), "annotator_id": pa.int64(), "frame": pa.int64(), "text": pa.string()},
    )
    return _in_version(rows, rows["clip_id"], split_version)


def exercise_map(*, dataset: Dataset) -> dict[int, Exercise]:
    return {e.pk: e for e in Exercise.objects.filter(dataset=dataset)}


def error_type_map(*, dataset: Dataset) -> dict[int, ErrorType]:
    return {e.pk: e for e in ErrorType.objects.filter(exercise__dataset=dataset).select_related("exercise")}


def participant_columns(*, dataset: Dataset) -> dict[str, np.ndarray]:
    rows = list(Participant.objects.filter(dataset=dataset).order_by("pk")
                .values_list("pk", "external_id", "skill_level"))
    return {
        "id": np.array([r[0] for r in rows], dtype=np.int64),
        "external_id": np.array([r[1] for r in rows], dtype=object),
        "skill_level": np.array([-1 if r[2] is None else r[2] for r in rows], dtype=np.int64),
    }
