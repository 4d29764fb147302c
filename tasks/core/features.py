"""Per-repetition pose features for the plain scikit-learn models.

Halo Trainer (seed 000, Sec. 4-5) feeds its transformers pose sequences "normalized based on
scale and translation", one repetition at a time for the error model. The scikit-learn stand-in
sees the same information as one flat vector per repetition:

1. the normalised joint coordinates resampled to a fixed number of frames (the shape of the
   movement, comparable across repetitions of different length);
2. joint-angle summaries over the repetition: min, max, range, mean, mean and max absolute
   angular velocity (how deep, how far, how fast);
3. per joint coordinate min, max and range (where the body went);
4. the same summaries as deviations from the clip's median repetition (``relative``): a form
   error changes a repetition against the participant's own others, while body, style and
   camera stay constant within a clip;
5. the repetition's duration in seconds.

2-D repetitions are mirrored so the person faces one way (``canonical_flip``): the generator and
real video show people facing left or right, and an unsigned x would otherwise split every
pattern in two.

Everything is vectorised over repetitions: every repetition is resampled by one gather with
fractional indices, so a clip with 30 repetitions costs the same few numpy calls as one with 3.

NaN marks a dropped joint in stored pose arrays; gaps are filled from the nearest earlier frame
(then the nearest later one), and a joint that is never seen is set to the clip centroid so it
carries no signal instead of poisoning every feature.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "ANGLE_SETS",
    "FLEX21_JOINTS",
    "HALO26_JOINTS",
    "LAYOUT_JOINTS",
    "FeatureConfig",
    "fill_missing",
    "joint_angles",
    "repetition_bounds",
    "repetition_features",
    "resample_segments",
    "segment_inclinations",
]

#: Halpe-26 joint order (COCO-17 + head, neck, hip, toes, heels): the 26 landmarks of seed 000.
HALO26_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "head", "neck", "hip",
    "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe", "left_heel", "right_heel",
)

#: FLEX MoCap skeleton (seed 002): 21 joints, 3-D, in the order of ``kg.core.pose.FLEX_JOINTS``
#: (read off the FLEX loader); a test keeps the two in step.
FLEX21_JOINTS = (
    "head", "neck", "spine_shoulder",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_hip", "right_knee", "right_ankle", "right_toe", "right_heel",
    "left_hip", "left_knee", "left_ankle", "left_toe", "left_heel",
)

LAYOUT_JOINTS = {"halo26": HALO26_JOINTS, "halpe26": HALO26_JOINTS, "flex21": FLEX21_JOINTS}

#: Joint angles (at the middle joint) by name; a triplet whose names a layout lacks is skipped.
ANGLE_SETS = (
    ("left_shoulder", "left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow", "right_wrist"),
    ("left_elbow", "left_shoulder", "left_hip"),
    ("right_elbow", "right_shoulder", "right_hip"),
    ("left_shoulder", "left_hip", "left_knee"),
    ("right_shoulder", "right_hip", "right_knee"),
    ("left_hip", "left_knee", "left_ankle"),
    ("right_hip", "right_knee", "right_ankle"),
    ("left_knee", "left_ankle", "left_big_toe"),
    ("right_knee", "right_ankle", "right_big_toe"),
    ("left_knee", "left_ankle", "left_toe"),
    ("right_knee", "right_ankle", "right_toe"),
    ("head", "neck", "hip"),
    ("head", "neck", "spine_shoulder"),
    ("neck", "hip", "left_ankle"),
    ("neck", "hip", "right_ankle"),
)

#: Segments whose inclination to the vertical image axis is summarised like an angle (torso tilt,
#: hips rising: the errors of seed 000 Table 6 that are about orientation, not a joint angle).
INCLINATION_SETS = (
    ("hip", "neck"),
    ("left_hip", "left_knee"),
    ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"),
    ("right_knee", "right_ankle"),
    ("neck", "head"),
    ("left_hip", "left_shoulder"),
    ("right_hip", "right_shoulder"),
)

_ANGLE_STATS = ("min", "max", "range", "mean", "mean_abs_velocity", "max_abs_velocity")
_COORD_STATS = ("min", "max", "range")


@dataclass(frozen=True)
class FeatureConfig:
    """What the feature vector is made of; its hash keys the feature cache.

    Attributes
    ----------
    length : int
        Frames each repetition's coordinates are resampled to (the sequence block).
    summary_length : int
        Frames of the finer grid the angle and coordinate summaries are computed on.
    joint_names : tuple of str
        The layout's joint order; decides which angle triplets exist.
    relative : bool
        Also give every summary as its deviation from the clip's median repetition. A form error
        changes one repetition against the participant's own other repetitions, while body
        proportions, style and camera are constant within a clip; the deviation removes them.
    canonical_flip : bool
        Mirror 2-D repetitions horizontally so the person faces the same way (head and toes to
        the right of neck and heels), so a left- and a right-facing clip give the same features.
    side_invariant : bool
        Also summarise every left/right pair of angles by the larger and the smaller of the two:
        alternating exercises (side lunges, split squats) work one side per repetition, and
        "the working knee went this deep" must not depend on which knee it was.
    """

    length: int = 8
    summary_length: int = 48
    joint_names: tuple[str, ...] = HALO26_JOINTS
    angle_sets: tuple[tuple[str, str, str], ...] = ANGLE_SETS
    inclination_sets: tuple[tuple[str, str], ...] = INCLINATION_SETS
    relative: bool = True
    canonical_flip: bool = True
    side_invariant: bool = True
    version: int = 3

    def __post_init__(self):
        if self.length < 2 or self.summary_length < 2:
            raise ValueError("length and summary_length must be >= 2")

    @property
    def angle_index(self) -> np.ndarray:
        pos = {name: i for i, name in enumerate(self.joint_names)}
        rows = [[pos[a], pos[b], pos[c]] for a, b, c in self.angle_sets if {a, b, c} <= pos.keys()]
        return np.asarray(rows, dtype=np.intp).reshape(-1, 3)

    @property
    def angle_names(self) -> list[str]:
        names = set(self.joint_names)
        return ([f"angle.{a}-{b}-{c}" for a, b, c in self.angle_sets if {a, b, c} <= names]
                + [f"incl.{a}-{b}" for a, b in self.inclination_sets if {a, b} <= names])

    @property
    def side_pairs(self) -> np.ndarray:
        """(n_pairs, 2) positions in `angle_names` of each left angle and its right mirror."""
        if not self.side_invariant:
            return np.zeros((0, 2), dtype=np.intp)
        names = self.angle_names
        pos = {n: i for i, n in enumerate(names)}
        pairs = [[i, pos[n.replace("left_", "right_")]] for i, n in enumerate(names)
                 if "left_" in n and n.replace("left_", "right_") in pos]
        return np.asarray(pairs, dtype=np.intp).reshape(-1, 2)

    @property
    def inclination_index(self) -> np.ndarray:
        pos = {name: i for i, name in enumerate(self.joint_names)}
        rows = [[pos[a], pos[b]] for a, b in self.inclination_sets if {a, b} <= pos.keys()]
        return np.asarray(rows, dtype=np.intp).reshape(-1, 2)

    def digest(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, default=list).encode()
        return hashlib.sha256(payload).hexdigest()[:16]

    def n_features(self, dims: int) -> int:
        joints = len(self.joint_names)
        n_angles = len(self.angle_index) + len(self.inclination_index) + 2 * len(self.side_pairs)
        summaries = n_angles * len(_ANGLE_STATS) + joints * dims * len(_COORD_STATS)
        return self.length * joints * dims + summaries * (2 if self.relative else 1) + 1

    def feature_names(self, dims: int) -> list[str]:
        axes = "xyz"[:dims]
        names = [f"seq[{t}].{j}.{a}" for t in range(self.length) for j in self.joint_names for a in axes]
        angle_names = self.angle_names
        angle_names += [f"{angle_names[i].replace('left_', 'either_')}.{which}"
                        for which in ("larger", "smaller") for i, _ in self.side_pairs]
        summaries = [f"{n}.{s}" for n in angle_names for s in _ANGLE_STATS]
        summaries += [f"coord.{j}.{a}.{s}" for j in self.joint_names for a in axes for s in _COORD_STATS]
        names += summaries
        if self.relative:
            names += [f"{n}.vs_clip" for n in summaries]
        names.append("duration_s")
        return names


def fill_missing(pose: np.ndarray) -> np.ndarray:
    """Fill NaN (dropped joints) from the nearest earlier frame, then the nearest later frame.

    Vectorised with the running-maximum index trick: for every (frame, joint, axis), the index of
    the last valid frame at or before it is ``np.maximum.accumulate`` of ``where(valid, t, -1)``.
    A joint never seen in the clip is set to the per-frame centroid of the visible joints.

    Parameters
    ----------
    pose : ndarray, shape (frames, joints, dims)

    Returns
    -------
    ndarray of float32, same shape, no NaN (all zeros if nothing at all is visible)
    """
    pose = np.asarray(pose, dtype=np.float32)
    valid = ~np.isnan(pose)
    if valid.all():
        return pose
    frames = pose.shape[0]
    t = np.arange(frames).reshape(-1, *([1] * (pose.ndim - 1)))
    last = np.maximum.accumulate(np.where(valid, t, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, t, frames)[::-1], axis=0)[::-1]
    source = np.where(last >= 0, last, nxt)
    seen = source < frames
    source = np.clip(source, 0, frames - 1)
    filled = np.take_along_axis(pose, source, axis=0)
    if not seen.all():
        with np.errstate(invalid="ignore"):
            centroid = np.nanmean(np.where(seen, filled, np.nan), axis=1, keepdims=True)
        centroid = np.nan_to_num(centroid, nan=0.0)
        filled = np.where(seen, filled, np.broadcast_to(centroid, filled.shape))
    return np.ascontiguousarray(filled, dtype=np.float32)


def repetition_bounds(ends, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end frame of every repetition from its end points alone.

    Seed 000 annotates only the last frame of each repetition; a repetition runs from the previous
    end to its own. The first one starts one median repetition length before its end (or at frame
    0), so a clip's lead-in is not taken as part of its first repetition.

    Parameters
    ----------
    ends : array_like of float, shape (n_reps,), increasing
    n_frames : int

    Returns
    -------
    starts, ends : ndarray of float, shape (n_reps,)
    """
    ends = np.clip(np.asarray(ends, dtype=np.float64), 0, max(n_frames - 1, 0))
    if ends.size == 0:
        return ends.copy(), ends
    gaps = np.diff(ends)
    first_len = float(np.median(gaps)) if gaps.size else float(ends[0])
    starts = np.empty_like(ends)
    starts[0] = max(0.0, ends[0] - first_len)
    starts[1:] = ends[:-1]
    return starts, ends


