"""Class balancing at export time: Two-Step and Dynamic-Step (seed 001 §2.2, seed 004 §2.2).

Plain numpy, no Django. A *class* is a clip's exercise together with the set of errors it shows
(UMAP25 balances "each error combination"); the plan says which clips to keep and which
augmented copies to add, per split, and never moves anything across splits.

- ``two_step``: every class of a balanced split is downsampled to the least represented class
  (a seeded draw), and each kept clip also gets a mirrored copy (seed 001: "these samples are
  used both in their original form and with horizontal flip augmentation").
- ``dynamic_step``: nothing is removed; augmented copies are added, cycling through the class's
  clips and through the augmentation list, until every class reaches the largest class.

For pose clips a mirror flips x about the clip's mean x and swaps left/right joints
(:func:`mirror_pose`); rotations are fixed angles about the clip's centroid, so exports stay
reproducible. Video augmentations are only named (the consumer renders them, as UMAP25 did).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

METHODS = ("none", "two_step", "dynamic_step")
MIRROR = "mirror"
#: Pose augmentations, in the order Dynamic-Step uses them. Fixed angles keep exports reproducible.
POSE_AUGMENTATIONS = ("mirror", "rotate_p10", "rotate_m10", "mirror&rotate_p10", "mirror&rotate_m10")
#: UMAP25's video augmentations (seed 001 §2.2; the video path becomes ``videos_<aug>/...``).
VIDEO_AUGMENTATIONS = ("horizontal_flip", "invert_color", "random_rotate", "horizontal_flip&invert_color",
                       "horizontal_flip&random_rotate")
VIDEO_MIRROR = "horizontal_flip"


@dataclass(frozen=True)
class BalancePlan:
    """Rows of the balanced export, in output order.

    Attributes
    ----------
    source : ndarray of int, shape (n_rows,)
        Index of the original clip each row comes from.
    augmentation : ndarray of object, shape (n_rows,)
        ``""`` for an original, else the augmentation name.
    class_counts : dict
        ``{split: {class: [before, after]}}`` for the balanced splits.
    """

    source: np.ndarray
    augmentation: np.ndarray
    class_counts: dict


def balance_plan(*, split: np.ndarray, class_key: np.ndarray, method: str, balanced_splits=(0,),
                 seed: int = 0, augmentations=POSE_AUGMENTATIONS) -> BalancePlan:
    """Plan the rows of a balanced export.

    Parameters
    ----------
    split : array of int, shape (n_clips,)
        Split code per clip (0 train, 1 val, 2 test).
    class_key : array, shape (n_clips,)
        Class of each clip (any sortable labels).
    method : {"none", "two_step", "dynamic_step"}
    balanced_splits : iterable of int
        Splits that are balanced; the others are exported unchanged. Default: train only, so that
        evaluation keeps the real class distribution.
    seed : int
        Seeds the Two-Step draw and the order in which Dynamic-Step picks clips to copy.
    augmentations : sequence of str
        The first one is the mirror used by Two-Step.

    Returns
    -------
    BalancePlan
        Rows sorted by (source clip, augmentation order): a copy follows its original.
    """
    split = np.asarray(split)
    class_key = np.asarray(class_key)
    if method not in METHODS:
        raise ValueError(f"Unknown balancing method {method!r}; use one of {', '.join(METHODS)}.")
    if split.shape != class_key.shape:
        raise ValueError("split and class_key must have the same length.")
    n = split.shape[0]
    rng = np.random.default_rng(seed)
    keep = np.ones(n, dtype=bool)
    copies: list[tuple[int, int]] = []  # (source clip, augmentation number >= 1)
    class_counts: dict = {}
    for s in sorted(set(int(x) for x in balanced_splits)) if method != "none" else ():
        members = np.flatnonzero(split == s)
        if members.size == 0:
            continue
        levels, codes = np.unique(class_key[members], return_inverse=True)
        sizes = np.bincount(codes, minlength=levels.shape[0])
        counts = {}
        if method == "two_step":
            target = int(sizes.min())
            for c, level in enumerate(levels):
                in_class = members[codes == c]
                chosen = np.sort(rng.permutation(in_class)[:target])
                keep[np.setdiff1d(in_class, chosen)] = False
                copies += [(int(i), 1) for i in chosen]
                counts[_key(level)] = [int(sizes[c]), 2 * target]
        else:
            target = int(sizes.max())
            for c, level in enumerate(levels):
                in_class = members[codes == c]
                need = target - in_class.shape[0]
                order = rng.permutation(in_class)
                # Copy every clip once with the first augmentation before any clip twice; past the
                # last augmentation the cycle restarts as "<aug>#2", "<aug>#3"... (identical content,
                # but every (clip, augmentation) row stays distinct).
                for j in range(need):
                    copies.append((int(order[j % order.shape[0]]), 1 + j // order.shape[0]))
                counts[_key(level)] = [int(in_class.shape[0]), target]
        class_counts[int(s)] = counts
    originals = np.flatnonzero(keep)
    src = np.concatenate([originals, np.array([c[0] for c in copies], dtype=np.int64)])
    aug = np.concatenate([np.zeros(originals.shape[0], dtype=np.int64),
                          np.array([c[1] for c in copies], dtype=np.int64)])
    order = np.lexsort((aug, src))
    return BalancePlan(source=src[order].astype(np.int64),
                       augmentation=np.array([_aug_name(a, augmentations) for a in aug[order].tolist()], dtype=object),
                       class_counts=class_counts)


def _aug_name(number: int, augmentations) -> str:
    """0 -> "" (original); 1.. -> the augmentation list, cycled with a "#<round>" suffix."""
    if number == 0:
        return ""
    base = augmentations[(number - 1) % len(augmentations)]
    cycle = (number - 1) // len(augmentations)
    return base if cycle == 0 else f"{base}#{cycle + 1}"


def _key(level):
    return level.item() if isinstance(level, np.generic) else level


# --- pose augmentation --------------------------------------------------------------------------

_SIDE = re.compile(r"(?i)(left|right)")


def _swap_side(name: str) -> str:
    return _SIDE.sub(lambda m: _match_case(m.group(0), "right" if m.group(0).lower() == "left" else "left"), name)


def _match_case(src: str, word: str) -> str:
    if src.isupper():
        return word.upper()
    if src[0].isupper():
        return word.capitalize()
    return word


def mirror_permutation(joint_names) -> np.ndarray:
    """Index permutation that swaps each left joint with its right counterpart (by name).

    A joint whose name has no left/right counterpart (nose, neck, pelvis) maps to itself.
    """
    names = list(joint_names)
    index = {n: i for i, n in enumerate(names)}
    return np.array([index.get(_swap_side(n), i) for i, n in enumerate(names)], dtype=np.int64)


def swap_side_code(code: str, known: set[str]) -> str:
    """The mirrored error code (``left_knee_in`` -> ``right_knee_in``) if it exists, else ``code``."""
    other = _swap_side(code)
    return other if other in known else code


def mirror_pose(pose: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Mirror a (frames, joints, dims) pose: negate x about the clip's mean x, swap left/right.

    NaN (dropped joints) stays NaN.
    """
    out = np.array(pose, dtype=np.float32, copy=True)
    x = out[..., 0]
    centre = np.nanmean(x) if np.isfinite(x).any() else 0.0
    out[..., 0] = 2.0 * centre - x
    return out[:, permutation, :]


