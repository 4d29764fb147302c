"""Participant-disjoint stratified splitting (seed 000: splits by participant ID, zero/few-shot)."""
import numpy as np
import pytest

from datasets.core.splitting import (
    EXCLUDED,
    TEST,
    TRAIN,
    VAL,
    check_disjoint,
    clip_ids_by_split,
    manifest_hash,
    split_balance,
    split_by_group,
)

HOLDOUT = (4, 5)


def make_clips(seed, n_groups=80, n_exercises=8, max_clips=40):
    """Random Halo-like clips: participants with 5..max_clips clips, personal exercise mixes,
    severity that depends on the participant's skill."""
    rng = np.random.default_rng(seed)
    per = rng.integers(5, max_clips + 1, size=n_groups)
    group = np.repeat(np.arange(n_groups), per)
    skill = rng.choice(3, size=n_groups, p=[0.3, 0.5, 0.2])
    prefs = rng.dirichlet(np.full(n_exercises, 0.7), size=n_groups)
    exercise = np.array([rng.choice(n_exercises, p=prefs[g]) for g in group])
    severity_p = np.array([[0.4, 0.3, 0.2, 0.1], [0.6, 0.2, 0.15, 0.05], [0.8, 0.1, 0.07, 0.03]])
    severity = (rng.random(group.size)[:, None] > np.cumsum(severity_p[skill[group]], 1)).sum(1)
    return group, exercise, severity, skill


def shuffle_split(group, ratios, seed):
    """Reference: shuffle participants, cut the cumulative clip count at the ratios."""
    rng = np.random.default_rng(seed)
    ids = np.unique(group)
    perm = rng.permutation(ids)
    sizes = np.bincount(group)[perm]
    cut = np.searchsorted(np.cumsum(ratios)[:2], np.cumsum(sizes) / group.size, side="left")
    split_of = np.zeros(group.max() + 1, dtype=np.int8)
    split_of[perm] = cut
    return split_of[group]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_is_participant_disjoint_and_complete(seed):
    # given
    group, exercise, severity, skill = make_clips(seed)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, clip_strata=severity,
                            group_strata=skill, seed=seed)
    # then
    assert check_disjoint(group, result.assignment) == []
    assert result.assignment.dtype == np.int8
    assert set(np.unique(result.assignment)) == {TRAIN, VAL, TEST}
    assert sum(result.counts["clips"][s] for s in ("train", "val", "test")) == group.size
    assert result.counts["groups"]["excluded"] == 0


def test_split_follows_the_ratios_within_a_few_percent():
    # given
    group, exercise, severity, skill = make_clips(5, n_groups=300)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, clip_strata=severity,
                            group_strata=skill, ratios=(0.6, 0.1, 0.3))
    # then
    shares = np.bincount(result.assignment, minlength=3) / group.size
    np.testing.assert_allclose(shares, [0.6, 0.1, 0.3], atol=0.02)
    assert result.size_deviation == pytest.approx(np.abs(shares - [0.6, 0.1, 0.3]).max())
    groups = np.array([result.counts["groups"][s] for s in ("train", "val", "test")])
    np.testing.assert_allclose(groups / 300, [0.6, 0.1, 0.3], atol=0.03)


def test_a_zero_ratio_leaves_its_split_empty():
    # given
    group, exercise, _, _ = make_clips(6)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, ratios=(0.8, 0.0, 0.2))
    # then
    assert result.counts["clips"]["val"] == 0
    assert result.counts["clips"]["train"] > result.counts["clips"]["test"] > 0


def test_check_disjoint_names_participants_in_two_splits():
    # given
    group = np.array([0, 0, 1, 1, 2, 2, 3])
    assignment = np.array([0, 0, 0, 2, 1, EXCLUDED, 1], dtype=np.int8)
    # when
    offenders = check_disjoint(group, assignment)
    # then: participant 2's excluded clip does not count
    assert offenders == [1]


@pytest.mark.parametrize(("ratios", "message"), [
    ((0.7, 0.2, 0.2), "sum to 1"),
    ((0.7, 0.15, 0.1499), "sum to 1"),
    ((1.2, -0.1, -0.1), "non-negative"),
    ((0.5, 0.5), "three numbers"),
    ((0.7, float("nan"), 0.3), "non-negative"),
])
def test_bad_ratios_are_refused(ratios, message):
    # given
    group, exercise, _, _ = make_clips(0)
    # when / then
    with pytest.raises(ValueError, match=message):
        split_by_group(clip_group=group, clip_exercise=exercise, ratios=ratios)


