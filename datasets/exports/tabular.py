"""``csv`` and ``parquet``: the long table, one row per (clip, repetition, error type), per split.

Files: ``<split>.csv`` / ``<split>.parquet`` (the long table), ``segments.*`` and ``feedback.*``.
A repetition without labels still has one row (error columns empty), and a clip without
repetitions one row (repetition columns empty), so no clip is lost by a filter on labels.
Built column-wise with numpy and pyarrow: no Python loop per row.

CSV text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) are
prefixed with ``'``; Parquet keeps values unchanged.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from datasets.exports.common import SPLIT_NAMES, mirrored_codes, offsets, row_plan
from datasets.exports.files import escape_formula
from datasets.exports.pose import copy_pose_files

TEXT_COLUMNS = ("clip_id", "split", "exercise", "participant", "error_type", "generic_error", "augmentation",
                "source_clip_id", "endpoints_reason", "annotator", "text")


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups with ``counts`` members: (group of each member, rank within its group)."""
    group = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(group.shape[0]) - starts[group]


def long_table(data, plan) -> pa.Table:
    """The long (clip, repetition, error type) table for the rows of ``plan``."""
    c, r, lab = data.clips, data.reps, data.labels
    n = data.n_clips
    rep_off = offsets(r["clip_row"], n)
    lab_off = offsets(lab["rep_row"], r["id"].shape[0])
    src = plan.source
    aug = plan.augmentation
    # Level 1: (plan row, repetition or -1).
    n_rep = rep_off[src + 1] - rep_off[src]
    prow, k = _expand(np.maximum(n_rep, 1))
    rep = np.where(n_rep[prow] > 0, rep_off[src[prow]] + k, -1)
    # Level 2: (plan row, repetition, label or -1).
    n_lab = np.where(rep >= 0, lab_off[np.maximum(rep, 0) + 1] - lab_off[np.maximum(rep, 0)], 0)
    r1, j = _expand(np.maximum(n_lab, 1))
    prow, rep = prow[r1], rep[r1]
    label = np.where(n_lab[r1] > 0, lab_off[np.maximum(rep, 0)] + j, -1)
    clip = src[prow]
    row_aug = aug[prow]

    has_rep, has_lab = rep >= 0, label >= 0
    rep_i, lab_i = np.maximum(rep, 0), np.maximum(label, 0)
    fps = c["fps"][clip]
    start = np.where(has_rep, r["start_frame"][rep_i] if rep.size and r["id"].size else np.nan, np.nan)
    end = np.where(has_rep, r["end_frame"][rep_i] if rep.size and r["id"].size else np.nan, np.nan)
    code = lab["error_code"][lab_i] if lab["error_code"].size else np.full(clip.shape[0], "", dtype=object)
    mirrored = np.array(["mirror" in a or "horizontal_flip" in a for a in aug.tolist()], dtype=bool)[prow]
    if mirrored.any():
        swap = mirrored_codes(data)
        code = np.where(mirrored, np.array([swap.get(x, x) for x in code.tolist()], dtype=object), code)
    raw = lab["hist"] is not None

    def masked(values, mask, dtype):
        return pa.array(values, mask=~mask, type=dtype)

    def take(column, index, mask, dtype):
        if column.size == 0:
            return pa.nulls(clip.shape[0], type=dtype)
        return masked(column[index], mask, dtype)

    skill = c["skill"][clip]
    columns = {
        "clip_id": pa.array(c["external_id"][clip], type=pa.string()),
        "split": pa.array(np.array(SPLIT_NAMES, dtype=object)[c["split"][clip]], type=pa.string()),
        "exercise": pa.array(c["exercise_slug"][clip], type=pa.string()),
        "participant": pa.array(c["participant"][clip], type=pa.string()),
        "skill_level": masked(skill, skill >= 0, pa.int8()),
        "fps": pa.array(fps, type=pa.float64()),
        "frame_count": pa.array(c["frame_count"][clip], type=pa.int32()),
        "endpoints_agree": pa.array(c["endpoints_agree"][clip], type=pa.bool_()),
        "endpoints_reason": pa.array(c["endpoints_reason"][clip], type=pa.string()),
        "rep_index": take(r["index"], rep_i, has_rep, pa.int32()),
        "rep_start_frame": masked(start, ~np.isnan(start), pa.float64()),
        "rep_end_frame": masked(end, ~np.isnan(end), pa.float64()),
        "rep_start_s": masked(np.round(start / fps, 6), ~np.isnan(start), pa.float64()),
        "rep_end_s": masked(np.round(end / fps, 6), ~np.isnan(end), pa.float64()),
        "error_type": masked(code, has_lab, pa.string()),
        "generic_error": take(lab["generic_name"], lab_i, has_lab, pa.string()),
        "severity_score": _score_column(lab["score"], lab_i, has_lab, clip.shape[0]),
        "severity_class": take(lab["cls"], lab_i, has_lab, pa.int8()),
    }
    columns["n_votes"] = take(lab["n_votes"], lab_i, has_lab, pa.int16())
    if raw:
        hist = lab["hist"]
        for v in range(4):
            columns[f"votes_{v}"] = take(hist[:, v] if hist.size else hist.reshape(0), lab_i, has_lab, pa.int16())
    for name, values in lab["extra"].items():  # a label set's own columns; -1 / NaN = not computed
        valid = ~np.isnan(values[lab_i]) if values.dtype.kind == "f" else values[lab_i] >= 0
        columns[name] = take(values, lab_i, has_lab & valid if values.size else has_lab,
                             pa.float64() if values.dtype.kind == "f" else pa.int8())
    columns["augmentation"] = pa.array(row_aug, type=pa.string())
    columns["source_clip_id"] = pa.array(np.where(row_aug != "", c["external_id"][clip], ""), type=pa.string())
    return pa.table(columns)


