import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

from annotation.core.dawid_skene import DawidSkene


def _noisy_votes(seed, n_items=2000, n_annotators=10, per_item=5):
    """Ordinal truth, annotators from reliable (90 %) to spammers (random), 5 of 10 per item."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(4, size=n_items, p=[0.5, 0.25, 0.15, 0.1])
    item_idx = np.repeat(np.arange(n_items), per_item)
    annotator_idx = np.argsort(rng.random((n_items, n_annotators)), axis=1)[:, :per_item].ravel()
    accuracy = np.linspace(0.9, 0.25, n_annotators)
    correct = rng.random(item_idx.size) < accuracy[annotator_idx]
    off_by_one = np.clip(truth[item_idx] + rng.choice([-1, 1], item_idx.size), 0, 3)
    spam = rng.integers(0, 4, item_idx.size)
    wrong = np.where(rng.random(item_idx.size) < 0.5, off_by_one, spam)
    return item_idx, annotator_idx, np.where(correct, truth[item_idx], wrong), truth


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_labels_equal_crowdkit_dawid_skene(seed):
    # given
    item_idx, annotator_idx, values, _ = _noisy_votes(seed)
    data = pd.DataFrame({"task": item_idx, "worker": annotator_idx, "label": values})

    # when
    ours = DawidSkene(max_iter=100, tol=1e-5).fit(item_idx, annotator_idx, values)
    theirs = CrowdKitDawidSkene(n_iter=100, tol=1e-5).fit(data)

    # then: same labels, same number of iterations, same loss curve and posteriors
    np.testing.assert_array_equal(ours.labels_, theirs.labels_.sort_index().to_numpy())
    assert ours.n_iter_ == len(theirs.loss_history_)
    np.testing.assert_allclose(ours.loss_history_, theirs.loss_history_, rtol=1e-10)
    np.testing.assert_allclose(ours.probas_, theirs.probas_.sort_index().to_numpy(), atol=1e-9)
    np.testing.assert_allclose(ours.priors_, theirs.priors_.sort_index().to_numpy(), atol=1e-12)


def test_fixed_iteration_count_equals_crowdkit():
    # given: tol=0 forces exactly n_iter iterations in both (as in the benchmark)
    item_idx, annotator_idx, values, _ = _noisy_votes(7, n_items=500)
    data = pd.DataFrame({"task": item_idx, "worker": annotator_idx, "label": values})

    # when
    ours = DawidSkene(max_iter=10, tol=0.0).fit(item_idx, annotator_idx, values)
    theirs = CrowdKitDawidSkene(n_iter=10, tol=0.0).fit(data)

    # then
    assert ours.n_iter_ == 10
    np.testing.assert_array_equal(ours.labels_, theirs.labels_.sort_index().to_numpy())


def test_dawid_skene_beats_majority_vote_when_spammers_dominate():
    # given
    item_idx, annotator_idx, values, truth = _noisy_votes(5)
    majority = np.argmax(
        np.bincount(item_idx * 4 + values, minlength=truth.size * 4).reshape(-1, 4), axis=1
    )

    # when
    labels = DawidSkene().fit_predict(item_idx, annotator_idx, values)

    # then: DS learns who to trust
    assert (labels == truth).mean() > (majority == truth).mean()


def test_zero_iterations_is_the_majority_vote_initialisation():
    # given
    # item 0: a0=0, a1=0, a2=1 -> vote shares [2/3, 1/3]; item 1: a0=1, a1=1, a2=1 -> [0, 1]
    # priors = mean shares = [1/3, 2/3, 0, 0]
    # annotator 0 expected counts (vote k, true c): (0,0)=2/3, (0,1)=1/3, (1,0)=0 -> eps, (1,1)=1
    #   column "true 1" = [1/3, 1] / (4/3) = [1/4, 3/4]
    item_idx = np.array([0, 0, 0, 1, 1, 1])
    annotator_idx = np.array([0, 1, 2, 0, 1, 2])
    values = np.array([0, 0, 1, 1, 1, 1])

    # when
    model = DawidSkene(max_iter=0).fit(item_idx, annotator_idx, values)

    # then
    np.testing.assert_allclose(model.probas_, [[2 / 3, 1 / 3, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_allclose(model.priors_, [1 / 3, 2 / 3, 0, 0])
    np.testing.assert_allclose(model.confusions_[0, :, 1], [1 / 4, 3 / 4, 0, 0])
    np.testing.assert_array_equal(model.labels_, [0, 1])
    assert model.n_iter_ == 0


def test_unanimous_votes_are_recovered():
    # given: three annotators agree on every item
    item_idx = np.repeat(np.arange(4), 3)
    annotator_idx = np.tile(np.arange(3), 4)
    values = np.repeat([0, 1, 2, 3], 3)

    # when
    model = DawidSkene().fit(item_idx, annotator_idx, values)

    # then
    np.testing.assert_array_equal(model.labels_, [0, 1, 2, 3])
    np.testing.assert_allclose(model.probas_.max(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(model.confusions_.sum(axis=1), 1.0)


def test_items_without_votes_get_prior_and_label_minus_one():
    # given: item 1 and annotator 2 have no votes, class 3 is never voted
    item_idx = np.array([0, 0, 2, 2])
    annotator_idx = np.array([0, 1, 0, 1])
    values = np.array([0, 0, 1, 2])

    # when
    model = DawidSkene().fit(item_idx, annotator_idx, values, n_items=3, n_annotators=3)

    # then
    assert model.labels_[1] == -1
    np.testing.assert_allclose(model.probas_[1], model.priors_)
    assert model.probas_[:, 3].max() == 0.0
    np.testing.assert_allclose(model.confusions_[2], 0.25)
    np.testing.assert_allclose(model.probas_.sum(axis=1), 1.0)


def test_hyperparameters_are_stored_unchanged():
    model = DawidSkene(n_classes=3, max_iter=7, tol=0.5, eps=1e-6)
    assert (model.n_classes, model.max_iter, model.tol, model.eps) == (3, 7, 0.5, 1e-6)


def test_out_of_range_vote_is_rejected_in_fit():
    with pytest.raises(ValueError, match=r"values must lie in \[0, 4\)"):
        DawidSkene().fit(np.array([0]), np.array([0]), np.array([5]))
