"""Halo Trainer severity thresholds (seed 000 §5): coarse-to-fine search of 0.9 Kappa1 + 0.1 Kappa0."""
from itertools import combinations_with_replacement

import numpy as np
import pytest

from annotation.core.agreement import kappa0, kappa1
from tasks.core.thresholds import apply_thresholds, search_thresholds, threshold_objective


def noisy_severity(seed, n=3000, noise=0.6):
    """Scores in [0, 1] that rise with the true class, overlapping between neighbours."""
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=n, p=[0.55, 0.25, 0.15, 0.05])
    scores = np.clip((y + rng.normal(0, noise, n)) / 3.5 + 0.05, 0.0, 1.0)
    return scores, y


def objective(y, pred):
    value = 0.9 * kappa1(y, pred) + 0.1 * kappa0(y, pred)
    return -np.inf if np.isnan(value) else value


def test_apply_thresholds_follows_the_seed_intervals():
    # given: class k for t_k <= s < t_{k+1}
    scores = [0.1, 0.2, 0.5, 0.79, 0.8, 0.95]
    # when
    classes = apply_thresholds(scores, [0.2, 0.5, 0.8])
    # then
    np.testing.assert_array_equal(classes, [0, 1, 2, 2, 3, 3])


def test_apply_thresholds_refuses_decreasing_thresholds():
    # when / then
    with pytest.raises(ValueError, match="non-decreasing"):
        apply_thresholds([0.1], [0.5, 0.2, 0.8])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_recovers_thresholds_on_separable_scores(seed):
    # given: class k scores in (k + 0.1, k + 0.9): any threshold in the gaps is perfect
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 500)
    scores = y + rng.uniform(0.1, 0.9, 500)
    # when
    thresholds, value = search_thresholds(scores, y)
    # then
    assert value == pytest.approx(1.0)
    np.testing.assert_array_equal(apply_thresholds(scores, thresholds), y)
    np.testing.assert_array_less(np.abs(thresholds - [1.0, 2.0, 3.0]), 0.1 + 1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_search_is_never_below_uniform_quantile_thresholds(seed):
    # given
    scores, y = noisy_severity(seed)
    quantiles = np.quantile(scores, [0.25, 0.5, 0.75])
    # when
    thresholds, value = search_thresholds(scores, y)
    # then
    assert value >= objective(y, apply_thresholds(scores, quantiles)) - 1e-12
    assert np.all(np.diff(thresholds) > 0)


@pytest.mark.parametrize("seed", range(5))
def test_reported_objective_is_the_kappa_objective_of_the_thresholds(seed):
    # given
    scores, y = noisy_severity(10 + seed)
    # when
    thresholds, value = search_thresholds(scores, y)
    # then
    assert value == pytest.approx(objective(y, apply_thresholds(scores, thresholds)))
    assert value == pytest.approx(threshold_objective(scores, y, thresholds))


@pytest.mark.parametrize("seed", range(6))
def test_search_matches_an_exhaustive_search_on_a_tiny_case(seed):
    # given: 14 scores with ties; every partition is reachable with thresholds at the midpoints
    # between distinct scores or beyond either end (equal thresholds leave a class empty)
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 10, 14) / 10
    y = np.clip(np.round(scores * 3 + rng.normal(0, 0.8, 14)), 0, 3).astype(int)
    distinct = np.unique(scores)
    candidates = np.concatenate([[distinct[0] - 1], (distinct[1:] + distinct[:-1]) / 2, [distinct[-1] + 1]])
    best = max(objective(y, apply_thresholds(scores, t))
               for t in combinations_with_replacement(candidates, 3))
    # when
    thresholds, value = search_thresholds(scores, y)
    # then
    assert value == pytest.approx(best)
    assert objective(y, apply_thresholds(scores, thresholds)) == pytest.approx(best)


def test_coarse_to_fine_is_at_least_as_good_as_a_dense_grid():
    # given: many distinct scores, so the coarse grid alone cannot be exhaustive
    scores, y = noisy_severity(42, n=4000)
    grid = np.quantile(scores, np.linspace(0.01, 0.99, 20))
    dense_best = max(objective(y, apply_thresholds(scores, t))
                     for t in combinations_with_replacement(grid, 3))
    # when
    _, value = search_thresholds(scores, y, coarse=8)
    # then
    assert value >= dense_best - 1e-12


def test_search_works_on_any_score_range():
    # given
    scores, y = noisy_severity(3)
    # when
    th_unit, value_unit = search_thresholds(scores, y)
    th_wide, value_wide = search_thresholds(scores * 250.0 - 40.0, y)
    # then: an affine map of the scores moves the thresholds with it
    assert value_wide == pytest.approx(value_unit)
    np.testing.assert_array_equal(apply_thresholds(scores * 250.0 - 40.0, th_wide),
                                  apply_thresholds(scores, th_unit))


def test_search_is_deterministic():
    # given
    scores, y = noisy_severity(5)
    # when
    first = search_thresholds(scores, y)
    again = search_thresholds(scores.copy(), y.copy())
    # then
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]


def test_kappa1_weight_zero_optimises_kappa0():
    # given
    scores, y = noisy_severity(6, n=400)
    # when
    thresholds, value = search_thresholds(scores, y, kappa1_weight=0.0)
    # then
    assert value == pytest.approx(kappa0(y, apply_thresholds(scores, thresholds)))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scores": [0.1, 0.2], "y_true": [0, 4]}, r"classes in \[0, 4\)"),
    ({"scores": [0.1, np.nan], "y_true": [0, 1]}, "finite"),
    ({"scores": [0.1, 0.2], "y_true": [0]}, "same length"),
    ({"scores": [0.1, 0.2, 0.3], "y_true": [0, 1, 1], "n_classes": 2}, "undefined"),
])
def test_search_refuses_bad_input(kwargs, message):
    # when / then
    with pytest.raises(ValueError, match=message):
        search_thresholds(**kwargs)
