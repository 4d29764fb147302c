"""Seed metrics: hand-computed cases, and scikit-learn / scipy / FitCoach-semantics references."""
import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import average_precision_score, cohen_kappa_score, precision_recall_fscore_support

import annotation.core.agreement as agreement
from tasks.core import metrics
from tasks.core.metrics import (
    average_precision_iou,
    count_mae,
    eorl,
    eorl_matches,
    l2,
    map_at_iou,
    obo,
    precision_recall_f1,
    r_l2,
    segment_f1,
    spearman_rho,
    temporal_iou,
    temporal_match,
    temporal_prf,
)


# --- Kappa0 / Kappa1 (seed 000): re-exported, not reimplemented -------------------------------

def test_kappas_are_the_agreement_modules_own_functions():
    # then
    assert metrics.cohen_kappa is agreement.cohen_kappa
    assert metrics.kappa0 is agreement.kappa0
    assert metrics.kappa1 is agreement.kappa1


def test_kappa1_on_a_hand_computed_case():
    # given: observed within +/-1 = 3/4; marginals true (.5, .25, .25, 0), pred (.25, .25, .25, .25)
    y_true = [0, 0, 1, 2]
    y_pred = [0, 3, 1, 2]
    # expected = sum_ij p_i q_j [|i-j|<=1] = .5*(.25+.25) + .25*(.75) + .25*(.75) = .625
    # when
    k1 = metrics.kappa1(y_true, y_pred)
    # then
    assert k1 == pytest.approx((0.75 - 0.625) / (1 - 0.625))
    assert metrics.kappa0(y_true, y_pred) == pytest.approx(cohen_kappa_score(y_true, y_pred))


# --- OBO, MAE (seed 000 §6.1) -----------------------------------------------------------------

def test_obo_counts_clips_off_by_at_most_one():
    # given: errors 1, 0, 3, 1
    # when
    value = obo([3, 5, 10, 0], [4, 5, 7, 1])
    # then
    assert value == pytest.approx(3 / 4)


def test_count_mae_is_normalised_by_the_true_count():
    # given: |3-4|/4, |5-5|/5, |10-8|/8
    # when
    value = count_mae([3, 5, 10], [4, 5, 8])
    # then
    assert value == pytest.approx((0.25 + 0 + 0.25) / 3)


@pytest.mark.parametrize(("pred", "true", "message"), [
    ([1, 2], [0, 2], "positive"),
    ([1, 2], [1, 2, 3], "same length"),
    ([], [], "no clips"),
])
def test_count_mae_refuses_bad_input(pred, true, message):
    # when / then
    with pytest.raises(ValueError, match=message):
        count_mae(pred, true)


# --- EORL(K) (seed 000 §6.1 Eq. 1) ------------------------------------------------------------

CLIP_PRED = [[1.0, 2.1, 3.5], [0.5]]
CLIP_TRUE = [[1.2, 2.0, 3.0, 4.0], [0.4]]


@pytest.mark.parametrize(("k_s", "kwargs", "expected"), [
    # clip 1: 1.0-1.2 and 2.1-2.0 match; 3.5 is exactly 0.5 from 3.0 and 4.0 (strict <): 2 of max(3, 4)
    (0.5, {}, (2 / 4 + 1 / 1) / 2),
    (0.5, {"average": "rep"}, (2 + 1) / (4 + 1)),
    (0.5, {"denominator": "pred"}, (2 / 3 + 1) / 2),
    (0.5, {"denominator": "true"}, (2 / 4 + 1) / 2),
    # K = 1: 3.5-3.0 now matches too
    (1.0, {}, (3 / 4 + 1) / 2),
])
def test_eorl_on_hand_computed_clips(k_s, kwargs, expected):
    # when
    value = eorl(CLIP_PRED, CLIP_TRUE, k_s, **kwargs)
    # then
    assert value == pytest.approx(expected)


@pytest.mark.parametrize(("pred", "true", "expected"), [
    ([[]], [[]], 1.0),
    ([[]], [[1.0]], 0.0),
    ([[1.0, 1.1]], [[1.05]], 0.5),
])
def test_eorl_edge_clips(pred, true, expected):
    # when / then
    assert eorl(pred, true) == pytest.approx(expected)


def test_eorl_wants_a_list_of_clips():
    # when / then: a flat list of end times is one clip's data, not a list of clips
    with pytest.raises(ValueError, match="list of clips"):
        eorl([1.0, 2.0], [1.0, 2.0])


