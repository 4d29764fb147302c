"""Two-stage majority rules, Krippendorff's alpha on slot marks, and the FLEX metrics (kg.core)."""
import krippendorff
import numpy as np
import pytest
from scipy import stats

from kg.core.agreement import binary_alpha, grouped_binary_alpha
from kg.core.metrics import r_l2, r_l2_x100, spearman_rho
from kg.core.two_stage import NotFinal, Status, finalise, settle, stage1_proposal


def test_proposal_is_the_per_slot_majority_of_three_sets():
    # given: slot 0 marked by 3, slot 1 by 2, slot 2 by 1, slot 3 by none
    marks = np.array([[[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]]], dtype=bool)
    # when
    proposal, complete = stage1_proposal(marks)
    # then
    assert proposal.tolist() == [[True, True, False, False]]
    assert complete.tolist() == [True]


def test_three_approvals_finalise_the_proposal():
    proposal, final = finalise([[0, 1], [0, 2], [0]], [[0], [0], [0]], n_slots=4)
    assert proposal == [0] and final == [0]


def test_final_is_the_per_slot_majority_of_three_reviews():
    # given: proposal {0}; reviews {0, 2}, {2}, {0} -> slot 0 by 2 of 3, slot 2 by 2 of 3
    proposal, final = finalise([[0], [0], [1]], [[0, 2], [2], [0]], n_slots=3)
    assert proposal == [0]
    assert final == [0, 2]


def test_two_agreeing_reviews_settle_every_slot():
    # the third review cannot change a 2-0 majority
    assert finalise([[1], [1], [1]], [[1, 3], [1, 3]], n_slots=4)[1] == [1, 3]


def test_a_tie_with_a_missing_reviewer_is_refused():
    # given: two reviews that disagree on slot 2, the third reviewer missing
    with pytest.raises(NotFinal) as info:
        finalise([[0], [0], [0]], [[0, 2], [0]], n_slots=3)
    # then
    assert info.value.status == Status.TIED
    assert info.value.tied == [2]


def test_the_third_review_breaks_the_tie():
    assert finalise([[0], [0], [0]], [[0, 2], [0], [0, 2]], n_slots=3)[1] == [0, 2]


@pytest.mark.parametrize("stage1, reviews, status", [
    ([[0], [0]], [], Status.STAGE1_OPEN),
    ([[0], [0], [0]], [], Status.STAGE2_OPEN),
    ([[0], [0], [0]], [[0]], Status.STAGE2_OPEN),
    ([[0], [0], [0]], [[0], [1]], Status.TIED),
])
def test_samples_that_cannot_be_final_say_why(stage1, reviews, status):
    with pytest.raises(NotFinal) as info:
        finalise(stage1, reviews, n_slots=2)
    assert info.value.status == status


def test_settle_works_on_many_samples_with_padding():
    # given: two samples of actions with 3 and 2 slots, padded to 3 columns
    stage1 = np.zeros((2, 3, 3), dtype=bool)
    stage1[0, :, 0] = True
    stage1[1, :2, 1] = True
    reviews = np.zeros((2, 3, 3), dtype=bool)
    reviews[0, :, 0] = True
    reviews[1, :2, 1] = True
    valid = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    # when
    result = settle(stage1, [3, 3], reviews, [3, 2], valid)
    # then
    assert result.status.tolist() == [Status.FINAL, Status.FINAL]
    assert result.final.tolist() == [[True, False, False], [False, True, False]]


def test_settle_refuses_marks_beyond_the_sets_present():
    stage1 = np.ones((1, 3, 2), dtype=bool)
    with pytest.raises(ValueError, match="beyond"):
        settle(stage1, [2], np.zeros((1, 3, 2), bool), [0], np.ones((1, 2), bool))


def test_binary_alpha_hand_computed():
    # given: 2 coders, 4 units: (1,1) (0,0) (1,0) (0,0)
    # n = 8, n1 = 3, n0 = 5, o01 = 1 -> alpha = 1 - 7 * 1 / 15 = 0.5333...
    marks = np.array([[1, 0, 1, 0], [1, 0, 0, 0]], dtype=float)
    assert binary_alpha(marks) == pytest.approx(1 - 7 / 15)


def test_binary_alpha_matches_krippendorff_on_random_data_with_missing_values():
    rng = np.random.default_rng(3)
    for _ in range(5):
        marks = (rng.random((3, 200)) < rng.uniform(0.1, 0.6)).astype(float)
        marks[rng.random(marks.shape) < 0.15] = np.nan
        expected = krippendorff.alpha(reliability_data=marks, level_of_measurement="nominal")
        assert binary_alpha(marks) == pytest.approx(expected, abs=1e-10)


def test_grouped_alpha_equals_alpha_of_each_group_alone():
    # given: 300 units of 3 coders in 4 groups
    rng = np.random.default_rng(5)
    truth = rng.random(300) < 0.3
    marks = np.where(rng.random((3, 300)) < 0.85, truth, ~truth).astype(float)
    groups = rng.integers(0, 4, 300)
    # when
    alphas = grouped_binary_alpha(marks.sum(axis=0), np.full(300, 3), groups, 4)
    # then
    for g in range(4):
        expected = krippendorff.alpha(reliability_data=marks[:, groups == g], level_of_measurement="nominal")
        assert alphas[g] == pytest.approx(expected, abs=1e-10)


def test_alpha_is_nan_without_variation():
    assert np.isnan(binary_alpha(np.zeros((3, 10))))


def test_spearman_and_r_l2_follow_the_flex_code():
    # given
    true = np.array([40.0, 55.0, 70.0, 90.0])
    pred = np.array([45.0, 50.0, 72.0, 88.0])
    # then: R-l2 range is over the evaluated true scores (90 - 40 = 50), not x100
    expected = np.mean(((pred - true) / 50.0) ** 2)
    assert r_l2(pred, true) == pytest.approx(expected) == pytest.approx((25 + 25 + 4 + 4) / 4 / 2500)
    assert r_l2_x100(pred, true) == pytest.approx(100 * expected)
    assert r_l2(pred, true, score_range=(40.99, 93.79)) == pytest.approx(np.mean(((pred - true) / 52.8) ** 2))
    assert spearman_rho(pred, true) == pytest.approx(stats.spearmanr(pred, true).statistic) == pytest.approx(1.0)