def test_ratios_within_tolerance_are_accepted():
    # given
    group, exercise, _, _ = make_clips(0)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, ratios=(0.7, 0.15, 0.15 + 5e-7))
    # then
    assert check_disjoint(group, result.assignment) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"holdout_exercises": [99]}, r"not found.*\[99\]"),
    ({"holdout_exercises": list(range(8))}, "every clip"),
    ({"holdout_exercises": [4], "ratios": (0.8, 0.2, 0.0)}, "test ratio is 0"),
    ({"few_shot_k": 3}, "needs holdout_exercises"),
    ({"few_shot_k": 3, "holdout_exercises": [4], "ratios": (0.0, 0.5, 0.5)}, "train ratio is 0"),
    ({"few_shot_k": -1, "holdout_exercises": [4]}, "non-negative integer"),
    ({"mixed_holdout": "train"}, "mixed_holdout"),
])
def test_bad_holdout_settings_are_refused(kwargs, message):
    # given
    group, exercise, _, _ = make_clips(0)
    # when / then
    with pytest.raises(ValueError, match=message):
        split_by_group(clip_group=group, clip_exercise=exercise, **kwargs)


@pytest.mark.parametrize("bad", [
    {"clip_group": np.array([0.5, 1.0]), "clip_exercise": np.array([0, 1])},
    {"clip_group": np.array([0, -1]), "clip_exercise": np.array([0, 1])},
    {"clip_group": np.array([0, 1, 1]), "clip_exercise": np.array([0, 1])},
    {"clip_group": np.array([0, 1]), "clip_exercise": np.array([0, 1]), "group_strata": np.array([2])},
    {"clip_group": np.array([0, 1]), "clip_exercise": np.array([0, 1]), "clip_strata": np.zeros(3)},
])
def test_malformed_arrays_are_refused(bad):
    # when / then
    with pytest.raises(ValueError):
        split_by_group(**bad)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holdout_exercises_reach_test_only(seed):
    # given
    group, exercise, severity, skill = make_clips(seed, n_groups=120)
    held = np.isin(exercise, HOLDOUT)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, clip_strata=severity,
                            group_strata=skill, holdout_exercises=HOLDOUT, seed=seed)
    # then
    a = result.assignment
    assert not np.any(held & ((a == TRAIN) | (a == VAL)))
    assert set(np.unique(exercise[held & (a == TEST)])) == set(HOLDOUT)
    # held-out clips of participants outside test are dropped, never moved
    assert np.all(a[held & (a != TEST)] == EXCLUDED)
    assert not np.any(~held & (a == EXCLUDED))
    assert check_disjoint(group, a) == []
    assert result.counts["holdout_clips"]["test"] + result.counts["holdout_clips"]["excluded"] == held.sum()


def test_a_participant_with_only_holdout_clips_goes_to_test():
    # given: participant 80 did only the held-out exercise
    group, exercise, _, _ = make_clips(1)
    group = np.concatenate([group, [80, 80, 80]])
    exercise = np.concatenate([exercise, [4, 4, 4]])
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, holdout_exercises=[4])
    # then
    assert np.all(result.assignment[group == 80] == TEST)
    assert result.group_assignment[80] == TEST


def test_mixed_holdout_test_sends_mixed_participants_wholly_to_test():
    # given
    group, exercise, _, _ = make_clips(2)
    mixed = np.intersect1d(group[exercise == 4], group[exercise != 4])
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, holdout_exercises=[4],
                            mixed_holdout="test")
    # then
    assert np.all(result.assignment[np.isin(group, mixed)] == TEST)
    assert result.counts["holdout_clips"]["excluded"] == 0
    assert check_disjoint(group, result.assignment) == []


@pytest.mark.parametrize(("seed", "k"), [(0, 1), (1, 5), (2, 12)])
def test_few_shot_moves_exactly_k_clips_per_holdout_exercise_into_train(seed, k):
    # given
    group, exercise, severity, skill = make_clips(seed, n_groups=150)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, clip_strata=severity,
                            group_strata=skill, holdout_exercises=HOLDOUT, few_shot_k=k, seed=seed)
    # then
    a = result.assignment
    shots_per_exercise = [np.count_nonzero((exercise == e) & (a == TRAIN)) for e in HOLDOUT]
    assert shots_per_exercise == [k, k]
    assert not np.any(np.isin(exercise, HOLDOUT) & (a == VAL))
    donors = np.unique(group[np.isin(exercise, HOLDOUT) & (a == TRAIN)])
    donor_clips = np.isin(group, donors)
    # donors are wholly in train: every clip of theirs is in train or excluded (extra holdout clips)
    assert set(np.unique(a[donor_clips])) <= {TRAIN, EXCLUDED}
    assert np.all(a[donor_clips & ~np.isin(exercise, HOLDOUT)] == TRAIN)
    assert check_disjoint(group, a) == []


def test_few_shot_that_would_take_every_clip_is_refused():
    # given
    group, exercise, _, _ = make_clips(0)
    n_clips_of_4 = int(np.count_nonzero(exercise == 4))
    # when / then
    with pytest.raises(ValueError, match="leaving none for test"):
        split_by_group(clip_group=group, clip_exercise=exercise, holdout_exercises=[4],
                       few_shot_k=n_clips_of_4)


