"""Simulated annotators: the hidden parameters can be recovered from the labels they produce."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from datasets.core.synthetic import annotators as ann
from datasets.core.synthetic import generate_halo


@pytest.fixture(scope="module")
def medium():
    return generate_halo(n_clips=3000, seed=2)


def _voter_arrays(ds):
    voters = np.nonzero(ds.annotator_kind == 1)[0]
    params = [ds.annotator_params[a] for a in voters]
    return voters, {k: np.array([p[k] for p in params]) for k in ("bias", "noise_sd", "lapse_rate")}


def test_kappa_tolerant_on_a_hand_computed_table():
    # given: rows = rater A, columns = rater B
    table = np.array([[4, 1, 0, 0], [0, 2, 1, 0], [1, 0, 0, 1], [0, 0, 0, 0]])

    # when
    kappa1 = ann.kappa_tolerant(table, 1)

    # then: observed within +/-1 = 9/10 (only the (2, 0) pair is 2 apart);
    # p = (.5, .3, .2, 0), q = (.5, .3, .1, .1);
    # expected = .5*(.5+.3) + .3*(.5+.3+.1) + .2*(.3+.1+.1) = .4 + .27 + .1 = .77
    assert kappa1 == pytest.approx((0.9 - 0.77) / (1 - 0.77))


def test_kappa_tolerant_without_tolerance_is_cohens_kappa():
    # given
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 500)
    b = np.clip(a + rng.integers(-1, 2, 500), 0, 3)

    # when
    table = np.bincount(a * 4 + b, minlength=16).reshape(4, 4)

    # then
    assert ann.kappa_tolerant(table, 0) == pytest.approx(cohen_kappa_score(a, b))


def test_vote_confusion_of_a_noiseless_voter_is_a_clipped_shift():
    # given / when
    exact = ann.vote_confusion(0.0, 0.5, 0.2, 0.0)
    harsh = ann.vote_confusion(0.7, 0.5, 0.2, 0.0)

    # then: difficulty 0 removes noise and lapses; a bias of 0.7 rounds up one level
    assert np.allclose(exact, np.eye(4))
    assert np.allclose(harsh, np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]]))


def test_vote_confusion_matches_simulated_votes():
    # given
    voters = {"bias": np.array([0.25]), "noise_sd": np.array([0.6]), "lapse_rate": np.array([0.1])}
    true = np.repeat(np.arange(4), 50_000)
    rng = np.random.default_rng(3)

    # when
    votes = ann.simulate_votes(
        rng, true_severity=true, item_error=np.zeros(true.size, dtype=np.int64),
        item_panel=np.zeros((true.size, 1), dtype=np.int64), voters=voters,
        difficulty=np.array([1.3]),
    )[:, 0]
    observed = np.bincount(true * 4 + votes, minlength=16).reshape(4, 4) / 50_000

    # then
    expected = ann.vote_confusion(0.25, 0.6, 0.1, 1.3)
    assert np.allclose(expected.sum(axis=1), 1.0)
    assert np.abs(observed - expected).max() < 0.01


def test_assign_panels_draws_distinct_annotators_more_often_when_more_active():
    # given
    activity = np.array([1.0, 1.0, 1.0, 1.0, 4.0, 4.0, 4.0, 4.0])
    rng = np.random.default_rng(0)

    # when
    panels = ann.assign_panels(rng, 20_000, activity, 3)
    counts = np.bincount(panels.ravel(), minlength=8)

    # then
    assert np.all(np.diff(panels, axis=1) > 0)
    assert counts[4:].min() > 1.5 * counts[:4].max()
    with pytest.raises(ValueError, match="distinct"):
        ann.assign_panels(rng, 5, activity, 9)


def test_calibrated_difficulty_reaches_the_target_kappa1():
    # given
    rng = np.random.default_rng(0)
    voters = ann.draw_voters(rng, 50)
    probs = np.array([[0.6, 0.25, 0.1, 0.05], [0.1, 0.0, 0.1, 0.8]])
    target = np.array([0.95, 0.62])

    # when
    difficulty, achieved = ann.calibrate_difficulty(probs, target, voters)

    # then
    assert np.all(difficulty > 0)
    assert achieved == pytest.approx(target, abs=0.005)


def test_endpoint_jitter_and_bias_are_recovered_from_the_marks(medium):
    # given: every mark against the nearest true end of its clip
    key_true = medium.rep_clip.astype(np.int64) * 10**6 + medium.rep_true_end
    key_mark = medium.mark_clip.astype(np.int64) * 10**6 + medium.mark_frame
    pos = np.searchsorted(key_true, key_mark)
    candidates = np.stack([np.clip(pos - 1, 0, key_true.size - 1), np.clip(pos, 0, key_true.size - 1)])
    offset = key_mark[None, :] - key_true[candidates]
    offset = np.where(medium.rep_clip[candidates] == medium.mark_clip[None, :], offset, 10**6)
    nearest = offset[np.argmin(np.abs(offset), axis=0), np.arange(offset.shape[1])]
    matched = np.abs(nearest) <= 20  # drops the odd extra mark far from any end

    # when
    annotators = np.nonzero(medium.annotator_kind == 0)[0]
    a_of = medium.mark_annotator[matched]
    n = np.bincount(a_of, minlength=annotators.size)[annotators]
    mean = np.bincount(a_of, weights=nearest[matched], minlength=annotators.size)[annotators] / n
    sq = np.bincount(a_of, weights=nearest[matched] ** 2.0, minlength=annotators.size)[annotators] / n
    sd = np.sqrt(sq - mean**2)

    # then: jitter sd and bias (frames) as configured; rounding to frames adds 1/12 variance
    bias = np.array([medium.annotator_params[a]["bias_frames"] for a in annotators])
    jitter = np.array([medium.annotator_params[a]["jitter_sd_frames"] for a in annotators])
    assert n.min() >= 1000
    assert np.abs(mean - bias).max() < 0.25
    assert np.abs(sd - np.sqrt(jitter**2 + 1 / 12)).max() < 0.1 * jitter.max() + 0.1


def test_marks_per_clip_reflect_misses_and_extras(medium):
    # given
    reps_per_clip = np.bincount(medium.rep_clip, minlength=medium.n_clips)

    # when
    marks = medium.mark_clip.size

    # then: ~3 marks per repetition, a few missed, a few extra
    assert marks == pytest.approx(3 * reps_per_clip.sum(), rel=0.01)


def test_vote_accuracy_per_voter_matches_the_configured_confusion(medium):
    # given
    voters, params = _voter_arrays(medium)
    difficulty = np.array([p["vote_difficulty"] for p in medium.error_type_params])
    conf = ann.vote_confusion(params["bias"][:, None], params["noise_sd"][:, None],
                              params["lapse_rate"][:, None], difficulty[None, :])
    v = medium.vote_annotator - voters[0]
    err = medium.item_error_type[medium.vote_item]
    true = medium.item_true_severity[medium.vote_item]

    # when
    p_correct = conf[v, err, true, true]
    n = np.bincount(v, minlength=voters.size)
    observed = np.bincount(v, weights=(medium.vote_value == true), minlength=voters.size) / n
    expected = np.bincount(v, weights=p_correct, minlength=voters.size) / n
    se = np.sqrt(np.bincount(v, weights=p_correct * (1 - p_correct), minlength=voters.size)) / n

    # then: within 4.5 standard errors for every voter
    assert n.min() >= 1000
    assert np.all(np.abs(observed - expected) < 4.5 * se)
    assert medium.vote_confusion(int(voters[0]), 0) == pytest.approx(conf[0, 0])


def test_voter_kappa1_against_truth_matches_the_model(medium):
    # given: the expected vote table of every error type from the voters' confusion matrices
    voters, params = _voter_arrays(medium)
    difficulty = np.array([p["vote_difficulty"] for p in medium.error_type_params])
    conf = ann.vote_confusion(params["bias"][:, None], params["noise_sd"][:, None],
                              params["lapse_rate"][:, None], difficulty[None, :])
    v = medium.vote_annotator - voters[0]
    err = medium.item_error_type[medium.vote_item].astype(np.int64)
    true = medium.item_true_severity[medium.vote_item].astype(np.int64)
    expected = np.zeros((52, 4, 4))
    np.add.at(expected, (err, true), conf[v, err, true])
    observed = np.bincount(err * 16 + true * 4 + medium.vote_value, minlength=52 * 16).reshape(52, 4, 4)

    # when
    k_obs = ann.kappa_tolerant(observed, 1)
    k_exp = ann.kappa_tolerant(expected, 1)
    calibrated = np.array([p["annotator_kappa1"] for p in medium.error_type_params])

    # then: Kappa1 of votes vs truth is what the confusion predicts for the realised truth, and
    # lies in Table 9's range of annotator reliability (target / 0.85, from 0.59 to 0.97).
    # Error types whose realised classes make +/-1 chance agreement near-total are skipped:
    # their Kappa1 is 0/0-like (e.g. side lunge "foot not facing forward", 91 % class 2).
    q = expected.sum(axis=1) / expected.sum(axis=(1, 2))[:, None]
    p = expected.sum(axis=2) / expected.sum(axis=(1, 2))[:, None]
    tol1 = (np.abs(np.arange(4)[:, None] - np.arange(4)) <= 1).astype(float)
    chance = np.einsum("ei,ij,ej->e", p, tol1, q)
    stable = (1 - chance > 0.1) & (observed.sum(axis=(1, 2)) >= 2000)
    assert stable.sum() >= 30
    assert np.abs(k_obs - k_exp)[stable].max() < 0.05
    assert np.abs(k_obs - calibrated)[stable].mean() < 0.04
    assert k_obs[stable].min() > 0.45
