"""The one protocol every trainable model follows, and the registry the training jobs pick from.

The jobs never name a model class: they ask `make_estimator(name, task=..., input_spec=...,
random_state=...)` for one, call ``fit`` / ``predict``, store it with ``save`` and read it back
with ``load``. A stronger model (e.g. the pose transformer of Halo Trainer, seed 000 Sec. 5) plugs
in with `register_estimator("pose_transformer", "mypkg.models:PoseTransformer")` and is then
available as ``--param estimator=pose_transformer`` without touching a job. Registration is by
dotted path and the class is imported only when asked for, so optional dependencies (torch) are
never imported by default.

``input_spec`` tells a sequence model how to read the flat feature rows: the first
``sequence_length * joints * dims`` columns are the normalised, resampled pose sequence in
(frame, joint, axis) order (see `tasks.core.features`), the rest are summaries.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "TASKS",
    "PoseModel",
    "estimator_names",
    "get_estimator_class",
    "make_estimator",
    "register_estimator",
]

#: What a model is asked to do: regress a score, classify a label, or count repetitions in clips.
TASKS = ("regression", "classification", "rep_count")


@runtime_checkable
class PoseModel(Protocol):
    """A trainable model. Hyperparameters go to ``__init__`` as keywords and are kept unchanged.

    ``fit(X, y) -> self``; ``predict(X) -> ndarray``; ``save(path)`` writes one file that
    ``load(path)`` (a classmethod) reads back; ``params()`` returns the JSON-serialisable
    hyperparameters recorded with a model run.
    """

    task: str

    def fit(self, X, y) -> PoseModel: ...

    def predict(self, X) -> np.ndarray: ...

    def save(self, path) -> None: ...

    @classmethod
    def load(cls, path) -> PoseModel: ...

    def params(self) -> dict[str, Any]: ...


_REGISTRY: dict[str, str] = {
    "hgb": "tasks.core.estimators.sklearn_models:HistGradientBoostingPoseModel",
    "linear": "tasks.core.estimators.sklearn_models:LinearPoseModel",
    "periodicity": "tasks.core.estimators.rep_counter:PeriodicityRepCounter",
}


def register_estimator(name: str, dotted_path: str) -> None:
    """Make ``name`` available to the training jobs; ``dotted_path`` is ``"module:Class"``."""
    if ":" not in dotted_path:
        raise ValueError("dotted_path must look like 'package.module:ClassName'")
    _REGISTRY[name] = dotted_path


def estimator_names() -> list[str]:
    return sorted(_REGISTRY)


def get_estimator_class(name: str) -> type:
    try:
        module_name, _, class_name = _REGISTRY[name].partition(":")
    except KeyError:
        raise KeyError(f"unknown estimator {name!r}; known: {', '.join(estimator_names())}") from None
    return getattr(importlib.import_module(module_name), class_name)


def make_estimator(name: str, *, task: str, input_spec: dict | None = None, random_state=None, **params):
    """Build estimator ``name`` for ``task`` (one of `TASKS`)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    cls = get_estimator_class(name)
    supported = getattr(cls, "supported_tasks", TASKS)
    if task not in supported:
        raise ValueError(f"estimator {name!r} does not do {task!r} (it does {', '.join(supported)})")
    return cls(task=task, input_spec=input_spec or {}, random_state=random_state, **params)