def test_same_seed_gives_the_same_split_and_other_seeds_differ():
    # given
    group, exercise, severity, skill = make_clips(3, n_groups=150)
    kwargs = dict(clip_group=group, clip_exercise=exercise, clip_strata=severity, group_strata=skill,
                  holdout_exercises=HOLDOUT, few_shot_k=3)
    # when
    first = split_by_group(seed=11, **kwargs)
    again = split_by_group(seed=11, **kwargs)
    other = split_by_group(seed=12, **kwargs)
    # then
    np.testing.assert_array_equal(first.assignment, again.assignment)
    assert first.proportions == again.proportions
    assert not np.array_equal(first.assignment, other.assignment)


def test_stratification_beats_a_random_participant_shuffle():
    # given
    ratios = (0.7, 0.15, 0.15)
    stratified, shuffled = [], []
    for seed in range(4):
        group, exercise, severity, skill = make_clips(100 + seed, n_groups=200)
        strata = dict(clip_group=group, clip_exercise=exercise, clip_strata=severity, group_strata=skill)
        # when
        stratified.append(split_by_group(ratios=ratios, seed=seed, **strata).max_deviation)
        shuffled.append(split_balance(assignment=shuffle_split(group, ratios, seed), ratios=ratios,
                                      **strata)[1])
    # then
    assert np.mean(stratified) < 0.25 * np.mean(shuffled)


def test_split_balance_on_a_hand_computed_case():
    # given: exercise 0 is 4/6 of all clips; train holds 2 of its 3 clips as exercise 0
    group = np.array([0, 0, 0, 1, 1, 2])
    exercise = np.array([0, 0, 1, 0, 1, 0])
    assignment = np.array([0, 0, 0, 1, 1, 2])
    # when
    proportions, max_dev = split_balance(assignment=assignment, clip_group=group, clip_exercise=exercise)
    # then: val has 1/2 exercise 0, test 1/1 -> |1 - 4/6| = 1/3 is the largest gap
    assert proportions["all"]["exercise"] == pytest.approx({0: 4 / 6, 1: 2 / 6})
    assert proportions["train"]["exercise"] == pytest.approx({0: 2 / 3, 1: 1 / 3})
    assert proportions["test"]["exercise"] == pytest.approx({0: 1.0, 1: 0.0})
    assert max_dev == pytest.approx(1 / 3)


@pytest.mark.parametrize("n_exercises", [8, 150])
def test_proportions_describe_each_split(n_exercises):
    # given: 150 exercises also checks that split * n_levels does not overflow the int8 codes
    group, exercise, severity, skill = make_clips(4, n_groups=150, n_exercises=n_exercises)
    # when
    result = split_by_group(clip_group=group, clip_exercise=exercise, clip_strata=severity,
                            group_strata=skill)
    # then
    test = result.assignment == TEST
    expected_severity = np.bincount(severity[test], minlength=4) / test.sum()
    got_severity = [result.proportions["test"]["clip_stratum_0"][level] for level in range(4)]
    np.testing.assert_allclose(got_severity, expected_severity)
    levels = np.unique(exercise)
    expected_exercise = np.bincount(exercise[test], minlength=n_exercises)[levels] / test.sum()
    got_exercise = [result.proportions["test"]["exercise"][level] for level in levels]
    np.testing.assert_allclose(got_exercise, expected_exercise)
    assert set(result.proportions["val"]) == {"exercise", "clip_stratum_0", "group_stratum_0"}


def test_manifest_hash_is_stable_under_permutation_of_input_order():
    # given
    group, exercise, _, _ = make_clips(7)
    clip_ids = np.array([f"clip-{i:05d}" for i in range(group.size)])
    result = split_by_group(clip_group=group, clip_exercise=exercise)
    perm = np.random.default_rng(0).permutation(group.size)
    # when
    original = manifest_hash(clip_ids_by_split(clip_ids, result.assignment))
    permuted = manifest_hash(clip_ids_by_split(clip_ids[perm], result.assignment[perm]))
    reordered_splits = manifest_hash({name: list(reversed(ids)) for name, ids in
                                      reversed(clip_ids_by_split(clip_ids, result.assignment).items())})
    # then
    assert original == permuted == reordered_splits
    assert len(original) == 64


def test_manifest_hash_changes_when_a_clip_changes_split():
    # given
    base = {"train": [1, 2, 3], "val": [4], "test": [5]}
    moved = {"train": [1, 2], "val": [3, 4], "test": [5]}
    # when / then
    assert manifest_hash(base) != manifest_hash(moved)
    assert manifest_hash(base) == manifest_hash(([3, 2, 1], [4], [5]))
    assert manifest_hash(base) == manifest_hash({"test": ["5"], "train": ["1", "2", "3"], "val": ["4"]})
