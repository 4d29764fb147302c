"""FLEX skeletons and ``.mat`` split lists, as the FLEX loader reads them (formats.md §1).

- ``Skeleton/A%02d/%03d/skeleton_points.csv``: a header row, then one row per frame with the
  21 MoCap joints' x, y, z (63 numbers), reshaped to ``(T, 21, 3)``. Each becomes a clip
  ``A01_001`` of exercise ``a01`` with its pose stored as ``.npy`` (layout ``flex21``).
- ``split_4_train_list.mat`` (key ``consolidated_train_list``) and ``split_4_test_list.mat``
  (``consolidated_test_list``): rows ``[action_idx, sample_idx, score]``; train/test only (the
  AQA-7 convention). Read with ``scipy.io.loadmat`` (MATLAB v5 files; no pickle is involved),
  refusing anything but a numeric N x 3 matrix. The scores (0-100) are kept in the import's
  ``details``; the knowledge-graph app owns FLEX scoring.

FLEX's sample ids do not say which of the 38 subjects performed them, so the split is recorded
under the ``none`` rule. ``--fps`` sets the skeleton rate (default 30).
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

import numpy as np

from datasets.importers.common import csv_rows, number, option_fps
from datasets.importers.parsed import ParsedClip, ParsedImport
from datasets.importers.safety import read_text, refuse

SKELETON = re.compile(r"A(\d{2})/(\d{3})/skeleton_points\.csv$")
MAT = re.compile(r"(train|test)_list\.mat$", re.IGNORECASE)
MAT_KEYS = {"train": "consolidated_train_list", "test": "consolidated_test_list"}
N_JOINTS = 21
SPLIT_RULE_DETAIL = "FLEX Split_4 .mat lists (train/test rows [action, sample, score]); subjects are not identified."


def clip_id(action: int, sample: int) -> str:
    return f"A{action:02d}_{sample:03d}"


def read_mat_rows(path, *, name: str, split: str) -> np.ndarray:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    head = path.read_bytes()[:128]
    if b"MATLAB 7.3" in head or head.startswith(b"\x89HDF"):
        refuse("mat_unsupported", "MATLAB v7.3 (HDF5) files are not read; save with -v7", file=name)
    try:
        content = loadmat(path, squeeze_me=False, mat_dtype=True)
    except (MatReadError, ValueError, TypeError, OSError) as exc:
        refuse("invalid_mat", f"Not a readable MATLAB file: {exc}", file=name)
    key = MAT_KEYS[split]
    if key not in content:
        refuse("wrong_columns", f"Expected the variable {key}; found {sorted(k for k in content if not k.startswith('__'))}",
               file=name, field=key)
    rows = content[key]
    if not isinstance(rows, np.ndarray) or rows.dtype.kind not in "iuf" or rows.ndim != 2 or rows.shape[1] != 3:
        refuse("wrong_columns", f"Expected an N x 3 numeric matrix [action, sample, score], got "
               f"{getattr(rows, 'shape', '?')} {getattr(rows, 'dtype', '?')}", file=name, field=key)
    if not np.isfinite(rows).all():
        refuse("invalid_number", "The matrix holds NaN or inf", file=name, field=key)
    return rows


def parse(files, options: dict) -> ParsedImport:
    parsed = ParsedImport(format="flex", split_rule="none", split_rule_detail=SPLIT_RULE_DETAIL,
                          license="LicenseRef-FLEX-academic", dataset_kind="flex",
                          description="FLEX 3D skeletons and Split_4 lists, imported.")
    fps = option_fps(options)
    skeletons = files.named(lambda n: SKELETON.search(n) is not None)
    mats = files.named(lambda n: MAT.search(PurePosixPath(n).name) is not None)
    other = sorted(set(files.files) - {n for n, _ in skeletons} - {n for n, _ in mats})
    if other:
        refuse("wrong_file_type", "Expected Skeleton/Axx/nnn/skeleton_points.csv and split_*_list.mat files",
               file=", ".join(other[:5]))
    for name, path in skeletons:
        match = SKELETON.search(name)
        action, sample = int(match.group(1)), int(match.group(2))
        rows = csv_rows(read_text(path, name=name), name=name)
        if len(rows) < 2:
            refuse("empty_file", "A header row and at least one frame are needed", file=name)
        if len(rows[0]) != 3 * N_JOINTS:
            refuse("wrong_columns", f"Expected {3 * N_JOINTS} columns (21 joints x/y/z), got {len(rows[0])}",
                   file=name, line=1)
        frames = []
        for line, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) != 3 * N_JOINTS:
                refuse("wrong_columns", f"Expected {3 * N_JOINTS} values, got {len(row)}", file=name, line=line)
            try:
                frames.append([float(v) for v in row])
            except ValueError:
                bad = next(i for i, v in enumerate(row) if not _is_float(v))
                refuse("invalid_number", f"Not a number: {row[bad]!r}", file=name, line=line, field=f"column {bad + 1}")
        pose = np.asarray(frames, dtype=np.float32).reshape(-1, N_JOINTS, 3)
        if np.isinf(pose).any():
            refuse("invalid_number", "The skeleton holds inf values", file=name)
        slug = f"a{action:02d}"
        parsed.exercises.setdefault(slug, {"name": f"A{action:02d}", "joint_count": N_JOINTS, "dims": 3,
                                           "skeleton_layout": "flex21"})
        parsed.clips.append(ParsedClip(external_id=clip_id(action, sample), exercise=slug, fps=fps,
                                       frame_count=pose.shape[0], source="flex", pose=pose))
    known = {c.external_id for c in parsed.clips}
    entries, scores = [], {}
    for name, path in mats:
        split = MAT.search(PurePosixPath(name).name).group(1).lower()
        rows = read_mat_rows(path, name=name, split=split)
        for i, (action, sample, score) in enumerate(rows.tolist(), start=1):
            if action != int(action) or sample != int(sample) or action < 1 or sample < 0:
                refuse("invalid_number", f"Row {i}: action and sample must be positive integers", file=name, line=i)
            if not 0 <= score <= 100:
                refuse("invalid_number", f"Row {i}: score {score} is outside 0-100", file=name, line=i, field="score")
            cid = clip_id(int(action), int(sample))
            entries.append((cid, 0 if split == "train" else 2))
            scores[cid] = float(score)
    if parsed.clips:
        unknown = sorted({c for c, _ in entries} - known)
        if unknown:
            refuse("unknown_clips", f"The split lists name {len(unknown)} clip(s) without a skeleton: "
                   f"{', '.join(unknown[:20])}", extra={"clips": unknown[:1000]})
    parsed.split_entries = entries or None
    parsed.details = {"scores": scores, "fps_assumed": "fps" not in options}
    return parsed


def _is_float(value) -> bool:
    try:
        number(value, file="")
        return True
    except Exception:
        return False