def rotate_pose(pose: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the x/y plane of a pose about its centroid by a fixed angle."""
    out = np.array(pose, dtype=np.float32, copy=True)
    xy = out[..., :2]
    centre = np.nanmean(xy.reshape(-1, 2), axis=0) if np.isfinite(xy).any() else np.zeros(2)
    theta = np.deg2rad(degrees)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], dtype=np.float32)
    out[..., :2] = (xy - centre) @ rot.T + centre
    return out


def augment_pose(pose: np.ndarray, augmentation: str, permutation: np.ndarray | None) -> np.ndarray:
    """Apply a :data:`POSE_AUGMENTATIONS` name (``"a&b"`` applies a then b)."""
    for step in augmentation.split("#", 1)[0].split("&"):
        if step == "mirror":
            if permutation is None:
                raise ValueError("no left/right joint map for this skeleton layout")
            pose = mirror_pose(pose, permutation)
        elif step.startswith("rotate_"):
            sign = 1.0 if step[7] == "p" else -1.0
            pose = rotate_pose(pose, sign * float(step[8:]))
        elif step:
            raise ValueError(f"unknown pose augmentation {step!r}")
    return pose


# Joint names of the skeleton layouts FormLab stores, for the left/right swap of a mirror.
_NTU25 = ("spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
          "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee", "left_ankle",
          "left_foot", "right_hip", "right_knee", "right_ankle", "right_foot", "spine_shoulder", "left_hand_tip",
          "left_thumb", "right_hand_tip", "right_thumb")


def layout_joint_names(layout: str):
    """Joint names of a skeleton layout, or None when FormLab does not know them."""
    if layout in ("halo26", "halpe26"):
        from datasets.core.synthetic.skeleton import JOINT_NAMES

        return JOINT_NAMES
    if layout == "ntu25":
        return _NTU25
    return None