@pytest.mark.parametrize("seed", range(6))
def test_eorl_matching_is_a_maximum_one_to_one_matching(seed):
    # given: dense ends, so that many windows overlap
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0, 10, rng.integers(0, 25))
    true = rng.uniform(0, 10, rng.integers(0, 25))
    valid = np.abs(pred[:, None] - true[None, :]) < 0.5
    rows, cols = linear_sum_assignment(valid.astype(float), maximize=True)
    # when
    matched = eorl_matches(pred, true, 0.5)
    # then
    assert matched == int(valid[rows, cols].sum())


# --- precision / recall / F1 (seed 000 Table 10) ----------------------------------------------

def test_precision_recall_f1_on_a_hand_computed_case():
    # given
    y_true = [0, 0, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0]
    # when
    prf = precision_recall_f1(y_true, y_pred)
    # then: class 2 is never predicted -> precision 0 (zero_division=0)
    np.testing.assert_allclose(prf.precision, [0.5, 2 / 3, 0.0])
    np.testing.assert_allclose(prf.recall, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(prf.f1, [0.5, 0.8, 0.0])
    np.testing.assert_array_equal(prf.support, [2, 2, 1])
    assert prf.macro_f1 == pytest.approx((0.5 + 0.8) / 3)


@pytest.mark.parametrize(("seed", "labels"), [(0, None), (1, None), (2, [3, 0, 5]), (3, [1, 2])])
def test_precision_recall_f1_matches_scikit_learn(seed, labels):
    # given
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 6, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 6, 300))
    # when
    prf = precision_recall_f1(y_true, y_pred, labels=labels)
    # then
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(prf.precision, p)
    np.testing.assert_allclose(prf.recall, r)
    np.testing.assert_allclose(prf.f1, f)
    np.testing.assert_array_equal(prf.support, s)
    macro = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    assert (prf.macro_precision, prf.macro_recall, prf.macro_f1) == pytest.approx(macro[:3])


def test_precision_recall_f1_accepts_string_labels():
    # given
    y_true = np.array(["squat", "lunge", "squat", "plank"])
    y_pred = np.array(["squat", "squat", "squat", "plank"])
    # when
    prf = precision_recall_f1(y_true, y_pred)
    # then
    assert list(prf.labels) == ["lunge", "plank", "squat"]
    np.testing.assert_allclose(prf.recall, [0.0, 1.0, 1.0])


# --- Spearman's rho, L2, R-l2 (seed 002, FLEX) ------------------------------------------------

def test_spearman_rho_on_a_hand_computed_case():
    # given: true ranks 1, 3, 2, 4 -> sum d^2 = 2 -> 1 - 6*2 / (4*15)
    # when
    rho = spearman_rho([1, 2, 3, 4], [10, 30, 20, 40])
    # then
    assert rho == pytest.approx(0.8)


def test_spearman_rho_matches_scipy_with_ties():
    # given
    rng = np.random.default_rng(0)
    true = rng.integers(20, 100, 200).astype(float)
    pred = true + rng.normal(0, 15, 200)
    # when / then
    assert spearman_rho(pred, true) == pytest.approx(stats.spearmanr(pred, true).statistic)


