"""``npz``: one ``<split>.npz`` per split, loadable with ``np.load`` alone (no pickle).

Arrays of ``train.npz`` (N clips, R repetitions, L labels)::

    clip_id (N,) str           exercise (N,) int16 -> exercise_names      participant (N,) str
    skill_level (N,) int8      fps (N,) float32    frame_count (N,) int32 augmentation (N,) str
    pose (N, T, J, D) float32  NaN-padded to the longest clip (T) and largest skeleton (J)
    lengths (N,) int32         valid frames of each pose row (0 when the clip has no pose)
    rep_offsets (N+1,) int64   repetitions of clip i are rep_*[rep_offsets[i]:rep_offsets[i+1]]
    rep_start_frame, rep_end_frame (R,) float32 (NaN unknown)
    label_rep (L,) int64 -> rep_*    label_error (L,) int16 -> error_codes
    label_score (L,) float32   label_class (L,) int8   label_n_votes (L,) int16  label_votes (L, 4) int16
    exercise_names, error_codes: str vocabularies shared by all splits

Augmented copies carry their augmented pose (mirror: x flipped about the clip's mean x and
left/right joints swapped; rotations about the centroid) and mirrored error codes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from config.exceptions import DomainError
from datasets.exports.balancing import augment_pose, layout_joint_names, mirror_permutation
from datasets.exports.common import SPLIT_NAMES, mirrored_codes, offsets, row_plan
from datasets.exports.files import zip_member_info
from datasets.exports.pose import read_pose

#: Refuse to build a padded pose array larger than this; ``max_frames`` crops.
MAX_POSE_BYTES = 4 * 1024**3


def _str_array(values) -> np.ndarray:
    values = ["" if v is None else str(v) for v in values]
    width = max((len(v) for v in values), default=1) or 1
    return np.array(values, dtype=f"<U{width}")


def write_npz(path: Path, arrays: dict) -> None:
    """Like ``np.savez_compressed`` but with fixed member timestamps (same arrays, same bytes)."""
    import zipfile

    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(zip_member_info(f"{name}.npy"), "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


def write(data, out: Path, options, progress=None) -> dict:
    plan = row_plan(data, options)
    c = data.clips
    frames = np.minimum(c["frame_count"], options.max_frames) if options.max_frames else c["frame_count"]
    joints = {pk: ex.joint_count for pk, ex in data.exercises.items()}
    dims = {pk: ex.dims for pk, ex in data.exercises.items()}
    j_max = max(joints.values(), default=1)
    d_max = max(dims.values(), default=2)
    biggest = 0
    for s in range(3):
        rows = plan.source[c["split"][plan.source] == s]
        if rows.size:
            biggest = max(biggest, rows.size * int(frames[rows].max()) * j_max * d_max * 4)
    if biggest > MAX_POSE_BYTES:
        raise DomainError(
            f"The padded pose array of one split would take {biggest / 1024**3:.1f} GiB (limit "
            f"{MAX_POSE_BYTES / 1024**3:.0f} GiB); pass max_frames=N to crop, or export jsonl with include_pose.",
            code="npz_too_large")
    perms = {}
    for pk, ex in data.exercises.items():
        names = layout_joint_names(ex.skeleton_layout)
        perms[pk] = mirror_permutation(names) if names is not None and len(names) == ex.joint_count else None
    needs_mirror = any("mirror" in a for a in plan.augmentation.tolist())
    if needs_mirror:
        unknown = sorted({data.exercises[e].skeleton_layout for e in c["exercise_id"][plan.source].tolist()
                          if perms[e] is None})
        if unknown:
            raise DomainError(f"No left/right joint map for skeleton layout(s) {unknown}; cannot mirror poses.",
                              code="mirror_layout_unknown")

    exercise_ids = sorted(data.exercises, key=lambda pk: data.exercises[pk].slug)
    ex_index = {pk: i for i, pk in enumerate(exercise_ids)}
    exercise_names = _str_array([data.exercises[pk].slug for pk in exercise_ids])
    error_codes = _str_array(data.error_codes)
    code_index = {code: i for i, code in enumerate(data.error_codes)}
    swap = mirrored_codes(data)
    r, lab = data.reps, data.labels
    rep_off = offsets(r["clip_row"], data.n_clips)
    lab_off = offsets(lab["rep_row"], r["id"].shape[0])
    hist = lab["hist"] if lab["hist"] is not None else np.zeros((lab["rep_row"].shape[0], 4), dtype=np.int64)
    counts = {}
    files = []
    done = 0
    for s, split_name in enumerate(SPLIT_NAMES):
        sel = np.flatnonzero(c["split"][plan.source] == s)
        rows, augs = plan.source[sel], plan.augmentation[sel]
        n = rows.shape[0]
        t_max = int(frames[rows].max()) if n else 0
        pose = np.full((n, t_max, j_max, d_max), np.nan, dtype=np.float32)
        lengths = np.zeros(n, dtype=np.int32)
        for i, (row, aug) in enumerate(zip(rows.tolist(), augs.tolist())):
            if c["pose_file"][row]:
                array = read_pose(c["pose_file"][row])[: frames[row]]
                if aug:
                    array = augment_pose(array, aug, perms[c["exercise_id"][row]])
                pose[i, : array.shape[0], : array.shape[1], : array.shape[2]] = array
                lengths[i] = array.shape[0]
            done += 1
            if progress and done % 500 == 0:
                progress(done / max(plan.source.shape[0], 1), f"{done} clips")
        n_reps = rep_off[rows + 1] - rep_off[rows]
        rep_idx = np.concatenate([np.arange(rep_off[x], rep_off[x + 1]) for x in rows]) if n else np.zeros(0, int)
        mirrored = np.repeat(np.array(["mirror" in a for a in augs.tolist()], dtype=bool), n_reps)
        n_lab = lab_off[rep_idx + 1] - lab_off[rep_idx]
        lab_idx = np.concatenate([np.arange(lab_off[x], lab_off[x + 1]) for x in rep_idx]) if rep_idx.size \
            else np.zeros(0, int)
        lab_mirror = np.repeat(mirrored, n_lab)
        codes = [swap[code] if m else code for code, m in zip(lab["error_code"][lab_idx].tolist(), lab_mirror.tolist())]
        arrays = {
            "clip_id": _str_array(c["external_id"][rows]),
            "exercise": np.array([ex_index[e] for e in c["exercise_id"][rows].tolist()], dtype=np.int16),
            "participant": _str_array(c["participant"][rows]),
            "skill_level": c["skill"][rows].astype(np.int8),
            "fps": c["fps"][rows].astype(np.float32),
            "frame_count": c["frame_count"][rows].astype(np.int32),
            "augmentation": _str_array(augs),
            "pose": pose,
            "lengths": lengths,
            "rep_offsets": np.concatenate([[0], np.cumsum(n_reps)]).astype(np.int64),
            "rep_start_frame": r["start_frame"][rep_idx].astype(np.float32),
            "rep_end_frame": r["end_frame"][rep_idx].astype(np.float32),
            "label_rep": np.repeat(np.arange(rep_idx.shape[0]), n_lab).astype(np.int64),
            "label_error": np.array([code_index[x] for x in codes], dtype=np.int16),
            "label_score": lab["score"][lab_idx].astype(np.float32),
            "label_class": lab["cls"][lab_idx].astype(np.int8),
            "label_n_votes": lab["n_votes"][lab_idx].astype(np.int16),
            "label_votes": hist[lab_idx].astype(np.int16),
            "exercise_names": exercise_names,
            "error_codes": error_codes,
        }
        write_npz(out / f"{split_name}.npz", arrays)
        files.append(f"{split_name}.npz")
        counts[split_name] = int(n)
    return {"records": counts, "files": files}
