"""Django-free generator of synthetic Halo Trainer data (seed 000); see README.md here.

Public API::

    from datasets.core.synthetic import generate_halo, HALO_EXERCISES, JOINT_NAMES

    ds = generate_halo(n_clips=20, seed=0)   # SyntheticDataset of numpy arrays
    pose = ds.clip_pose(0)                    # (n_frames, 26, 2) float32, NaN where dropped
"""

from datasets.core.synthetic.generate import FPS, SyntheticDataset, generate_halo
from datasets.core.synthetic.halo_catalog import (
    HALO_EXERCISES,
    ErrorTypeSpec,
    ExerciseSpec,
    error_type_index,
    exercise_index,
)
from datasets.core.synthetic.skeleton import BONES, JOINT_NAMES, LEFT_RIGHT_PAIRS

__all__ = [
    "BONES",
    "FPS",
    "HALO_EXERCISES",
    "JOINT_NAMES",
    "LEFT_RIGHT_PAIRS",
    "ErrorTypeSpec",
    "ExerciseSpec",
    "SyntheticDataset",
    "error_type_index",
    "exercise_index",
    "generate_halo",
]