def test_spearman_rho_of_a_constant_is_nan():
    # when / then
    assert np.isnan(spearman_rho([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_l2_and_r_l2_on_a_hand_computed_case():
    # given: errors -10, -10; evaluated true range 80 - 60 = 20
    pred, true = [50.0, 70.0], [60.0, 80.0]
    # when / then
    assert l2(pred, true) == pytest.approx(100.0)
    assert r_l2(pred, true) == pytest.approx(0.25)
    assert r_l2(pred, true, score_range=(0.0, 100.0)) == pytest.approx(0.01)


def test_r_l2_follows_the_flex_code_on_random_scores():
    # given: FLEX-like scores in the per-action observed ranges (formats.md section 1)
    rng = np.random.default_rng(1)
    true = rng.uniform(22.16, 96.41, 150)
    pred = true + rng.normal(0, 5, 150)
    # when
    value = r_l2(pred, true)
    # then: tools/runner.py: power((pred - true) / (true.max() - true.min()), 2).sum() / n
    assert value == pytest.approx(np.power((pred - true) / (true.max() - true.min()), 2).sum() / 150)
    assert l2(pred, true) == pytest.approx(np.power(pred - true, 2).sum() / 150)


def test_r_l2_refuses_a_zero_range():
    # when / then
    with pytest.raises(ValueError, match="positive score range"):
        r_l2([1.0, 2.0], [5.0, 5.0])


# --- temporal F-score (seed 003, QEVD / FitCoach) ---------------------------------------------

def fitcoach_alignment(ref, other, tolerance=3.0):
    """Oracle: the matching rule of FitCoach ``_get_alignment_matrix`` (formats.md 2.3), restated."""
    ref, other = np.asarray(ref, float), np.asarray(other, float)
    rows, cols, last = [], [], -1
    for i, x in enumerate(ref):
        j = int(np.argmin((other - x) ** 2))
        if abs(x - other[j]) < tolerance / 2.0 and j > last and j not in cols:
            rows.append(i)
            cols.append(j)
            last = j
    return rows, cols


def test_temporal_prf_on_hand_computed_videos():
    # given
    # video 1, recall pass: 1.0->1.4 ok; 5.0's nearest is 2.0 (tie with 8.0, first wins), 3 s off;
    #   9.0->8.0 ok: 2 of 3. Precision pass: 1.4->1.0 ok; 2.0->1.0 already used; 8.0->9.0 ok;
    #   20.0 too far: 2 of 4.
    # video 2: no ground truth, one prediction.
    pred = [[1.4, 2.0, 8.0, 20.0], [3.0]]
    true = [[1.0, 5.0, 9.0], []]
    # when
    result = temporal_prf(pred, true)
    # then: micro totals over both videos
    assert (result.matched_true, result.matched_pred, result.n_true, result.n_pred) == (2, 2, 3, 5)
    assert result.precision == pytest.approx(2 / 5)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f_score == pytest.approx(2 * (0.4 * 2 / 3) / (0.4 + 2 / 3))


def test_temporal_window_is_strict_at_one_and_a_half_seconds():
    # when / then
    assert temporal_match([10.0], [11.5]) == ([], [])
    assert temporal_match([10.0], [11.49]) == ([0], [0])


@pytest.mark.parametrize("seed", range(8))
def test_temporal_match_follows_the_fitcoach_rule_on_random_timelines(seed):
    # given: unsorted predictions too, which the evaluator does not sort
    rng = np.random.default_rng(seed)
    true = np.sort(rng.uniform(0, 30, rng.integers(1, 15)))
    pred = rng.uniform(0, 30, rng.integers(1, 15))
    # when / then
    assert temporal_match(true, pred) == fitcoach_alignment(true, pred)
    assert temporal_match(pred, true) == fitcoach_alignment(pred, true)


# --- segments: IoU, F1, AP, mAP (seeds 001, 004, Fitness-AQA) ---------------------------------

def test_temporal_iou_is_the_standard_one():
    # given
    a = [[0.0, 2.0], [0.0, 1.0], [0.0, 4.0]]
    b = [[1.0, 3.0], [2.0, 3.0], [1.0, 2.0]]
    # when
    iou = temporal_iou(a, b)
    # then: overlap 1/3; disjoint 0 (UMAP25's abs() would say 1/3); containment 1/4
    assert np.diag(iou) == pytest.approx([1 / 3, 0.0, 0.25])


def test_segment_f1_on_hand_computed_clips():
    # given: clip 1 has one match (IoU 2/2.2) of 2 predictions and 2 truths; clip 2 one missed truth
    pred = [[[0.0, 2.0], [5.0, 6.0]], []]
    true = [[[0.0, 2.2], [10.0, 11.0]], [[1.0, 2.0]]]
    # when
    result = segment_f1(pred, true)
    # then
    assert (result.tp, result.n_pred, result.n_true) == (1, 2, 3)
    assert result.f1 == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))


def test_segment_f1_finds_the_largest_matching_not_the_greedy_one():
    # given: A-X has the best IoU (0.9), but A-Y (0.67) and B-X (0.7) match both
    pred = [[[0.0, 9.0], [3.0, 10.0]]]
    true = [[[0.0, 10.0], [0.0, 6.0]]]
    # when
    result = segment_f1(pred, true)
    # then
    assert result.tp == 2


def test_average_precision_on_a_hand_computed_ranking():
    # given: 3 truths in 3 clips; ranked detections TP, FP, FP, TP, TP (+ one duplicate FP last)
    true = [[[0.0, 1.0]], [[0.0, 1.0]], [[0.0, 1.0]]]
    pred = [[[0.0, 1.0], [5.0, 6.0], [0.0, 1.0]], [[5.0, 6.0], [0.0, 1.0]], [[0.0, 1.0]]]
    scores = [[0.9, 0.8, 0.1], [0.7, 0.6], [0.5]]
    # when
    all_point = average_precision_iou(pred, scores, true)
    step = average_precision_iou(pred, scores, true, interpolation="none")
    # then: precisions at the TPs are 1, 2/4, 3/5; the envelope lifts 2/4 to 3/5
    assert step == pytest.approx((1 + 2 / 4 + 3 / 5) / 3)
    assert all_point == pytest.approx((1 + 3 / 5 + 3 / 5) / 3)


def test_average_precision_counts_undetected_truths_and_duplicates():
    # given: two truths; one detected twice (the second is a false positive), one never detected
    true = [[[0.0, 1.0], [4.0, 5.0]]]
    pred = [[[0.0, 1.0], [0.1, 1.0]]]
    scores = [[0.9, 0.8]]
    # when
    ap = average_precision_iou(pred, scores, true)
    # then: recall stops at 1/2 with precision 1
    assert ap == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_scikit_learn_when_matching_is_trivial(seed):
    # given: one truth and one detection per clip, the detection either exact (TP) or elsewhere
    # (FP), so matching is trivial and AP is the ranking AP of the TP flags
    rng = np.random.default_rng(seed)
    n = 60
    hit = rng.random(n) < 0.5
    hit[0] = True
    scores = rng.permutation(n) / n + hit * rng.uniform(0, 0.5, n)
    true = [[[10.0 * i, 10.0 * i + 2.0]] for i in range(n)]
    pred = [[[10.0 * i, 10.0 * i + 2.0]] if h else [[10.0 * i + 5.0, 10.0 * i + 6.0]]
            for i, h in enumerate(hit)]
    per_clip_scores = [[s] for s in scores]
    # when
    step = average_precision_iou(pred, per_clip_scores, true, interpolation="none")
    all_point = average_precision_iou(pred, per_clip_scores, true)
    # then: scikit-learn divides recall by the detected truths, detection AP by all truths (the
    # missed ones cap recall at hits / n), hence the factor
    assert step == pytest.approx(average_precision_score(hit, scores) * hit.mean())
    assert all_point >= step - 1e-12


def test_average_precision_equals_scikit_learn_when_every_truth_is_detected():
    # given: every clip's truth is detected exactly; false positives sit between the true
    # positives in growing runs (0, 1, 1, 2, 2, 3, ...), so the precision at the true positives
    # never rises and all-point interpolation changes nothing
    n = 12
    gaps = np.arange(n) // 2 + np.arange(n) % 2
    ranking = np.concatenate([np.r_[np.zeros(g), 1.0] for g in gaps])
    scores = np.linspace(1.0, 0.01, ranking.size)
    tp_scores, fp_scores = scores[ranking == 1], scores[ranking == 0]
    true = [[[10.0 * i, 10.0 * i + 2.0]] for i in range(n)]
    pred = [[[10.0 * i, 10.0 * i + 2.0]] for i in range(n)] + [[[5.0, 6.0]] * fp_scores.size]
    per_clip_scores = [[s] for s in tp_scores] + [list(fp_scores)]
    true = true + [[]]
    # when
    ap = average_precision_iou(pred, per_clip_scores, true)
    # then
    assert ap == pytest.approx(average_precision_score(ranking, scores))
    assert ap < 0.9


def test_map_at_iou_averages_classes_with_ground_truth():
    # given: knees_forward is perfect; elbows has its only detection ranked after a false positive
    true = {
        "knees_forward": [[[0.0, 1.0]], []],
        "elbows": [[], [[2.0, 3.0]]],
        "knees_inward": [[], []],
    }
    pred = {
        "knees_forward": ([[[0.0, 1.0]], []], [[0.9], []]),
        "elbows": ([[[7.0, 8.0]], [[2.0, 3.0]]], [[0.9], [0.8]]),
    }
    # when
    m_ap, per_class = map_at_iou(pred, true, iou=0.5)
    # then: elbows AP = 1/2; knees_inward has no truth -> NaN, left out of the mean
    assert per_class["knees_forward"] == pytest.approx(1.0)
    assert per_class["elbows"] == pytest.approx(0.5)
    assert np.isnan(per_class["knees_inward"])
    assert m_ap == pytest.approx(0.75)
