"""Plain scikit-learn models behind the `PoseModel` protocol.

`HistGradientBoostingPoseModel` is the default: gradient-boosted trees on the per-repetition
features, robust to unscaled, partly uninformative columns, and fast enough for Halo scale on two
cores (histogram binning). `LinearPoseModel` (standardise + ridge / logistic regression) is the
cheap reference a stronger model has to beat.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_selection import SelectKBest, f_classif, f_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["HistGradientBoostingPoseModel", "LinearPoseModel"]


def _finite_scores(score_func):
    def scores(X, y):
        f, p = score_func(X, y)
        return np.nan_to_num(f, nan=0.0, posinf=0.0), p
    return scores


def f_regression_finite(X, y):
    """`f_regression` with constant columns scored 0 instead of NaN (picklable, module level)."""
    return _finite_scores(f_regression)(X, y)


def f_classif_finite(X, y):
    return _finite_scores(f_classif)(X, y)


class _SklearnPoseModel:
    supported_tasks = ("regression", "classification")

    def __init__(self, *, task: str = "regression", input_spec: dict | None = None, random_state=None):
        self.task = task
        self.input_spec = dict(input_spec or {})
        self.random_state = random_state

    def _build(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, X, y=None):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if y is not None:
            y = np.asarray(y)
            if y.shape[0] != X.shape[0]:
                raise ValueError("X and y must have the same number of rows")
            if X.shape[0] == 0:
                raise ValueError("cannot fit on zero samples")
        return X, y

    def fit(self, X, y, sample_weight=None):
        if self.task not in self.supported_tasks:
            raise ValueError(f"{type(self).__name__} does not do {self.task!r}")
        X, y = self._check(X, y)
        self.model_ = self._build()
        if sample_weight is None:
            self.model_.fit(X, y)
        else:
            self.model_.fit(X, y, **self._weight_kwargs(sample_weight))
        self.n_features_in_ = X.shape[1]
        if self.task == "classification":
            self.classes_ = self.model_.classes_
        return self

    def _weight_kwargs(self, sample_weight):
        return {"sample_weight": sample_weight}

    def predict(self, X) -> np.ndarray:
        X, _ = self._check(X)
        return self.model_.predict(X)

    def predict_proba(self, X) -> np.ndarray:
        if self.task != "classification":
            raise AttributeError("predict_proba is for classification models")
        X, _ = self._check(X)
        return self.model_.predict_proba(X)

    def save(self, path) -> None:
        joblib.dump(self, Path(path), compress=3)

    @classmethod
    def load(cls, path):
        model = joblib.load(Path(path))
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class HistGradientBoostingPoseModel(_SklearnPoseModel):
    """Histogram gradient boosting (scikit-learn) on per-repetition pose features.

    Early stopping is off by default so that a fixed ``max_iter`` and ``random_state`` give the
    same trees on every run (early stopping draws its own validation split). 64 bins instead of
    scikit-learn's 255, and only the ``max_input_features`` columns with the largest univariate
    F statistic against the target (``SelectKBest``, fitted on the training rows): with ~1,000
    pose features, histogram building and split finding (features x bins per node) dominate the
    fit time, and one error type is visible in a few dozen of them (bench/training.md).
    """

    def __init__(self, *, task: str = "regression", input_spec: dict | None = None, random_state=None,
                 max_iter: int = 100, learning_rate: float = 0.1, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 0.0, max_features: float = 1.0,
                 max_bins: int = 64, max_input_features: int | None = 160, class_weight=None):
        super().__init__(task=task, input_spec=input_spec, random_state=random_state)
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.max_bins = max_bins
        self.max_input_features = max_input_features
        self.class_weight = class_weight

    def _build(self):
        common = dict(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            max_features=self.max_features, max_bins=self.max_bins, early_stopping=False,
            random_state=self.random_state,
        )
        if self.task == "classification":
            model, score = HistGradientBoostingClassifier(class_weight=self.class_weight, **common), f_classif_finite
        else:
            model, score = HistGradientBoostingRegressor(**common), f_regression_finite
        if self.max_input_features is None:
            return model
        return Pipeline([("select", SelectKBest(score, k=self.k_)), ("model", model)])

    def fit(self, X, y, sample_weight=None):
        # k is known only once X is: keep every column when there are fewer than the cap.
        n_features = np.asarray(X).shape[1] if np.ndim(X) == 2 else 0
        self.k_ = "all" if self.max_input_features is None or n_features <= self.max_input_features \
            else int(self.max_input_features)
        return super().fit(X, y, sample_weight=sample_weight)

    def _weight_kwargs(self, sample_weight):
        if isinstance(self.model_, Pipeline):
            return {"model__sample_weight": sample_weight}
        return {"sample_weight": sample_weight}

    def params(self) -> dict:
        return {
            "estimator": "hgb", "task": self.task, "max_iter": self.max_iter,
            "learning_rate": self.learning_rate, "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf, "l2_regularization": self.l2_regularization,
            "max_features": self.max_features, "max_bins": self.max_bins,
            "max_input_features": self.max_input_features, "class_weight": self.class_weight,
            "random_state": self.random_state,
        }


class LinearPoseModel(_SklearnPoseModel):
    """Standardised features + ridge regression (regression) or logistic regression (classification)."""

    def __init__(self, *, task: str = "regression", input_spec: dict | None = None, random_state=None,
                 alpha: float = 1.0, C: float = 1.0, max_iter: int = 1000):
        super().__init__(task=task, input_spec=input_spec, random_state=random_state)
        self.alpha = alpha
        self.C = C
        self.max_iter = max_iter

    def _build(self):
        if self.task == "classification":
            head = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        else:
            head = Ridge(alpha=self.alpha)
        return make_pipeline(StandardScaler(), head)

    def _weight_kwargs(self, sample_weight):
        step = self.model_.steps[-1][0]
        return {f"{step}__sample_weight": sample_weight}

    def params(self) -> dict:
        return {"estimator": "linear", "task": self.task, "alpha": self.alpha, "C": self.C,
                "max_iter": self.max_iter, "random_state": self.random_state}
