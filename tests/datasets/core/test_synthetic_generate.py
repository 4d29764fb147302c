"""The synthetic Halo Trainer dataset: determinism, structure, scaling and Table 5/6 marginals."""

import numpy as np
import pytest

from datasets.core.synthetic import generate as gen
from datasets.core.synthetic import generate_halo
from datasets.core.synthetic.halo_catalog import HALO_EXERCISES, HALO_N_CLIPS, HALO_N_REPETITIONS

MEDIUM = 3000


@pytest.fixture(scope="module")
def demo():
    return generate_halo(n_clips=20, seed=0)


@pytest.fixture(scope="module")
def medium():
    return generate_halo(n_clips=MEDIUM, seed=1)


def _arrays(ds):
    return {k: v for k, v in vars(ds).items() if isinstance(v, np.ndarray)}


def test_same_seed_gives_identical_arrays(demo):
    # given / when
    again = generate_halo(n_clips=20, seed=0)

    # then
    first, second = _arrays(demo), _arrays(again)
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert demo.annotator_params == again.annotator_params
    assert demo.error_type_params == again.error_type_params


def test_different_seed_gives_different_arrays(demo):
    # given / when
    other = generate_halo(n_clips=20, seed=1)

    # then
    assert not np.array_equal(demo.clip_n_frames, other.clip_n_frames)
    assert not np.array_equal(demo.rep_true_end[:50], other.rep_true_end[:50])


def test_contract_dtypes(medium):
    # given
    expected = {
        "participant_skill": np.int8, "clip_participant": np.int32, "clip_exercise": np.int16,
        "clip_n_frames": np.int32, "rep_clip": np.int32, "rep_index": np.int16,
        "rep_true_start": np.int32, "rep_true_end": np.int32, "item_rep": np.int32,
        "item_error_type": np.int16, "item_true_severity": np.int8, "annotator_kind": np.int8,
        "mark_clip": np.int32, "mark_annotator": np.int32, "mark_frame": np.int32,
        "vote_item": np.int32, "vote_annotator": np.int32, "vote_value": np.int8,
    }

    # when
    dtypes = {name: getattr(medium, name).dtype for name in expected}

    # then
    assert dtypes == {name: np.dtype(t) for name, t in expected.items()}
    assert medium.fps == 30.0
    assert len(medium.exercises) == 47
    assert len(medium.error_types) == 52
    assert len(medium.annotator_params) == medium.annotator_kind.size


def test_demo_holds_several_exercises_with_error_types(demo):
    # given
    labelled_exercises = np.unique(demo.clip_exercise[demo.rep_clip[demo.item_rep]])

    # when
    with_errors = [i for i in labelled_exercises if demo.exercises[i].error_types]

    # then: half the demo clips are guaranteed to cover exercises with error types
    assert demo.n_clips == 20
    assert len(with_errors) >= 5
    assert demo.participant_skill.size == 3
    assert set(np.unique(demo.clip_participant)) == {0, 1, 2}


def test_every_clip_has_exactly_three_distinct_endpoint_annotators(medium):
    # given
    pairs = np.unique(np.stack([medium.mark_clip, medium.mark_annotator]), axis=1)

    # when
    per_clip = np.bincount(pairs[0], minlength=medium.n_clips)

    # then
    assert np.all(per_clip == 3)
    assert np.all(medium.annotator_kind[medium.mark_annotator] == 0)


def test_every_item_has_exactly_ten_distinct_voters(medium):
    # given
    votes = medium.vote_annotator.reshape(-1, 10)

    # when
    sorted_votes = np.sort(votes, axis=1)

    # then
    assert np.array_equal(medium.vote_item, np.repeat(np.arange(medium.n_items), 10))
    assert np.all(np.diff(sorted_votes, axis=1) > 0)
    assert np.all(medium.annotator_kind[medium.vote_annotator] == 1)
    assert set(np.unique(medium.vote_value)) <= {0, 1, 2, 3}


def test_marks_lie_inside_their_clips(medium):
    # given
    n_frames = medium.clip_n_frames[medium.mark_clip]

    # when / then
    assert np.all(medium.mark_frame >= 0)
    assert np.all(medium.mark_frame < n_frames)
    key = np.stack([medium.mark_clip, medium.mark_annotator, medium.mark_frame])
    assert np.unique(key, axis=1).shape[1] == medium.mark_clip.size


def test_repetitions_are_contiguous_ordered_and_inside_their_clips(medium):
    # given
    first = np.searchsorted(medium.rep_clip, np.arange(medium.n_clips))
    same_clip = medium.rep_clip[1:] == medium.rep_clip[:-1]

    # when / then
    assert np.all(np.diff(medium.rep_clip) >= 0)
    assert np.array_equal(medium.rep_index[first], np.zeros(medium.n_clips))
    assert np.all(np.diff(medium.rep_index)[same_clip] == 1)
    assert np.all(medium.rep_true_start >= 0)
    assert np.all(medium.rep_true_end > medium.rep_true_start)
    assert np.all(medium.rep_true_end < medium.clip_n_frames[medium.rep_clip])
    assert np.all(medium.rep_true_start[1:][same_clip] > medium.rep_true_end[:-1][same_clip])


