import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotation.core.agreement import (
    HALO_TARGET_RATIO,
    annotator_agreement,
    cohen_kappa,
    halo_target,
    kappa0,
    kappa1,
    krippendorff_alpha_ordinal,
)


def test_kappa0_hand_computed():
    # given: pairs (0,0) (0,1) (1,1) (1,1)
    # observed = 3/4; p = [1/2, 1/2], q = [1/4, 3/4]; expected = 1/2*1/4 + 1/2*3/4 = 1/2
    # kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2
    y1, y2 = [0, 0, 1, 1], [0, 1, 1, 1]

    # when / then
    assert kappa0(y1, y2) == pytest.approx(0.5)


def test_kappa0_and_kappa1_hand_computed_on_four_classes():
    # given: pairs (0,0) (1,2) (2,0) (3,3) (3,1); |a-b| = 0, 1, 2, 0, 2
    # p (y1) = [1, 1, 1, 2] / 5; q (y2) = [2, 1, 1, 1] / 5
    # Kappa0: observed = 2/5; expected = (1*2 + 1*1 + 1*1 + 2*1) / 25 = 6/25
    #         kappa = (2/5 - 6/25) / (1 - 6/25) = (4/25) / (19/25) = 4/19
    # Kappa1: observed = 3/5 (|a-b| <= 1 for pairs 1, 2, 4)
    #         expected = sum_i p_i * sum_{|i-j|<=1} q_j
    #                  = 1/5*(2+1)/5 + 1/5*(2+1+1)/5 + 1/5*(1+1+1)/5 + 2/5*(1+1)/5 = (3+4+3+4)/25 = 14/25
    #         kappa = (15/25 - 14/25) / (11/25) = 1/11
    y1, y2 = [0, 1, 2, 3, 3], [0, 2, 0, 3, 1]

    # when / then
    assert kappa0(y1, y2) == pytest.approx(4 / 19)
    assert kappa1(y1, y2) == pytest.approx(1 / 11)
    assert cohen_kappa_score(y1, y2) == pytest.approx(4 / 19)


@pytest.mark.parametrize("seed", range(5))
def test_kappa0_equals_sklearn_on_random_data(seed):
    # given: correlated raters
    rng = np.random.default_rng(seed)
    y1 = rng.integers(0, 4, 1000)
    y2 = np.where(rng.random(1000) < 0.6, y1, rng.integers(0, 4, 1000))

    # when / then
    assert cohen_kappa(y1, y2, tolerance=0) == pytest.approx(cohen_kappa_score(y1, y2), abs=1e-12)


def test_kappa1_equals_sklearn_with_tolerance_weights():
    # given: Kappa1 is a weighted kappa with disagreement weight 1 only beyond distance 1
    rng = np.random.default_rng(11)
    y1 = rng.integers(0, 4, 2000)
    y2 = np.clip(y1 + rng.integers(-2, 3, 2000), 0, 3)

    # when: an independent computation of 1 - sum(w * observed) / sum(w * expected)
    confusion = np.zeros((4, 4))
    np.add.at(confusion, (y1, y2), 1)
    weights = (np.abs(np.subtract.outer(np.arange(4), np.arange(4))) > 1).astype(float)
    expected = np.outer(confusion.sum(1), confusion.sum(0)) / confusion.sum()
    reference = 1 - (weights * confusion).sum() / (weights * expected).sum()

    # then
    assert kappa1(y1, y2) == pytest.approx(reference, abs=1e-12)


def test_kappa1_is_nan_when_chance_agreement_is_total():
    # given: both raters only use classes 0 and 1, so every pair is within tolerance 1:
    # observed = expected = 1 and kappa is 0/0
    y1, y2 = [0, 1, 0, 1], [1, 1, 0, 0]

    # when / then
    assert np.isnan(kappa1(y1, y2))


def test_negative_tolerance_is_rejected():
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        cohen_kappa([0], [0], tolerance=-1)


