"""The on-disk layout the FLEX baselines read (``HaoYin116/FLEX_AQA_Dataset@7c434d9``,
``datasets/SevenPair.py``; formats.md §1), written and read back without Django.

::

    <root>/Skeleton/A%02d/%03d/skeleton_points.csv   header row, then one row per frame of
                                                     21 joints x (x, y, z): reshaped to (T, 21, 3)
    <root>/Split_4/split_4_train_list.mat            key consolidated_train_list, rows
    <root>/Split_4/split_4_test_list.mat             key consolidated_test_list,  [action, sample, score]

Action and sample indices are 1-based (``A01`` is action 1, sample folder ``001`` is sample 1).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import scipy.io

__all__ = [
    "SPLIT_KEYS",
    "read_flex_layout",
    "read_skeleton_csv",
    "read_split_mat",
    "skeleton_path",
    "split_path",
    "write_skeleton_csv",
    "write_split_mat",
]

#: split name -> (file name, MATLAB variable) in ``Split_4``. FLEX has no val split; we write
#: one beside the two it reads, so a val assignment is never silently merged into train.
SPLIT_KEYS = {
    "train": ("split_4_train_list.mat", "consolidated_train_list"),
    "test": ("split_4_test_list.mat", "consolidated_test_list"),
    "val": ("split_4_val_list.mat", "consolidated_val_list"),
}


def skeleton_path(root: Path, action_index: int, sample_index: int) -> Path:
    return Path(root) / "Skeleton" / f"A{action_index:02d}" / f"{sample_index:03d}" / "skeleton_points.csv"


def split_path(root: Path, split: str) -> Path:
    return Path(root) / "Split_4" / SPLIT_KEYS[split][0]


def write_skeleton_csv(path: Path, pose: np.ndarray, joint_names) -> None:
    """One header row (``<joint>_x, <joint>_y, <joint>_z`` per joint), then one row per frame.

    NaN (a dropped joint) is written as ``nan``, which pandas and numpy read back as NaN.
    """
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim != 3 or pose.shape[2] != 3 or pose.shape[1] != len(joint_names):
        raise ValueError(f"Expected (frames, {len(joint_names)}, 3), got {pose.shape}")
    header = ",".join(f"{j}_{axis}" for j in joint_names for axis in "xyz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, pose.reshape(pose.shape[0], -1), delimiter=",", fmt="%.6f", header=header, comments="")


def read_skeleton_csv(path: Path, n_joints: int = 21) -> np.ndarray:
    """Read a ``skeleton_points.csv`` the way FLEX does (skip the header, reshape to (T, J, 3))."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data.reshape(-1, n_joints, 3)


def write_split_mat(path: Path, variable: str, rows) -> None:
    """A ``.mat`` file holding one (N, 3) float64 matrix of ``[action, sample, score]`` rows."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {variable: rows})


def read_split_mat(path: Path, variable: str) -> np.ndarray:
    return np.asarray(scipy.io.loadmat(path)[variable], dtype=np.float64).reshape(-1, 3)


def read_flex_layout(root: Path) -> dict:
    """Read back an export: every skeleton, the split lists and ``scores.csv``.

    Returns
    -------
    dict with ``skeletons`` {(action, sample): (T, 21, 3) array}, ``splits`` {name: (N, 3) array}
    for the split files present, and ``scores`` (list of row dicts from ``scores.csv``).
    """
    root = Path(root)
    skeletons = {}
    for path in sorted((root / "Skeleton").glob("A*/*/skeleton_points.csv")):
        skeletons[(int(path.parent.parent.name[1:]), int(path.parent.name))] = read_skeleton_csv(path)
    splits = {name: read_split_mat(split_path(root, name), var)
              for name, (_, var) in SPLIT_KEYS.items() if split_path(root, name).exists()}
    scores = []
    if (root / "scores.csv").exists():
        with (root / "scores.csv").open(newline="") as handle:
            scores = list(csv.DictReader(handle))
    return {"skeletons": skeletons, "splits": splits, "scores": scores}