def resample_segments(pose: np.ndarray, starts, ends, length: int) -> np.ndarray:
    """Linearly resample every segment ``[start, end]`` of ``pose`` to ``length`` frames.

    Parameters
    ----------
    pose : ndarray, shape (frames, joints, dims), no NaN
    starts, ends : array_like of float, shape (n_segments,)
    length : int

    Returns
    -------
    ndarray of float32, shape (n_segments, length, joints, dims)
    """
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    frames = pose.shape[0]
    u = np.linspace(0.0, 1.0, length)
    position = np.clip(starts[:, None] + (ends - starts)[:, None] * u[None, :], 0, frames - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, frames - 1)
    weight = (position - lower).astype(np.float32)[..., None, None]
    return pose[lower] * (1.0 - weight) + pose[upper] * weight


def joint_angles(seq: np.ndarray, triplets: np.ndarray) -> np.ndarray:
    """Angle in radians at joint ``b`` between the bones ``b -> a`` and ``b -> c``.

    Parameters
    ----------
    seq : ndarray, shape (..., joints, dims)
    triplets : ndarray of int, shape (n_angles, 3)

    Returns
    -------
    ndarray, shape (..., n_angles); pi/2 where a bone has zero length (undefined angle)
    """
    if len(triplets) == 0:
        return np.zeros(seq.shape[:-2] + (0,), dtype=np.float32)
    a = seq[..., triplets[:, 0], :] - seq[..., triplets[:, 1], :]
    c = seq[..., triplets[:, 2], :] - seq[..., triplets[:, 1], :]
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(c, axis=-1)
    cosine = np.einsum("...d,...d->...", a, c) / np.where(norm > 1e-9, norm, 1.0)
    cosine = np.where(norm > 1e-9, cosine, 0.0)
    return np.arccos(np.clip(cosine, -1.0, 1.0)).astype(np.float32)