def test_halo_target_is_85_percent():
    # 0.85 * 0.9 = 0.765
    assert HALO_TARGET_RATIO == 0.85
    assert halo_target(0.9) == pytest.approx(0.765)
    np.testing.assert_allclose(halo_target(np.array([1.0, 0.5])), [0.85, 0.425])


def test_annotator_agreement_hand_computed():
    # given: 3 items x 3 annotators
    #   item 0: a0=0 a1=0 a2=1   item 1: a0=2 a1=2 a2=2   item 2: a0=3 a1=1 a2=1
    # leave-one-out majority of the others (ties toward lower):
    #   item 0: a0 <- {0,1} tie -> 0; a1 <- {0,1} -> 0; a2 <- {0,0} -> 0
    #   item 1: everyone <- {2,2} -> 2
    #   item 2: a0 <- {1,1} -> 1; a1 <- {3,1} tie -> 1; a2 <- {3,1} -> 1
    # pairs (own, reference):
    #   a0: (0,0) (2,2) (3,1)  Kappa0: obs 2/3, p=q-ish: p={0,2,3}/3, q={0,1,2}/3, exp=2/9
    #                          -> (2/3-2/9)/(7/9) = 4/7
    #                          Kappa1: obs 2/3, exp = (2+2+1)/9 = 5/9 -> (1/9)/(4/9) = 1/4
    #   a1: (0,0) (2,2) (1,1)  perfect: Kappa0 = Kappa1 = 1
    #   a2: (1,0) (2,2) (1,1)  Kappa0: obs 2/3, p={1:2/3,2:1/3}, q uniform on {0,1,2}: exp=2/9+1/9=1/3
    #                          -> (1/3)/(2/3) = 1/2
    #                          Kappa1: obs 1, exp = 2/3*1 + 1/3*2/3 = 8/9 -> (1/9)/(1/9) = 1
    item_idx = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    annotator_idx = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    values = np.array([0, 0, 1, 2, 2, 2, 3, 1, 1])

    # when
    summary = annotator_agreement(item_idx, annotator_idx, values, n_items=3, n_annotators=3)

    # then
    np.testing.assert_allclose(summary.kappa0, [4 / 7, 1.0, 1 / 2])
    np.testing.assert_allclose(summary.kappa1, [1 / 4, 1.0, 1.0])
    np.testing.assert_array_equal(summary.n_items, [3, 3, 3])
    # equal n_items, so the weighted means are plain means: (4/7+1+1/2)/3 = 29/42, (1/4+1+1)/3 = 3/4
    assert summary.mean_kappa0 == pytest.approx(29 / 42)
    assert summary.mean_kappa1 == pytest.approx(3 / 4)
    own = [0, 2, 3, 0, 2, 1, 1, 2, 1]
    reference = [0, 2, 1, 0, 2, 1, 0, 2, 1]
    assert summary.pooled_kappa0 == pytest.approx(kappa0(own, reference))
    assert summary.pooled_kappa1 == pytest.approx(kappa1(own, reference))


def _loop_reference(item_idx, annotator_idx, values, n_annotators):
    """Slow, obvious leave-one-out reference: one Python loop over votes."""
    own = {a: [] for a in range(n_annotators)}
    ref = {a: [] for a in range(n_annotators)}
    for v in range(len(values)):
        others = values[(item_idx == item_idx[v]) & (np.arange(len(values)) != v)]
        counts = np.bincount(others, minlength=4)
        own[annotator_idx[v]].extend([values[v]] * int(counts.sum() > 0))
        ref[annotator_idx[v]].extend([int(np.argmax(counts))] * int(counts.sum() > 0))
    return own, ref


