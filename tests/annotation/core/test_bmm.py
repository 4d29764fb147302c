import numpy as np
import pytest
from scipy import stats

from annotation.core.bmm import BetaMixture1D, bmm_severity_scores, lattice_eps


def _two_betas(seed, n=20_000):
    # 60 % Beta(2, 8) (mean 0.2) + 40 % Beta(8, 2) (mean 0.8)
    rng = np.random.default_rng(seed)
    high = rng.random(n) < 0.4
    return np.where(high, rng.beta(8, 2, n), rng.beta(2, 8, n))


def _true_high_posterior(x):
    low = 0.6 * stats.beta.pdf(x, 2, 8)
    high = 0.4 * stats.beta.pdf(x, 8, 2)
    return high / (low + high)


def _simulated_mean_votes(seed, prior, n=20_000, noise=(0.15, 0.7, 0.15)):
    """10 votes per item: true class +/- 1 with the given probabilities, clipped to 0..3."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(4, n, p=prior)
    votes = np.clip(truth[:, None] + rng.choice([-1, 0, 1], (n, 10), p=noise), 0, 3)
    return votes.mean(axis=1), truth


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_known_two_component_mixture(seed):
    # given
    x = _two_betas(seed)

    # when
    model = BetaMixture1D().fit(x)

    # then: parameters within 10 %, weights within 0.02, posterior within 0.02 on average
    assert model.converged_
    assert model.fallback_reason_ is None
    np.testing.assert_allclose(model.alphas_, [2, 8], rtol=0.1)
    np.testing.assert_allclose(model.betas_, [8, 2], rtol=0.1)
    np.testing.assert_allclose(model.weights_, [0.6, 0.4], atol=0.02)
    grid = np.linspace(0.01, 0.99, 99)
    assert np.abs(model.predict_proba(grid)[:, 1] - _true_high_posterior(grid)).mean() < 0.02


def test_method_of_moments_hand_computed_with_one_component():
    # given: x = 0.2, 0.4, 0.6 with weights 1, 2, 1
    # mean = (0.2 + 0.8 + 0.6) / 4 = 0.4; var = (0.04 + 0 + 0.04) / 4 = 0.02
    # alpha + beta = 0.4 * 0.6 / 0.02 - 1 = 11; alpha = 0.4 * 11 = 4.4; beta = 0.6 * 11 = 6.6
    x = np.array([0.2, 0.4, 0.6])
    weights = np.array([1.0, 2.0, 1.0])

    # when
    model = BetaMixture1D(n_components=1, min_items=1).fit(x, sample_weight=weights)

    # then
    np.testing.assert_allclose(model.alphas_, [4.4])
    np.testing.assert_allclose(model.betas_, [6.6])
    np.testing.assert_allclose(model.weights_, [1.0])


def test_weighted_lattice_fit_equals_fit_on_repeated_values():
    # given: values on a lattice, once as raw repeats and once as (distinct value, count)
    mean_votes, _ = _simulated_mean_votes(3, [0.6, 0.2, 0.12, 0.08], n=3000)
    x = mean_votes / 3
    distinct, counts = np.unique(x, return_counts=True)

    # when
    repeated = BetaMixture1D(eps=1 / 60).fit(x)
    weighted = BetaMixture1D(eps=1 / 60).fit(distinct, sample_weight=counts)

    # then
    np.testing.assert_allclose(weighted.alphas_, repeated.alphas_, rtol=1e-9)
    np.testing.assert_allclose(weighted.betas_, repeated.betas_, rtol=1e-9)
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-9)
    assert weighted.n_iter_ == repeated.n_iter_


def test_fit_improves_the_likelihood_over_the_start():
    # when
    model = BetaMixture1D(tol=0.0, max_iter=40).fit(_two_betas(4))

    # then: moment matching is not an exact M-step, so only the overall improvement is guaranteed
    assert model.loss_history_[-1] < model.loss_history_[0]
    assert len(model.loss_history_) == 41


def test_three_components_with_random_init():
    # given: 50 % Beta(2, 12) + 30 % Beta(10, 10) + 20 % Beta(12, 2)
    rng = np.random.default_rng(0)
    component = rng.choice(3, 30_000, p=[0.5, 0.3, 0.2])
    x = np.choose(component, [rng.beta(2, 12, 30_000), rng.beta(10, 10, 30_000), rng.beta(12, 2, 30_000)])

    # when
    model = BetaMixture1D(n_components=3, init="random", random_state=1, max_iter=500).fit(x)

    # then
    np.testing.assert_allclose(model.means_, [2 / 14, 0.5, 12 / 14], atol=0.02)
    np.testing.assert_allclose(model.weights_, [0.5, 0.3, 0.2], atol=0.02)


def test_random_init_is_reproducible_with_random_state():
    # given
    x = _two_betas(5, n=2000)

    # when
    first = BetaMixture1D(init="random", random_state=42).fit(x)
    second = BetaMixture1D(init="random", random_state=42).fit(x)

    # then
    np.testing.assert_array_equal(first.alphas_, second.alphas_)


@pytest.mark.parametrize("random_state", range(10))
def test_random_init_recovers_known_mixture(random_state):
    # when
    model = BetaMixture1D(init="random", random_state=random_state).fit(_two_betas(5, n=2000))

    # then
    np.testing.assert_allclose(model.alphas_, [2, 8], rtol=0.15)
    np.testing.assert_allclose(model.betas_, [8, 2], rtol=0.15)


def test_lattice_eps_is_half_the_gap_to_the_nearest_value():
    # 10 votes: nearest values to 0 and 1 are 1/30 and 29/30 -> eps = 1/60
    assert lattice_eps(np.array([0, 1 / 30, 0.5, 29 / 30, 1])) == pytest.approx(1 / 60)
    # only 0 and 1 observed: nothing inside, keep the default
    assert lattice_eps(np.array([0.0, 1.0])) == 1e-4


def test_severity_scores_order_the_true_classes():
    # given: 70 % no error, votes off by one level 30 % of the time
    mean_votes, truth = _simulated_mean_votes(0, [0.7, 0.15, 0.1, 0.05])

    # when
    scores, info = bmm_severity_scores(mean_votes)

    # then
    assert info["fallback_reason"] is None
    assert info["eps"] == pytest.approx(1 / 60)
    assert np.median(scores[truth == 0]) < 0.1
    assert np.median(scores[truth == 3]) > 0.9
    assert np.all((scores >= 0) & (scores <= 1))


def test_severity_scores_are_monotone_in_mean_vote():
    # given
    mean_votes, _ = _simulated_mean_votes(1, [0.3, 0.3, 0.2, 0.2])

    # when
    scores, _ = bmm_severity_scores(mean_votes)

    # then: sorting by mean vote sorts the scores
    order = np.argsort(mean_votes, kind="stable")
    assert np.all(np.diff(scores[order]) >= 0)


def test_info_records_parameters_as_plain_lists():
    # given
    mean_votes, _ = _simulated_mean_votes(2, [0.5, 0.2, 0.2, 0.1], n=2000)

    # when
    _, info = bmm_severity_scores(mean_votes)

    # then
    assert len(info["alphas"]) == len(info["betas"]) == len(info["weights"]) == 2
    assert info["n_items"] == 2000
    assert info["n_distinct"] <= 31
    assert isinstance(info["converged"], bool)


@pytest.mark.parametrize(
    ("mean_votes", "reason"),
    [
        (np.zeros(100), "all_zero"),
        (np.full(100, 1.5), "single_value"),
        (np.array([0.0, 1.0, 2.0, 3.0, 1.1]), "too_few_items"),
        # noise-free votes: each component ends up on a single lattice point (zero variance)
        (np.repeat([0.0, 1.0, 2.0, 3.0], [70, 15, 10, 5]), "component_collapsed"),
        (np.array([]), "no_items"),
    ],
)
def test_degenerate_inputs_fall_back_to_scaled_mean(mean_votes, reason):
    # when
    scores, info = bmm_severity_scores(mean_votes)

    # then
    assert info["fallback_reason"] == reason
    assert not np.isnan(scores).any()
    np.testing.assert_allclose(scores, mean_votes / 3)
    assert info["alphas"] is None


def test_perfect_annotators_fall_back_with_reason():
    # given: no vote noise, so every item sits exactly on k/3 and components collapse
    mean_votes, truth = _simulated_mean_votes(6, [0.7, 0.15, 0.1, 0.05], noise=(0.0, 1.0, 0.0))

    # when
    scores, info = bmm_severity_scores(mean_votes)

    # then: the fallback is the clean class / 3
    assert info["fallback_reason"] == "component_collapsed"
    np.testing.assert_allclose(scores, truth / 3)


def test_class_fit_reports_fallback_and_refuses_posterior():
    # given
    model = BetaMixture1D().fit(np.full(50, 0.3))

    # then
    assert model.fallback_reason_ == "single_value"
    assert np.isnan(model.alphas_).all()
    with pytest.raises(ValueError, match="fell back"):
        model.predict_proba(np.array([0.3]))


def test_nan_mean_vote_is_rejected():
    with pytest.raises(ValueError, match="drop items without votes"):
        bmm_severity_scores(np.array([0.0, np.nan]))


def test_hyperparameters_are_stored_unchanged():
    model = BetaMixture1D(n_components=3, max_iter=5, tol=0.1, eps=0.01, min_items=2, random_state=3)
    assert (model.n_components, model.max_iter, model.tol, model.eps, model.min_items, model.random_state) == (
        3, 5, 0.1, 0.01, 2, 3,
    )
