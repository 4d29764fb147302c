"""Trainable models behind one protocol (`base.PoseModel`) and the registry the jobs use."""
from tasks.core.estimators.base import (
    TASKS, PoseModel, estimator_names, get_estimator_class, make_estimator, register_estimator,
)

__all__ = ["TASKS", "PoseModel", "estimator_names", "get_estimator_class", "make_estimator", "register_estimator"]
