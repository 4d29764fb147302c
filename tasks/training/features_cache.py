"""Per-repetition features of many clips, read from the stored pose arrays and cached in storage.

Cache design (see docs/training.md, "Feature cache"): one ``.npz`` shard per (end-point label
set, feature configuration, exercise) under ``features/``::

    features/ls<label set id>/<config digest>/ex<exercise id>-<content digest>.npz

holding, for every repetition of every clip of that exercise: clip id, repetition index, start
and end frame, and the feature row. The content digest hashes the clip ids, their pose files
(content-addressed already) and their end points, so a shard can never be served for other
inputs, even after a test database reuses ids. Shards rather than one file per clip: a 20,000-clip
run reads ~40 files instead of 20,000, and a severity run loads only the exercises that have
error types. Shards are written only after they are complete (write to a temporary name, then
save under the final one), so a cancelled job leaves either a whole shard or none; a shard that
fails to load is recomputed. A bounded in-memory LRU would not survive between jobs (each job is
a new task in a worker process), which is where the reuse is.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from config.exceptions import DomainError
from tasks.core.features import LAYOUT_JOINTS, FeatureConfig, repetition_bounds, repetition_features

logger = logging.getLogger(__name__)

__all__ = ["RepFeatureTable", "feature_config_for", "missing_pose_clips", "pose_read", "rep_feature_table"]


def feature_config_for(layout: str, joints: int, length: int) -> FeatureConfig:
    """The feature configuration of an exercise's skeleton layout. An unknown layout (or a joint
    count that does not match it) gets coordinates and coordinate summaries only, no angles."""
    names = LAYOUT_JOINTS.get(layout)
    if names is None or len(names) != joints:
        names = tuple(f"j{i}" for i in range(joints))
    return FeatureConfig(length=length, joint_names=tuple(names))


@dataclass
class RepFeatureTable:
    """One row per repetition. ``X`` is float32 (n_reps, n_features)."""

    clip_id: np.ndarray
    rep_index: np.ndarray
    exercise_id: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    X: np.ndarray

    @classmethod
    def empty(cls, n_features: int) -> RepFeatureTable:
        i = np.empty(0, dtype=np.int64)
        f = np.empty(0, dtype=np.float64)
        return cls(i, i.copy(), i.copy(), f, f.copy(), np.empty((0, n_features), dtype=np.float32))

    @classmethod
    def concat(cls, parts: list[RepFeatureTable], n_features: int) -> RepFeatureTable:
        if not parts:
            return cls.empty(n_features)
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in
                     ("clip_id", "rep_index", "exercise_id", "starts", "ends", "X")))

    def __len__(self) -> int:
        return int(self.clip_id.shape[0])


def pose_read(path: str) -> np.ndarray:
    """Read one stored pose array; never unpickles."""
    with default_storage.open(path, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


def missing_pose_clips(clip_ids, pose_paths) -> list[int]:
    """Clip ids whose pose file is not set or not in storage (checked before any work starts)."""
    return [int(c) for c, p in zip(clip_ids, pose_paths) if not p or not default_storage.exists(p)]


def require_pose(clip_ids, pose_paths) -> None:
    missing = missing_pose_clips(clip_ids, pose_paths)
    if missing:
        raise DomainError(
            f"{len(missing)} clip(s) have no pose file in storage (first: {missing[:10]}); "
            "features are computed from pose arrays.",
            code="pose_missing", fields={"clip_ids": missing[:100], "count": len(missing)},
        )


def _content_digest(clip_ids, pose_paths, ends) -> str:
    digest = hashlib.sha256()
    for clip_id, path, clip_ends in zip(clip_ids, pose_paths, ends):
        digest.update(f"{int(clip_id)}|{path}|".encode())
        digest.update(np.asarray(clip_ends, dtype=np.float64).tobytes())
    return digest.hexdigest()[:20]


def _shard_path(cache_key: str, config: FeatureConfig, exercise_id: int, content: str) -> str:
    return f"features/{cache_key}/{config.digest()}/ex{int(exercise_id)}-{content}.npz"


def _load_shard(path: str, n_features: int) -> RepFeatureTable | None:
    if not default_storage.exists(path):
        return None
    try:
        with default_storage.open(path, "rb") as handle:
            data = np.load(io.BytesIO(handle.read()), allow_pickle=False)
            table = RepFeatureTable(*(data[name] for name in
                                      ("clip_id", "rep_index", "exercise_id", "starts", "ends", "X")))
    except (OSError, ValueError, KeyError) as exc:  # a damaged shard is recomputed, not trusted
        logger.warning("features.cache_unreadable", extra={"path": path, "error": str(exc)})
        return None
    if table.X.ndim != 2 or table.X.shape[1] != n_features:
        return None
    return table


def _save_shard(path: str, table: RepFeatureTable) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, clip_id=table.clip_id, rep_index=table.rep_index, exercise_id=table.exercise_id,
             starts=table.starts, ends=table.ends, X=table.X)
    if default_storage.exists(path):
        return
    temporary = default_storage.save(f"{path}.partial", ContentFile(buffer.getvalue()))
    # FileSystemStorage: an atomic rename makes a half-written shard impossible to read.
    if hasattr(default_storage, "path"):
        final = default_storage.path(path)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(default_storage.path(temporary), final)
    else:  # pragma: no cover - object stores write whole objects
        default_storage.save(path, ContentFile(buffer.getvalue()))
        default_storage.delete(temporary)


def _compute(clip_ids, exercise_ids, fps, pose_paths, ends, config, n_features, check) -> RepFeatureTable:
    parts = []
    for i, clip_id in enumerate(clip_ids):
        if i % 50 == 0:
            check()
        clip_ends = np.asarray(ends[i], dtype=np.float64)
        if clip_ends.size == 0:
            continue
        pose = pose_read(pose_paths[i])
        if pose.ndim != 3 or pose.shape[1] != len(config.joint_names) or config.n_features(pose.shape[2]) != n_features:
            raise DomainError(
                f"Clip {int(clip_id)}: pose shape {pose.shape} does not match the "
                f"{len(config.joint_names)}-joint layout of its exercise.", code="pose_layout_mismatch",
            )
        starts, stops = repetition_bounds(clip_ends, pose.shape[0])
        X = repetition_features(pose, starts, stops, fps=float(fps[i]), config=config)
        n = X.shape[0]
        parts.append(RepFeatureTable(
            clip_id=np.full(n, clip_id, dtype=np.int64), rep_index=np.arange(n, dtype=np.int64),
            exercise_id=np.full(n, exercise_ids[i], dtype=np.int64), starts=starts, ends=stops, X=X,
        ))
    return RepFeatureTable.concat(parts, n_features)


def rep_feature_table(*, clip_ids, exercise_ids, fps, pose_paths, ends, config: FeatureConfig, dims: int,
                      cache_key: str | None, progress=None, start: float = 0.0, end: float = 1.0) -> RepFeatureTable:
    """Features of every repetition of the given clips, shard by shard (one shard per exercise).

    Parameters
    ----------
    clip_ids, exercise_ids, fps : array_like, shape (n_clips,)
    pose_paths : list of str
        Storage paths of the pose arrays (checked with `require_pose` first by the caller).
    ends : list of array_like
        Consensus end frames of each clip's repetitions (one array per clip).
    config : FeatureConfig
    dims : int
        2 or 3, the pose dimensionality (sets the feature count).
    cache_key : str or None
        ``"ls<id>"`` to cache under that label set; None computes in memory only.
    progress : JobProgress or None
        Reports per exercise between ``start`` and ``end`` and checks for cancellation.
    """
    clip_ids = np.asarray(clip_ids, dtype=np.int64)
    exercise_ids = np.asarray(exercise_ids, dtype=np.int64)
    fps = np.asarray(fps, dtype=np.float64)
    n_features = config.n_features(dims)
    check = progress.check_cancelled if progress is not None else (lambda: None)
    parts = []
    exercises = np.unique(exercise_ids)
    for k, exercise_id in enumerate(exercises):
        if progress is not None:
            progress.update(start + (end - start) * k / max(len(exercises), 1), f"features: exercise {exercise_id}")
        idx = np.flatnonzero(exercise_ids == exercise_id)
        idx = idx[np.argsort(clip_ids[idx], kind="stable")]
        sub_paths = [pose_paths[i] for i in idx]
        sub_ends = [ends[i] for i in idx]
        path = None
        if cache_key is not None:
            path = _shard_path(cache_key, config, exercise_id, _content_digest(clip_ids[idx], sub_paths, sub_ends))
            cached = _load_shard(path, n_features)
            if cached is not None:
                parts.append(cached)
                continue
        table = _compute(clip_ids[idx], exercise_ids[idx], fps[idx], sub_paths, sub_ends, config, n_features, check)
        if path is not None:
            _save_shard(path, table)
        parts.append(table)
    if progress is not None:
        progress.update(end, "features ready")
    return RepFeatureTable.concat(parts, n_features)