def test_items_are_one_per_repetition_and_error_type_of_labelled_clips(medium):
    # given
    ex_n_err = np.array([len(e.error_types) for e in medium.exercises])
    rep_n_err = ex_n_err[medium.clip_exercise[medium.rep_clip]]
    labelled = medium.clip_severity_labelled[medium.rep_clip]

    # when
    items_per_rep = np.bincount(medium.item_rep, minlength=medium.n_reps)
    item_exercise = np.array([ex for ex, _ in medium.error_types])[medium.item_error_type]
    slot = medium.item_error_type - (np.cumsum(ex_n_err) - ex_n_err)[item_exercise]

    # then
    assert np.array_equal(items_per_rep, np.where(labelled, rep_n_err, 0))
    assert np.all(np.diff(medium.item_rep) >= 0)
    assert np.array_equal(item_exercise, medium.clip_exercise[medium.rep_clip[medium.item_rep]])
    assert np.array_equal(medium.item_true_severity, medium.rep_error_severity[medium.item_rep, slot])


def test_true_severity_marginals_follow_table6(medium):
    # given
    observed = np.zeros((52, 4))
    np.add.at(observed, (medium.item_error_type, medium.item_true_severity), 1.0)
    table6 = np.array([e.class_counts for _, e in medium.error_types], dtype=float)

    # when
    tvd = 0.5 * np.abs(observed / observed.sum(1, keepdims=True)
                       - table6 / table6.sum(1, keepdims=True)).sum(1)

    # then: total variation distance to the Table 6 proportions. Severity is correlated within
    # a participant and a clip, so ~600 items per error type at 3,000 clips behave like ~150
    # independent ones: mean <= 0.06, every error type <= 0.15 (at full scale: ~0.01 / 0.03).
    assert np.average(tvd, weights=observed.sum(1)) <= 0.06
    assert tvd.max() <= 0.15
    assert np.all(observed[table6 == 0] == 0)


def test_experts_make_fewer_errors_than_beginners(medium):
    # given
    skill = medium.participant_skill[medium.clip_participant[medium.rep_clip[medium.item_rep]]]

    # when
    mean_severity = [medium.item_true_severity[skill == s].mean() for s in range(3)]

    # then
    assert mean_severity[0] > mean_severity[1] + 0.1
    assert mean_severity[1] > mean_severity[2] + 0.1


def test_medium_set_scales_to_the_paper_totals(medium):
    # given
    scale = HALO_N_CLIPS / MEDIUM

    # when
    reps, votes = medium.n_reps * scale, medium.n_votes * scale

    # then: full scale means 1,642 participants, ~1.16 M repetitions, ~9 M votes
    assert medium.participant_skill.size == round(1642 * MEDIUM / HALO_N_CLIPS)
    assert reps == pytest.approx(HALO_N_REPETITIONS, rel=0.03)
    assert votes == pytest.approx(9_000_000, rel=0.10)
    assert medium.n_items * scale == pytest.approx(900_000, rel=0.10)


def test_medium_set_follows_table5_clip_shares_and_lengths(medium):
    # given
    table_clips = np.array([e.n_clips for e in HALO_EXERCISES])
    share = table_clips * MEDIUM / table_clips.sum()

    # when
    clips = np.bincount(medium.clip_exercise, minlength=47)
    reps_per_clip = np.bincount(medium.rep_clip).mean()
    duration = medium.clip_n_frames.mean() / medium.fps

    # then
    assert np.all(np.abs(clips - share) < 1.0)
    assert reps_per_clip == pytest.approx(HALO_N_REPETITIONS / HALO_N_CLIPS, rel=0.03)
    assert duration == pytest.approx(40.7, rel=0.02)


def test_full_scale_allocation_is_table5_and_participants_1642():
    # given
    rng = np.random.default_rng(0)

    # when
    alloc = gen._allocate_exercises(rng, HALO_N_CLIPS, HALO_EXERCISES)

    # then
    assert alloc.tolist() == [e.n_clips for e in HALO_EXERCISES]
    assert gen._default_participants(HALO_N_CLIPS) == 1642
    assert gen._pool_sizes(HALO_N_CLIPS, 3, 10, None) == (60, 100)


def test_rep_count_location_keeps_the_table5_mean_after_truncation():
    # given
    mean, std = np.array([6.83, 35.94]), np.array([4.23, 12.84])
    z = np.random.default_rng(0).standard_normal(400_000)

    # when
    loc = gen._rep_count_location(mean, std)
    draws = np.clip(np.rint(loc[:, None] + std[:, None] * z), 1, gen.MAX_REPS)

    # then
    assert draws.mean(axis=1) == pytest.approx(mean, rel=0.01)


def test_annotator_pool_argument_sets_the_pool(demo):
    # given / when
    ds = generate_halo(n_clips=20, seed=0, annotator_pool=32)

    # then: split 60:100 between end-point annotators and voters
    assert int((ds.annotator_kind == 0).sum()) == 12
    assert int((ds.annotator_kind == 1).sum()) == 20
    with pytest.raises(ValueError, match="n_voters_per_item"):
        generate_halo(n_clips=20, seed=0, annotator_pool=12)
    with pytest.raises(ValueError, match="n_clips"):
        generate_halo(n_clips=0, seed=0)
