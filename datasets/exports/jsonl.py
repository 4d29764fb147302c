"""``jsonl``: one clip per line, per split (``train.jsonl``, ``val.jsonl``, ``test.jsonl``).

A line carries the clip's metadata, its repetitions (start/end frame and seconds, from the
label set or the end-point consensus) with the per-error-type labels of each repetition, the
error time segments and the feedback lines. Read it with ``json.loads`` per line or
``pandas.read_json(path, lines=True)``. ``import_dataset --format jsonl`` reads it back::

    {"clip_id": "halo-000001", "dataset": "halo", "split": "train", "exercise": "squat", ...,
     "fps": 30.0, "frame_count": 1234, "endpoints_agree": true, "endpoints_reason": "",
     "repetitions": [{"index": 0, "start_frame": 0.0, "end_frame": 81.33, "start_s": 0.0, "end_s": 2.711,
                      "labels": {"squat__knees_in": {"severity_score": 0.4, "severity_class": 0,
                                                     "n_votes": 10, "votes": [6, 4, 0, 0]}}}],
     "segments": [...], "feedback": [...], "augmentation": null, "source_clip_id": null}

Halo-scale exports have ~1.2 M repetitions: their text is rendered column-wise with pyarrow
(``binary_join_element_wise`` per label and repetition, ``binary_join`` per group), and only the
clip's own fields go through Python.
"""
from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasets.exports.common import SPLIT_NAMES, mirrored_codes, offsets, row_plan, seconds
from datasets.exports.files import safe_file_stem
from datasets.exports.pose import copy_pose_files



def _num(values: np.ndarray, *, integral: bool = False) -> pa.Array:
    """Numbers as JSON text: NaN -> null; floats keep a decimal point (``2.0``, as json.dumps)."""
    if integral:
        return pc.cast(pa.array(values), pa.string())
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    whole = finite & (np.floor(values) == values) & (np.abs(values) < 1e15)
    as_float = pc.cast(pa.array(values), pa.string())
    as_whole = pc.binary_join_element_wise(pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), pa.string()),
                                           ".0", "")
    return pc.if_else(pa.array(whole), as_whole, pc.if_else(pa.array(finite), as_float, pa.scalar("null")))


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _grouped(values: pa.Array, offsets: np.ndarray, separator: str) -> pa.Array:
    """Join the strings of each group (CSR ``offsets``) with ``separator``: one string per group."""
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int64), type=pa.int64()), values)
    return pc.binary_join(lists, separator)


def repetitions_json(data, *, mirrored: bool = False) -> list[str]:
    """Per clip row, the JSON text of its ``repetitions`` list (labels keyed by error code).

    ``mirrored``: left/right error codes swapped (and re-sorted), for mirrored copies.
    """
    r, lab = data.reps, data.labels
    n_reps = r["id"].shape[0]
    # Work on error type ids (a small vocabulary) rather than on a million code strings.
    type_ids, local = np.unique(lab["error_type_id"], return_inverse=True)
    code_of = dict(zip(lab["error_type_id"].tolist(), lab["error_code"].tolist())) if type_ids.size else {}
    vocab = [code_of[t] for t in type_ids.tolist()]
    if mirrored:
        swap = mirrored_codes(data)
        vocab = [swap[c] for c in vocab]
    rank = np.argsort(np.argsort(np.array(vocab, dtype=object))) if vocab else np.zeros(0, np.int64)
    order = np.lexsort((rank[local], lab["rep_row"])) if mirrored and local.size else np.arange(local.shape[0])
    local = local[order]
    rep_row = lab["rep_row"][order]
    keys = pa.array([encode_basestring(c) + ':{"severity_score":' for c in vocab],
                    type=pa.string()).take(pa.array(local.astype(np.int64)))
    parts = [keys, _num(lab["score"][order]), ',"severity_class":', _num(lab["cls"][order], integral=True)]
    parts += [',"n_votes":', _num(lab["n_votes"][order], integral=True)]
    if lab["hist"] is not None:
        hist = lab["hist"][order]
        parts += [',"votes":[', _num(hist[:, 0], integral=True), ",", _num(hist[:, 1], integral=True), ",",
                  _num(hist[:, 2], integral=True), ",", _num(hist[:, 3], integral=True), "]"]
    for name, values in lab["extra"].items():  # a label set's own columns
        integral = values.dtype.kind in "iu"
        column = _num(values[order], integral=integral)
        if integral:  # -1 marks "not computed" in integer columns
            column = pc.if_else(pc.equal(pa.array(values[order]), -1), pa.scalar("null"), column)
        parts += [f',"{name}":', column]
    parts.append("}")
    fragments = _join(*parts) if local.size else pa.array([], type=pa.string())
    labels = _grouped(fragments, offsets(rep_row, n_reps), ",")
    fps = data.clips["fps"][r["clip_row"]]
    start, end = r["start_frame"], r["end_frame"]
    rep_text = _join('{"index":', _num(r["index"], integral=True), ',"start_frame":', _num(start), ',"end_frame":',
                     _num(end), ',"start_s":', _num(np.round(start / fps, 6)), ',"end_s":',
                     _num(np.round(end / fps, 6)), ',"labels":{', labels, "}}") if n_reps else \
        pa.array([], type=pa.string())
    return _grouped(rep_text, offsets(r["clip_row"], data.n_clips), ",").to_pylist()


