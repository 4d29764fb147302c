import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import MajorityVote

from annotation.core.votes import aggregate_votes


def test_aggregate_votes_hand_computed():
    # given
    # item 0: votes 0, 1, 1 -> histogram [1, 2, 0, 0], mean (0 + 1 + 1) / 3 = 2/3, majority 1
    # item 1: votes 2, 3    -> histogram [0, 0, 1, 1], mean 5 / 2 = 2.5, tie 2 vs 3 -> lower: 2
    # item 2: no votes      -> count 0, mean NaN, majority -1
    # item 3: vote 3        -> histogram [0, 0, 0, 1], mean 3, majority 3
    item_idx = np.array([0, 1, 0, 3, 0, 1])
    values = np.array([0, 2, 1, 3, 1, 3])

    # when
    summary = aggregate_votes(item_idx, values, n_items=4)

    # then
    np.testing.assert_array_equal(summary.histogram, [[1, 2, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(summary.count, [3, 2, 0, 1])
    np.testing.assert_allclose(summary.mean, [2 / 3, 2.5, np.nan, 3.0])
    np.testing.assert_array_equal(summary.majority, [1, 2, -1, 3])


def test_three_way_tie_goes_to_lowest_class():
    # given: one vote each for 1, 2 and 3 -> all tied at 1, lowest is 1
    item_idx = np.array([0, 0, 0])
    values = np.array([3, 1, 2])

    # when
    summary = aggregate_votes(item_idx, values, n_items=1)

    # then
    assert summary.majority[0] == 1
    assert summary.mean[0] == pytest.approx(2.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_majority_equals_crowdkit_majority_vote_including_ties(seed):
    # given: 3 votes of 4 classes per item, so many items are tied
    rng = np.random.default_rng(seed)
    n_items, per_item = 3000, 3
    item_idx = np.repeat(np.arange(n_items), per_item)
    worker = rng.integers(0, 50, item_idx.size)
    values = rng.integers(0, 4, item_idx.size)
    data = pd.DataFrame({"task": item_idx, "worker": worker, "label": values})

    # when
    ours = aggregate_votes(item_idx, values, n_items=n_items).majority
    theirs = MajorityVote().fit_predict(data).sort_index().to_numpy()

    # then: crowd-kit's idxmax over sorted label columns also picks the lowest tied label
    np.testing.assert_array_equal(ours, theirs)


def test_histogram_rows_sum_to_counts_and_mean_matches_bincount():
    # given
    rng = np.random.default_rng(7)
    item_idx = rng.integers(0, 500, 20_000)
    values = rng.integers(0, 4, 20_000)

    # when
    summary = aggregate_votes(item_idx, values, n_items=500)

    # then
    expected_mean = np.bincount(item_idx, weights=values, minlength=500) / np.bincount(item_idx, minlength=500)
    np.testing.assert_allclose(summary.mean, expected_mean)
    np.testing.assert_array_equal(summary.histogram.sum(axis=1), summary.count)


def test_value_out_of_range_is_rejected():
    with pytest.raises(ValueError, match=r"values must lie in \[0, 4\)"):
        aggregate_votes(np.array([0]), np.array([4]), n_items=1)


def test_item_out_of_range_is_rejected():
    with pytest.raises(ValueError, match=r"item_idx must lie in \[0, 2\)"):
        aggregate_votes(np.array([2]), np.array([0]), n_items=2)


def test_no_votes_gives_empty_summary_rows():
    # when
    summary = aggregate_votes(np.array([], dtype=int), np.array([], dtype=int), n_items=2)

    # then
    np.testing.assert_array_equal(summary.count, [0, 0])
    np.testing.assert_array_equal(summary.majority, [-1, -1])
    assert np.isnan(summary.mean).all()