def test_annotator_agreement_equals_loop_and_sklearn_on_random_data():
    # given: 300 items, 4 of 8 annotators each, one noisy annotator
    rng = np.random.default_rng(3)
    n_items, n_annotators = 300, 8
    truth = rng.integers(0, 4, n_items)
    item_idx = np.repeat(np.arange(n_items), 4)
    annotator_idx = np.concatenate([rng.choice(n_annotators, 4, replace=False) for _ in range(n_items)])
    noise = np.where(annotator_idx == 7, 0.8, 0.2)
    values = np.where(rng.random(item_idx.size) < noise, rng.integers(0, 4, item_idx.size), truth[item_idx])

    # when
    summary = annotator_agreement(item_idx, annotator_idx, values, n_items=n_items, n_annotators=n_annotators)
    own, ref = _loop_reference(item_idx, annotator_idx, values, n_annotators)

    # then
    np.testing.assert_allclose(summary.kappa0, [cohen_kappa_score(own[a], ref[a]) for a in range(n_annotators)])
    np.testing.assert_allclose(summary.kappa1, [kappa1(own[a], ref[a]) for a in range(n_annotators)])
    np.testing.assert_array_equal(summary.n_items, [len(own[a]) for a in range(n_annotators)])
    assert summary.kappa0[7] < summary.kappa0[:7].min()


def test_annotator_without_scored_items_has_nan_kappa_and_is_left_out_of_mean():
    # given: annotator 2 votes alone on item 1, so it has no leave-one-out reference
    item_idx = np.array([0, 0, 1])
    annotator_idx = np.array([0, 1, 2])
    values = np.array([1, 1, 3])

    # when
    summary = annotator_agreement(item_idx, annotator_idx, values, n_items=2, n_annotators=3)

    # then: annotators 0 and 1 each have one pair (1, 1): chance agreement 1 -> NaN too
    assert summary.n_items.tolist() == [1, 1, 0]
    assert np.isnan(summary.kappa0).all()
    assert np.isnan(summary.mean_kappa0)


def _reliability_matrix(item_idx, annotator_idx, values, n_items, n_annotators):
    matrix = np.full((n_annotators, n_items), np.nan)
    matrix[annotator_idx, item_idx] = values
    return matrix


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_krippendorff_alpha_equals_package_on_reliability_matrix(seed):
    # given: 400 items, 2..6 of 10 annotators each, ordinal noise
    rng = np.random.default_rng(seed)
    n_items, n_annotators = 400, 10
    truth = rng.integers(0, 4, n_items)
    per_item = rng.integers(1, 7, n_items)
    item_idx = np.repeat(np.arange(n_items), per_item)
    annotator_idx = np.concatenate([rng.choice(n_annotators, k, replace=False) for k in per_item])
    values = np.clip(truth[item_idx] + rng.integers(-1, 2, item_idx.size), 0, 3)

    # when
    ours = krippendorff_alpha_ordinal(item_idx, annotator_idx, values, n_items=n_items, n_annotators=n_annotators)
    theirs = krippendorff.alpha(
        reliability_data=_reliability_matrix(item_idx, annotator_idx, values, n_items, n_annotators),
        level_of_measurement="ordinal",
    )

    # then
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_krippendorff_alpha_perfect_agreement_is_one():
    # given: every item gets identical votes, two values in use -> no observed disagreement
    item_idx = np.array([0, 0, 1, 1, 2, 2])
    annotator_idx = np.array([0, 1, 0, 1, 0, 1])
    values = np.array([0, 0, 2, 2, 3, 3])

    # when / then
    assert krippendorff_alpha_ordinal(item_idx, annotator_idx, values, n_items=3, n_annotators=2) == pytest.approx(1.0)


def test_krippendorff_alpha_is_nan_without_pairable_items():
    # given: every item has a single vote
    item_idx, annotator_idx, values = np.array([0, 1]), np.array([0, 1]), np.array([1, 2])

    # when / then
    assert np.isnan(krippendorff_alpha_ordinal(item_idx, annotator_idx, values, n_items=2, n_annotators=2))