def _dumps(value) -> str:
    """``json.dumps(value, ensure_ascii=False)`` for scalars, without building an encoder per call."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else "[]"


def write(data, out: Path, options, progress=None) -> dict:
    """Write ``<split>.jsonl``; every line is what :func:`clip_records` yields, rendered in bulk."""
    plan = row_plan(data, options)
    c, seg, fb = data.clips, data.segments, data.feedback
    n = data.n_clips
    mirrored = np.array(["mirror" in a or "horizontal_flip" in a for a in plan.augmentation.tolist()], dtype=bool)
    reps = {False: repetitions_json(data)}
    if mirrored.any():
        reps[True] = repetitions_json(data, mirrored=True)
    if progress:
        progress(0.5, "repetitions rendered")
    swap = mirrored_codes(data)
    seg_off, fb_off = offsets(seg["clip_row"], n), offsets(fb["clip_row"], n)
    handles = {s: open(out / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") for s, name in enumerate(SPLIT_NAMES)}
    counts = {name: 0 for name in SPLIT_NAMES}
    ext, fps, nfr = c["external_id"].tolist(), c["fps"].tolist(), c["frame_count"].tolist()
    split, ex, ex_name = c["split"].tolist(), c["exercise_slug"].tolist(), c["exercise_name"].tolist()
    part, skill, pose, video = c["participant"].tolist(), c["skill"].tolist(), c["pose_file"].tolist(), \
        c["video_file"].tolist()
    agree, reason, ids = c["endpoints_agree"].tolist(), c["endpoints_reason"].tolist(), c["id"].tolist()
    dataset = _dumps(data.dataset.name)
    try:
        for i, (row, aug, mirror) in enumerate(zip(plan.source.tolist(), plan.augmentation.tolist(), mirrored.tolist())):
            rate = fps[row]
            segments = [{"error_type": swap[seg["error_code"][j]] if mirror else seg["error_code"][j],
                         "start_frame": int(seg["start_frame"][j]), "end_frame": int(seg["end_frame"][j]),
                         "start_s": seconds(float(seg["start_frame"][j]), rate),
                         "end_s": seconds(float(seg["end_frame"][j]), rate), "annotator": seg["annotator"][j]}
                        for j in range(seg_off[row], seg_off[row + 1])]
            feedback = [{"frame": int(fb["frame"][j]), "time_s": seconds(float(fb["frame"][j]), rate),
                         "text": fb["text"][j], "annotator": fb["annotator"][j]} for j in range(fb_off[row], fb_off[row + 1])]
            stem = safe_file_stem(ext[row], f"clip-{ids[row]}")
            handle = handles[split[row]]
            handle.write(
                f'{{"clip_id":{_dumps(ext[row])},"dataset":{dataset},"split":"{SPLIT_NAMES[split[row]]}",'
                f'"exercise":{_dumps(ex[row])},"exercise_name":{_dumps(ex_name[row])},'
                f'"participant":{_dumps(part[row] or None)},"skill_level":{_dumps(None if skill[row] < 0 else skill[row])},'
                f'"fps":{_dumps(rate)},"frame_count":{nfr[row]},"duration_s":{_dumps(round(nfr[row] / rate, 6))},'
                f'"pose":{_dumps(f"pose/{stem}.npy" if options.include_pose and pose[row] else None)},'
                f'"video":{_dumps(video[row] or None)},"endpoints_agree":{_dumps(agree[row])},'
                f'"endpoints_reason":{_dumps(reason[row])},"repetitions":[')
            handle.write(reps[mirror][row])
            handle.write(f'],"segments":{_dumps(segments)},"feedback":{_dumps(feedback)},'
                         f'"augmentation":{_dumps(aug or None)},"source_clip_id":{_dumps(ext[row] if aug else None)}}}\n')
            counts[SPLIT_NAMES[split[row]]] += 1
            if progress and i % 20000 == 0:
                progress(0.5 + 0.5 * i / max(plan.source.shape[0], 1), f"{i} records")
    finally:
        for handle in handles.values():
            handle.close()
    files = [f"{name}.jsonl" for name in SPLIT_NAMES]
    if options.include_pose:
        files += copy_pose_files(data, out, rows=np.unique(plan.source))
    return {"records": counts, "files": files}
