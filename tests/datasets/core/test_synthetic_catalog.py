"""The Halo Trainer catalogue against the numbers printed in seed 000 (Tables 1, 5, 6, 9)."""

from collections import Counter

import pytest

from datasets.core.synthetic.halo_catalog import (
    HALO_EXERCISES,
    HALO_N_CLIPS,
    HALO_N_REPETITIONS,
    error_type_index,
    exercise_index,
)

ERRORS = [(ex, err) for ex in HALO_EXERCISES for err in ex.error_types]


def test_catalogue_has_47_exercises_and_52_error_types_over_26_exercises():
    # given / when
    with_errors = [ex for ex in HALO_EXERCISES if ex.error_types]

    # then
    assert len(HALO_EXERCISES) == 47
    assert len(ERRORS) == 52
    assert len(with_errors) == 26


def test_table5_clip_counts_add_up_to_the_paper_totals():
    # given / when
    clips = sum(ex.n_clips for ex in HALO_EXERCISES)
    reps = sum(ex.n_clips * ex.reps_mean for ex in HALO_EXERCISES)
    duration = sum(ex.n_clips * ex.duration_mean_s for ex in HALO_EXERCISES) / clips

    # then: 84,608 clips, 1,157,104 repetitions (Sec. 3), mean duration 40.7 s (Table 1)
    assert clips == HALO_N_CLIPS
    assert reps == pytest.approx(HALO_N_REPETITIONS, rel=1e-4)
    assert duration == pytest.approx(40.7, abs=0.05)


def test_table6_counts_add_up_to_986010_examples():
    # given / when
    total = sum(sum(err.class_counts) for _, err in ERRORS)

    # then: the paper's "986k" (Sec. 3)
    assert total == 986_010


def test_table6_row_for_squats_heels_off_floor_is_transcribed():
    # given
    squats = HALO_EXERCISES[exercise_index("squats")]

    # when
    heels = squats.error_types[1]

    # then
    assert heels.code == "squats__heels_off_floor_squat"
    assert heels.name == "heels off floor squat"
    assert heels.generic_name == "heels_off_floor"
    assert heels.class_counts == (58194, 1018, 1176, 0)
    assert heels.kappa1_target == 0.828


def test_slugs_and_codes_are_unique_and_lowercase():
    # given
    slugs = [ex.slug for ex in HALO_EXERCISES]
    codes = [err.code for _, err in ERRORS]

    # when / then
    assert len(set(slugs)) == 47
    assert len(set(codes)) == 52
    assert all(s == s.lower() and " " not in s for s in slugs + codes)


def test_kappa1_targets_are_printed_for_49_rows():
    # given / when
    targets = [err.kappa1_target for _, err in ERRORS]
    printed = [t for t in targets if t is not None]

    # then: Table 9 prints "NA" for three rows
    assert len(printed) == 49
    assert min(printed) == 0.499
    assert max(printed) == 0.850


def test_generic_names_are_shared_across_exercises_and_unique_within_one():
    # given
    generic = Counter(err.generic_name for _, err in ERRORS)

    # when
    per_exercise = [[e.generic_name for e in ex.error_types] for ex in HALO_EXERCISES]

    # then: Sec. 6.4 shares e.g. incomplete_descent between push_ups and side_lunge
    assert generic["incomplete_descent"] >= 9
    assert generic["head_dropping_downward"] == 7
    assert generic["hips_below_line_of_shoulder_to_ankle"] >= 8
    assert all(len(set(names)) == len(names) for names in per_exercise)


def test_indices_follow_catalogue_order():
    # given
    code = "t_push_up__incomplete_descent"

    # when
    index = error_type_index(code)

    # then
    assert ERRORS[index][1].code == code
    assert HALO_EXERCISES[exercise_index("squats")].slug == "squats"
    with pytest.raises(ValueError, match="unknown"):
        exercise_index("bodyweight_squat")
