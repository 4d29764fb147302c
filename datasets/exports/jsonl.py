"""``jsonl``: one clip per line, per split (``train.jsonl``, ``val.jsonl``, ``test.jsonl``).

A line carries the clip's metadata, its repetitions (start/end frame and seconds, from the
label set or the end-point consensus) with the per-error-type labels of each repetition, the
error time segments and the feedback lines. Read it with ``json.loads`` per line or
``pandas.read_json(path, lines=True)``. ``import_dataset --format jsonl`` reads it back.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from datasets.exports.common import SPLIT_NAMES, mirrored_codes, none_if_nan, offsets, row_plan, seconds
from datasets.exports.files import safe_file_stem
from datasets.exports.pose import copy_pose_files

SCHEMA_VERSION = 1


def clip_records(data, options, *, plan=None):
    """Yield (split code, record dict) for every row of the plan, in order."""
    plan = plan if plan is not None else row_plan(data, options)
    c, r, lab, seg, fb = data.clips, data.reps, data.labels, data.segments, data.feedback
    n = data.n_clips
    rep_off = offsets(r["clip_row"], n)
    lab_off = offsets(lab["rep_row"], r["id"].shape[0])
    seg_off = offsets(seg["clip_row"], n)
    fb_off = offsets(fb["clip_row"], n)
    raw = data.label_source.kind == "raw"
    swap = mirrored_codes(data)
    # Python lists once: element access on numpy arrays in a loop is several times slower.
    ext, fps, nfr = c["external_id"].tolist(), c["fps"].tolist(), c["frame_count"].tolist()
    split, ex, ex_name = c["split"].tolist(), c["exercise_slug"].tolist(), c["exercise_name"].tolist()
    part, skill = c["participant"].tolist(), c["skill"].tolist()
    agree, reason = c["endpoints_agree"].tolist(), c["endpoints_reason"].tolist()
    pose, video, ids = c["pose_file"].tolist(), c["video_file"].tolist(), c["id"].tolist()
    r_index, r_start, r_end = r["index"].tolist(), r["start_frame"].tolist(), r["end_frame"].tolist()
    l_code, l_score, l_cls = lab["error_code"].tolist(), lab["score"].tolist(), lab["cls"].tolist()
    l_n = lab["n_votes"].tolist()
    l_hist = lab["hist"].tolist() if lab["hist"] is not None else None
    s_code, s_ann = seg["error_code"].tolist(), seg["annotator"].tolist()
    s_start, s_end = seg["start_frame"].tolist(), seg["end_frame"].tolist()
    f_frame, f_text, f_ann = fb["frame"].tolist(), fb["text"].tolist(), fb["annotator"].tolist()
    dataset_name = data.dataset.name
    for row, aug in zip(plan.source.tolist(), plan.augmentation.tolist()):
        mirrored = "mirror" in aug or "horizontal_flip" in aug
        rate = fps[row]
        reps = []
        for k in range(rep_off[row], rep_off[row + 1]):
            labels = {}
            for j in range(lab_off[k], lab_off[k + 1]):
                entry = {"severity_score": none_if_nan(l_score[j]), "severity_class": l_cls[j]}
                if raw:
                    entry["n_votes"] = l_n[j]
                    entry["votes"] = l_hist[j]
                labels[swap[l_code[j]] if mirrored else l_code[j]] = entry
            s, e = none_if_nan(r_start[k]), none_if_nan(r_end[k])
            reps.append({"index": r_index[k], "start_frame": s, "end_frame": e,
                         "start_s": seconds(s, rate), "end_s": seconds(e, rate),
                         "labels": dict(sorted(labels.items())) if mirrored else labels})
        segments = [{"error_type": swap[s_code[j]] if mirrored else s_code[j], "start_frame": s_start[j],
                     "end_frame": s_end[j], "start_s": seconds(s_start[j], rate), "end_s": seconds(s_end[j], rate),
                     "annotator": s_ann[j]} for j in range(seg_off[row], seg_off[row + 1])]
        feedback = [{"frame": f_frame[j], "time_s": seconds(f_frame[j], rate), "text": f_text[j],
                     "annotator": f_ann[j]} for j in range(fb_off[row], fb_off[row + 1])]
        stem = safe_file_stem(ext[row], f"clip-{ids[row]}")
        record = {
            "clip_id": ext[row], "dataset": dataset_name, "split": SPLIT_NAMES[split[row]],
            "exercise": ex[row], "exercise_name": ex_name[row], "participant": part[row] or None,
            "skill_level": None if skill[row] < 0 else skill[row], "fps": rate, "frame_count": nfr[row],
            "duration_s": round(nfr[row] / rate, 6),
            "pose": (f"pose/{stem}.npy" if options.include_pose and pose[row] else None),
            "video": video[row] or None,
            "endpoints_agree": agree[row], "endpoints_reason": reason[row],
            "repetitions": reps, "segments": segments, "feedback": feedback,
            "augmentation": aug or None, "source_clip_id": ext[row] if aug else None,
        }
        yield split[row], record


def write(data, out: Path, options, progress=None) -> dict:
    plan = row_plan(data, options)
    handles = {s: open(out / f"{name}.jsonl", "w", encoding="utf-8", newline="\n")
               for s, name in enumerate(SPLIT_NAMES)}
    counts = {name: 0 for name in SPLIT_NAMES}
    try:
        for i, (split, record) in enumerate(clip_records(data, options, plan=plan)):
            handles[split].write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            handles[split].write("\n")
            counts[SPLIT_NAMES[split]] += 1
            if progress and i % 20000 == 0:
                progress(i / max(plan.source.shape[0], 1), f"{i} records")
    finally:
        for handle in handles.values():
            handle.close()
    files = [f"{name}.jsonl" for name in SPLIT_NAMES]
    if options.include_pose:
        files += copy_pose_files(data, out, rows=np.unique(plan.source))
    return {"records": counts, "files": files}