def segment_inclinations(seq: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Angle in radians between each segment ``a -> b`` and the vertical (second) axis."""
    if len(pairs) == 0:
        return np.zeros(seq.shape[:-2] + (0,), dtype=np.float32)
    bone = seq[..., pairs[:, 1], :] - seq[..., pairs[:, 0], :]
    norm = np.linalg.norm(bone, axis=-1)
    cosine = np.where(norm > 1e-9, bone[..., 1] / np.where(norm > 1e-9, norm, 1.0), 0.0)
    return np.arccos(np.clip(cosine, -1.0, 1.0)).astype(np.float32)


def _normalise(fine: np.ndarray, coarse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translate and scale each repetition by its own body centre and size.

    Centre: the mean joint position over the repetition (one point per repetition, so movement
    of the whole body, e.g. the hips sinking in a squat, stays visible). Scale: the median over
    frames of the RMS distance of the joints from that frame's centroid (body size, robust to a
    few bad frames).
    """
    centre = fine.mean(axis=(1, 2), keepdims=True)
    spread = np.sqrt(((fine - fine.mean(axis=2, keepdims=True)) ** 2).sum(axis=-1).mean(axis=-1))
    scale = np.median(spread, axis=1)[:, None, None, None]
    scale = np.where(scale > 1e-6, scale, 1.0).astype(np.float32)
    return (fine - centre) / scale, (coarse - centre) / scale


_FACING_FRONT = ("nose", "left_big_toe", "right_big_toe")
_FACING_BACK = ("neck", "left_heel", "right_heel")


def _facing_sign(fine: np.ndarray, joint_names) -> np.ndarray:
    """+1 or -1 per repetition: -1 when the head and toes lie left of the neck and heels in x."""
    pos = {name: i for i, name in enumerate(joint_names)}
    front = [pos[n] for n in _FACING_FRONT if n in pos]
    back = [pos[n] for n in _FACING_BACK if n in pos]
    if not front or not back:
        return np.ones(fine.shape[0], dtype=np.float32)
    d = fine[:, :, front, 0].mean(axis=(1, 2)) - fine[:, :, back, 0].mean(axis=(1, 2))
    return np.where(d < 0, -1.0, 1.0).astype(np.float32)


def _angle_stats(angles: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(n_reps, frames, n_angles) -> (n_reps, n_angles * 6) in `_ANGLE_STATS` order per angle."""
    lo, hi = angles.min(axis=1), angles.max(axis=1)
    velocity = np.abs(np.diff(angles, axis=1)) / dt[:, None, None]
    stats = np.stack([lo, hi, hi - lo, angles.mean(axis=1), velocity.mean(axis=1), velocity.max(axis=1)], axis=-1)
    return stats.reshape(angles.shape[0], -1)


def repetition_features(pose: np.ndarray, starts, ends, *, fps: float, config: FeatureConfig) -> np.ndarray:
    """Feature vector of every repetition of one clip (see the module docstring).

    Parameters
    ----------
    pose : ndarray, shape (frames, joints, dims); NaN = dropped joint
    starts, ends : array_like of float, shape (n_reps,)
        Repetition bounds in frames (e.g. from `repetition_bounds`).
    fps : float
    config : FeatureConfig

    Returns
    -------
    ndarray of float32, shape (n_reps, config.n_features(dims))

    References
    ----------
    Halo Trainer (seed 000), Sec. 4-5: pose normalised in scale and translation, one repetition
    per input sequence for the error severity model.
    """
    pose = np.asarray(pose)
    if pose.ndim != 3:
        raise ValueError(f"pose must have shape (frames, joints, dims), got {pose.shape}")
    if pose.shape[1] != len(config.joint_names):
        raise ValueError(f"pose has {pose.shape[1]} joints; the layout has {len(config.joint_names)}")
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    n_reps, dims = starts.shape[0], pose.shape[2]
    if n_reps == 0:
        return np.zeros((0, config.n_features(dims)), dtype=np.float32)
    pose = fill_missing(pose)
    fine = resample_segments(pose, starts, ends, config.summary_length)
    coarse = resample_segments(pose, starts, ends, config.length)
    fine, coarse = _normalise(fine, coarse)
    if config.canonical_flip and dims == 2:
        # One sign per clip (the median repetition's), so the relative block compares like with like.
        sign = np.median(_facing_sign(fine, config.joint_names))
        sign = np.float32(1.0 if sign >= 0 else -1.0)
        fine[..., 0] *= sign
        coarse[..., 0] *= sign
    duration = np.maximum(ends - starts, 1.0) / float(fps)
    dt = (duration / (config.summary_length - 1)).astype(np.float32)
    angles = np.concatenate(
        [joint_angles(fine, config.angle_index), segment_inclinations(fine, config.inclination_index)], axis=-1
    )
    coord_lo, coord_hi = fine.min(axis=1), fine.max(axis=1)
    coord_stats = np.stack([coord_lo, coord_hi, coord_hi - coord_lo], axis=-1).reshape(n_reps, -1)
    pairs = config.side_pairs
    if len(pairs):
        left, right = angles[..., pairs[:, 0]], angles[..., pairs[:, 1]]
        # Per frame, so "larger" follows the working side through the repetition.
        angles = np.concatenate([angles, np.maximum(left, right), np.minimum(left, right)], axis=-1)
    summaries = np.concatenate([_angle_stats(angles, dt), coord_stats], axis=1)
    blocks = [coarse.reshape(n_reps, -1), summaries]
    if config.relative:
        blocks.append(summaries - np.median(summaries, axis=0, keepdims=True))
    blocks.append(duration[:, None].astype(np.float32))
    features = np.concatenate(blocks, axis=1)
    return np.ascontiguousarray(features, dtype=np.float32)