def _score_column(score, index, has_label, n) -> pa.Array:
    if score.size == 0:
        return pa.nulls(n, type=pa.float64())
    values = score[index]
    return pa.array(values, mask=~(has_label & ~np.isnan(values)), type=pa.float64())


def _per_clip_table(data, plan, table: dict, columns) -> pa.Table:
    """Segments or feedback rows of the plan's rows (copies repeat their source's rows)."""
    n = data.n_clips
    off = offsets(table["clip_row"], n)
    counts = off[plan.source + 1] - off[plan.source]
    prow, k = _expand(counts)
    idx = off[plan.source[prow]] + k
    clip = plan.source[prow]
    aug = plan.augmentation[prow]
    fps = data.clips["fps"][clip]
    out = {"clip_id": pa.array(data.clips["external_id"][clip], type=pa.string()),
           "split": pa.array(np.array(SPLIT_NAMES, dtype=object)[data.clips["split"][clip]], type=pa.string())}
    for name, kind in columns:
        values = table[name][idx] if idx.size else np.zeros(0, dtype=table[name].dtype)
        if name == "error_code":
            mirrored = np.array(["mirror" in a or "horizontal_flip" in a for a in aug.tolist()], dtype=bool)
            swap = mirrored_codes(data)
            values = np.where(mirrored, np.array([swap.get(x, x) for x in values.tolist()], dtype=object), values)
            name = "error_type"
        out[name] = pa.array(values, type=kind)
        if name in ("start_frame", "end_frame", "frame"):
            out[name.replace("frame", "s") if name != "frame" else "time_s"] = pa.array(
                np.round(values / fps, 6) if values.size else np.zeros(0), type=pa.float64())
    out["augmentation"] = pa.array(aug, type=pa.string())
    return pa.table(out)


def segment_table(data, plan) -> pa.Table:
    return _per_clip_table(data, plan, data.segments, [("error_code", pa.string()), ("start_frame", pa.int64()),
                                                      ("end_frame", pa.int64()), ("annotator", pa.string())])


def feedback_table(data, plan) -> pa.Table:
    return _per_clip_table(data, plan, data.feedback, [("frame", pa.int64()), ("text", pa.string()),
                                                      ("annotator", pa.string())])


def escape_table(table: pa.Table) -> pa.Table:
    """Formula-escape every text column (on its distinct values only)."""
    for name in table.column_names:
        if not pa.types.is_string(table.schema.field(name).type):
            continue
        col = table[name].combine_chunks().dictionary_encode()
        dictionary = col.dictionary.to_pylist()
        escaped = [escape_formula(v) for v in dictionary]
        if escaped != dictionary:
            col = pa.DictionaryArray.from_arrays(col.indices, pa.array(escaped, type=pa.string()))
        table = table.set_column(table.schema.get_field_index(name), name, col.cast(pa.string()))
    return table


def write_csv(table: pa.Table, path: Path) -> None:
    pa_csv.write_csv(escape_table(table), path,
                     write_options=pa_csv.WriteOptions(include_header=True, quoting_style="needed"))


def write_parquet(table: pa.Table, path: Path) -> None:
    # Fixed writer settings: the same table gives the same bytes.
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20, write_statistics=True,
                   use_dictionary=True)


def _split_tables(table: pa.Table):
    split = table["split"].to_numpy(zero_copy_only=False)
    for name in SPLIT_NAMES:
        yield name, table.filter(pa.array(split == name))


def _write(data, out: Path, options, writer, suffix, progress=None) -> dict:
    plan = row_plan(data, options)
    table = long_table(data, plan)
    if progress:
        progress(0.5, "table built")
    counts = {}
    files = []
    for name, part in _split_tables(table):
        writer(part, out / f"{name}.{suffix}")
        files.append(f"{name}.{suffix}")
        counts[name] = part.num_rows
    writer(segment_table(data, plan), out / f"segments.{suffix}")
    writer(feedback_table(data, plan), out / f"feedback.{suffix}")
    files += [f"segments.{suffix}", f"feedback.{suffix}"]
    if options.include_pose:
        files += copy_pose_files(data, out, rows=np.unique(plan.source))
    return {"rows": counts, "files": files, "records": _clip_counts(plan, data)}


def _clip_counts(plan, data) -> dict:
    split = data.clips["split"][plan.source]
    return {name: int(np.count_nonzero(split == s)) for s, name in enumerate(SPLIT_NAMES)}


def write_csv_export(data, out: Path, options, progress=None) -> dict:
    return _write(data, out, options, write_csv, "csv", progress)


def write_parquet_export(data, out: Path, options, progress=None) -> dict:
    return _write(data, out, options, write_parquet, "parquet", progress)
