"""Reads for split versions and exports, and the bulk column reads they are computed from.

Halo-scale exports touch ~1.2 M repetitions, ~3.5 M end-point marks and ~9 M severity votes, so
the big reads go through ``COPY (SELECT ...) TO STDOUT`` parsed by pyarrow (PostgreSQL), never
through model instances; SQLite (the embedded default) falls back to a plain cursor.
Every function here only reads.
"""
import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection
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
    rows = copy_rows(
        f"SELECT clip_id, split FROM {SplitMembership._meta.db_table} WHERE split_version_id = %s ORDER BY clip_id",
        [split_version.pk], {"clip_id": pa.int64(), "split": pa.int8()},
    )
    return rows["clip_id"], rows["split"]


# --- bulk column reads ------------------------------------------------------------------------


def copy_rows(sql: str, params: list, columns: dict[str, pa.DataType]) -> dict[str, np.ndarray]:
    """Run a SELECT and return its columns as numpy arrays (strings as object arrays).

    ``columns`` names the SELECT's columns in order with their Arrow types. NULL integers come
    back as -1, NULL floats as NaN, NULL strings as "".
    """
    names = list(columns)
    has_text = any(pa.types.is_string(t) for t in columns.values())
    if is_postgres():
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for chunk in copy:
                    buffer.write(chunk)
        if buffer.tell() == 0:
            table = pa.table({n: pa.array([], type=t) for n, t in columns.items()})
        else:
            buffer.seek(0)
            table = pa_csv.read_csv(
                buffer,
                read_options=pa_csv.ReadOptions(column_names=names, block_size=1 << 24),
                parse_options=pa_csv.ParseOptions(newlines_in_values=has_text),
                convert_options=pa_csv.ConvertOptions(column_types=columns, strings_can_be_null=False,
                                                      quoted_strings_can_be_null=False),
            )
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        cols = list(zip(*rows)) if rows else [[] for _ in names]
        table = pa.table({n: pa.array(list(c), type=t) for (n, t), c in zip(columns.items(), cols)})
    out = {}
    for name, dtype in columns.items():
        col = table[name]
        if pa.types.is_integer(dtype):
            out[name] = col.fill_null(-1).to_numpy().astype(dtype.to_pandas_dtype(), copy=False)
        elif pa.types.is_floating(dtype):
            out[name] = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        elif pa.types.is_boolean(dtype):
            out[name] = col.fill_null(False).to_numpy(zero_copy_only=False)
        else:
            out[name] = np.asarray(col.fill_null("").to_pylist(), dtype=object)
    return out


def _member_clips_sql() -> str:
    return f"SELECT clip_id FROM {SplitMembership._meta.db_table} WHERE split_version_id = %s"


def clip_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Clip rows of a dataset (or of a split version's clips), ordered by id."""
    table = Clip._meta.db_table
    where, params = "c.dataset_id = %s", [dataset.pk]
    if split_version is not None:
        where += f" AND c.id IN ({_member_clips_sql()})"
        params.append(split_version.pk)
    return copy_rows(
        f"SELECT c.id, c.external_id, c.exercise_id, c.participant_id, c.fps, c.frame_count, c.pose_file, "
        f"c.video_file, c.source FROM {table} c WHERE {where} ORDER BY c.id",
        params,
        {"id": pa.int64(), "external_id": pa.string(), "exercise_id": pa.int64(), "participant_id": pa.int64(),
         "fps": pa.float64(), "frame_count": pa.int64(), "pose_file": pa.string(), "video_file": pa.string(),
         "source": pa.string()},
    )


def repetition_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Repetitions of the dataset's (or the version's) clips, ordered by (clip, index)."""
    rep, clip = "datasets_repetition", Clip._meta.db_table
    if split_version is not None:
        sql = (f"SELECT r.id, r.clip_id, r.index FROM {rep} r WHERE r.clip_id IN ({_member_clips_sql()}) "
               "ORDER BY r.clip_id, r.index")
        params = [split_version.pk]
    else:
        sql = (f"SELECT r.id, r.clip_id, r.index FROM {rep} r JOIN {clip} c ON c.id = r.clip_id "
               "WHERE c.dataset_id = %s ORDER BY r.clip_id, r.index")
        params = [dataset.pk]
    return copy_rows(sql, params, {"id": pa.int64(), "clip_id": pa.int64(), "index": pa.int32()})


def _rep_filter(dataset: Dataset, split_version: SplitVersion | None) -> tuple[str, list]:
    if split_version is not None:
        return (f"SELECT r.id FROM datasets_repetition r WHERE r.clip_id IN ({_member_clips_sql()})",
                [split_version.pk])
    return (f"SELECT r.id FROM datasets_repetition r JOIN {Clip._meta.db_table} c ON c.id = r.clip_id "
            "WHERE c.dataset_id = %s", [dataset.pk])


def severity_vote_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    """Raw severity votes (repetition, error type, annotator, value) of the dataset's clips."""
    from annotation.models import SeverityVote

    # Filtering on the dataset's error types first lets PostgreSQL skip other datasets' votes
    # through the error-type index; the repetition filter then narrows to the version's clips.
    error_types = list(ErrorType.objects.filter(exercise__dataset=dataset).values_list("pk", flat=True))
    if not error_types:
        return {"repetition_id": np.zeros(0, np.int64), "error_type_id": np.zeros(0, np.int64),
                "annotator_id": np.zeros(0, np.int64), "value": np.zeros(0, np.int8)}
    sql = (f"SELECT v.repetition_id, v.error_type_id, v.annotator_id, v.value FROM {SeverityVote._meta.db_table} v "
           f"WHERE v.error_type_id IN ({', '.join(['%s'] * len(error_types))})")
    params = list(error_types)
    if split_version is not None:
        rep_sql, rep_params = _rep_filter(dataset, split_version)
        sql += f" AND v.repetition_id IN ({rep_sql})"
        params += rep_params
    return copy_rows(sql, params, {"repetition_id": pa.int64(), "error_type_id": pa.int64(),
                                   "annotator_id": pa.int64(), "value": pa.int8()})


