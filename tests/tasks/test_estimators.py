"""The model protocol and registry: sklearn models, plug-ins, save/load, determinism, no torch."""
import subprocess
import sys

import numpy as np
import pytest

from tasks.core.estimators import PoseModel, estimator_names, make_estimator, register_estimator
from tasks.core.estimators.sklearn_models import HistGradientBoostingPoseModel


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = 0.5 + 0.3 * np.tanh(X[:, 0]) + 0.05 * rng.normal(size=n)
    return X, y


class ConstantModel:
    """A stand-in for a plugged-in model (e.g. a pose transformer)."""

    supported_tasks = ("regression",)

    def __init__(self, *, task, input_spec, random_state=None, value=0.5):
        self.task, self.input_spec, self.random_state, self.value = task, input_spec, random_state, value

    def fit(self, X, y):
        self.value_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.value_)

    def save(self, path):
        raise NotImplementedError

    @classmethod
    def load(cls, path):
        raise NotImplementedError

    def params(self):
        return {"value": self.value}


@pytest.mark.parametrize("name", ["hgb", "linear"])
def test_sklearn_models_follow_the_protocol_and_learn(name):
    # given
    X, y = _data()
    # when
    params = {"max_iter": 60} if name == "hgb" else {}
    model = make_estimator(name, task="regression", random_state=0, **params).fit(X[:200], y[:200])
    # then
    assert isinstance(model, PoseModel)
    assert np.corrcoef(model.predict(X[200:]), y[200:])[0, 1] > 0.8
    assert model.params()["estimator"] == name


def test_classifier_task_predicts_labels():
    # given
    X, _ = _data()
    labels = np.where(X[:, 1] > 0, 7, 3)
    # when
    model = make_estimator("hgb", task="classification", random_state=0, max_iter=50).fit(X[:200], labels[:200])
    # then
    assert set(model.predict(X[200:])) <= {3, 7}
    assert np.mean(model.predict(X[200:]) == labels[200:]) > 0.9


def test_save_and_load_give_the_same_predictions(tmp_path):
    # given
    X, y = _data()
    model = make_estimator("hgb", task="regression", random_state=0, max_iter=30).fit(X, y)
    # when
    model.save(tmp_path / "m.joblib")
    loaded = HistGradientBoostingPoseModel.load(tmp_path / "m.joblib")
    # then
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_same_seed_same_model():
    # given
    X, y = _data()
    # when
    a = make_estimator("hgb", task="regression", random_state=3, max_features=0.5, max_iter=40).fit(X, y).predict(X)
    b = make_estimator("hgb", task="regression", random_state=3, max_features=0.5, max_iter=40).fit(X, y).predict(X)
    # then
    np.testing.assert_array_equal(a, b)


def test_a_plugged_in_model_is_built_by_name():
    # given
    register_estimator("constant_test", "tests.tasks.test_estimators:ConstantModel")
    X, y = _data()
    # when
    model = make_estimator("constant_test", task="regression", input_spec={"joints": 26}).fit(X, y)
    # then
    assert "constant_test" in estimator_names()
    assert model.input_spec == {"joints": 26}
    np.testing.assert_allclose(model.predict(X[:3]), np.mean(y))


def test_unknown_estimator_and_unsupported_task_are_refused():
    # when / then
    with pytest.raises(KeyError, match="unknown estimator"):
        make_estimator("nope", task="regression")
    with pytest.raises(ValueError, match="does not do"):
        make_estimator("periodicity", task="regression")


def test_torch_is_never_imported_by_the_training_code():
    # when: a fresh interpreter imports every training module
    code = ("import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test'); "
            "django.setup(); import tasks.jobs, tasks.training.severity, tasks.training.exercise, "
            "tasks.training.rep_counter, tasks.training.flex_score, tasks.core.estimators.rep_counter; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # then
    assert out.stdout.strip().endswith("False")
