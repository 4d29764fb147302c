"""The array part of train_severity: fitting one group, thresholds on validation, test metrics."""
import numpy as np
import pytest

from annotation.core.agreement import kappa1
from tasks.training.severity import evaluate_classes, fit_group


def _items(n, seed):
    rng = np.random.default_rng(seed)
    true = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    X = np.column_stack([true + rng.normal(scale=0.35, size=n), rng.normal(size=(n, 3))]).astype(np.float32)
    return X, true / 3.0, true


def test_fit_group_learns_scores_and_thresholds_that_recover_the_classes():
    # given
    X, y, major = _items(600, seed=0)
    Xv, _, major_v = _items(300, seed=1)
    Xt, _, major_t = _items(300, seed=2)
    # when
    result = fit_group(key="sq:depth", X_train=X, y_train=y, major_train=major, X_val=Xv, major_val=major_v,
                       estimator="hgb", estimator_params={"max_iter": 60}, seed=0, input_spec={})
    pred = np.searchsorted(result.thresholds, result.model.predict(Xt), side="right")
    # then
    assert result.skipped == "" and result.thresholds.shape == (3,)
    assert np.all(np.diff(result.thresholds) > 0)
    assert kappa1(major_t, pred) > 0.8
    assert result.baseline_class == 0


def test_a_single_class_in_train_is_skipped_with_its_reason():
    # given
    X, y, _ = _items(50, seed=0)
    # when
    result = fit_group(key="sq:heels", X_train=X, y_train=np.zeros(50), major_train=np.zeros(50, dtype=int),
                       X_val=X, major_val=np.zeros(50, dtype=int), estimator="hgb", estimator_params={}, seed=0,
                       input_spec={})
    # then
    assert result.model is None and result.skipped == "single_class_in_train (0)"


def test_evaluate_classes_reports_target_met_and_the_majority_baseline():
    # given: 8 test items; the model is off by one on two of them
    true = np.array([0, 0, 0, 1, 1, 2, 3, 3])
    pred = np.array([0, 1, 0, 1, 2, 2, 3, 3])
    # when
    row = evaluate_classes(true, pred, baseline_class=0, annotator_kappa1=0.9)
    # then
    assert row["target"] == pytest.approx(0.765)
    assert row["kappa1"] == pytest.approx(kappa1(true, pred))
    assert row["met"] is (row["kappa1"] >= 0.765)
    assert row["baseline_kappa1"] == pytest.approx(0.0)
    assert row["beats_baseline"] is True
    assert row["confusion"][0] == [2, 1, 0, 0]
    assert row["test_class_counts"] == [3, 2, 1, 2]


def test_evaluate_classes_without_annotator_agreement_has_no_target():
    # when
    row = evaluate_classes(np.array([0, 2, 3]), np.array([0, 2, 3]), baseline_class=0, annotator_kappa1=None)
    # then
    assert row["target"] is None and row["met"] is None and row["kappa1"] == pytest.approx(1.0)