def end_point_mark_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    from annotation.models import EndPointMark

    table = EndPointMark._meta.db_table
    if split_version is not None:
        sql = f"SELECT m.clip_id, m.annotator_id, m.frame FROM {table} m WHERE m.clip_id IN ({_member_clips_sql()})"
        params = [split_version.pk]
    else:
        sql = (f"SELECT m.clip_id, m.annotator_id, m.frame FROM {table} m JOIN {Clip._meta.db_table} c "
               "ON c.id = m.clip_id WHERE c.dataset_id = %s")
        params = [dataset.pk]
    return copy_rows(sql, params, {"clip_id": pa.int64(), "annotator_id": pa.int64(), "frame": pa.int64()})


def repetition_span_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    rep_sql, params = _rep_filter(dataset, split_version)
    return copy_rows(
        f"SELECT s.repetition_id, s.annotator_id, s.start_frame, s.end_frame FROM {RepetitionSpan._meta.db_table} s "
        f"WHERE s.repetition_id IN ({rep_sql})",
        params, {"repetition_id": pa.int64(), "annotator_id": pa.int64(), "start_frame": pa.float64(),
                 "end_frame": pa.float64()},
    )


def error_segment_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    from annotation.models import ErrorSegment

    table = ErrorSegment._meta.db_table
    where, params = f"s.clip_id IN (SELECT id FROM {Clip._meta.db_table} WHERE dataset_id = %s)", [dataset.pk]
    if split_version is not None:
        where, params = f"s.clip_id IN ({_member_clips_sql()})", [split_version.pk]
    return copy_rows(
        f"SELECT s.clip_id, s.error_type_id, s.annotator_id, s.start_frame, s.end_frame FROM {table} s WHERE {where} "
        "ORDER BY s.clip_id, s.error_type_id, s.start_frame, s.end_frame, s.annotator_id",
        params, {"clip_id": pa.int64(), "error_type_id": pa.int64(), "annotator_id": pa.int64(),
                 "start_frame": pa.int64(), "end_frame": pa.int64()},
    )


def feedback_note_columns(*, dataset: Dataset, split_version: SplitVersion | None = None) -> dict[str, np.ndarray]:
    from annotation.models import FeedbackNote

    table = FeedbackNote._meta.db_table
    where, params = f"n.clip_id IN (SELECT id FROM {Clip._meta.db_table} WHERE dataset_id = %s)", [dataset.pk]
    if split_version is not None:
        where, params = f"n.clip_id IN ({_member_clips_sql()})", [split_version.pk]
    return copy_rows(
        f"SELECT n.clip_id, n.annotator_id, n.frame, n.text FROM {table} n WHERE {where} "
        "ORDER BY n.clip_id, n.frame, n.annotator_id, n.id",
        params, {"clip_id": pa.int64(), "annotator_id": pa.int64(), "frame": pa.int64(), "text": pa.string()},
    )


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
