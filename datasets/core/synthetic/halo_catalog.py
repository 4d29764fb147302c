"""The Halo Trainer catalogue: 47 exercises, 52 form-error types, as printed in seed 000.

Every number here is transcribed from the appendix of Halo Trainer (seed 000,
``/work/shared/seeds/000_048d085235f61b30.txt``), with the OCR slips of that text fixed (e.g.
``3536+0.24`` is 35.36 +/- 0.24 s, ``425+6.95`` is 42.5 +/- 6.95 s):

- Table 5: clips per exercise (train + val + test = total; the totals add up to 84,608),
  clip duration and repetition count mean +/- std per exercise. Sum over exercises of
  ``n_clips * reps_mean`` is 1,157,125, the paper's 1,157,104 repetitions up to rounding.
- Table 6: severity class counts 0..3 per (exercise, error type); 52 rows over 26 exercises,
  986,010 (repetition, error type) examples in all.
- Table 9: the per-(exercise, error type) Kappa1 "target", which is 85 % of the annotators' own
  Kappa1 ("NA" for three rows).
- Table 10 lists the same 26 exercises (the ones with error types) for exercise classification.

The generic error names (``ErrorTypeSpec.generic_name``) follow Sec. 6.4 / Table 4, where the
zero-shot model shares one output between e.g. ``push_ups + incomplete_descent`` and
``side_lunge + incomplete_descent``. Where the paper gives two wordings for one kind of error
(``hips_above_line_of_shoulder_to_knee`` for the kneeling push-up, ``hips_not_below_top_of_knees``
for squats) we map them to the shared generic name; see ``_GENERIC`` for every choice.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ANNOTATOR_KAPPA1_FROM_TARGET",
    "ErrorTypeSpec",
    "ExerciseSpec",
    "HALO_EXERCISES",
    "HALO_N_CLIPS",
    "HALO_N_PARTICIPANTS",
    "HALO_N_REPETITIONS",
    "error_type_index",
    "exercise_index",
]

#: Sec. 3 of seed 000.
HALO_N_CLIPS = 84_608
HALO_N_PARTICIPANTS = 1_642
HALO_N_REPETITIONS = 1_157_104

#: Table 9 caption: "Target is 85% of reliability between annotators".
ANNOTATOR_KAPPA1_FROM_TARGET = 1.0 / 0.85


@dataclass(frozen=True)
class ErrorTypeSpec:
    """One exercise-specific form-error type (a row of Table 6 / Table 9).

    Attributes
    ----------
    code : str
        Stable, unique across the catalogue: ``"<exercise slug>__<error slug>"``.
    name : str
        The paper's wording (its snake_case identifier with spaces).
    generic_name : str
        The exercise-independent kind of error shared across exercises (Sec. 6.4 zero-shot).
    class_counts : tuple of 4 int
        Table 6 counts of severity 0, 1, 2, 3.
    kappa1_target : float or None
        Table 9 "target" column (85 % of the annotators' Kappa1); None where the paper prints NA.
    """

    code: str
    name: str
    generic_name: str
    class_counts: tuple[int, int, int, int]
    kappa1_target: float | None


@dataclass(frozen=True)
class ExerciseSpec:
    """One exercise (a row of Table 5) with its error types (rows of Table 6).

    Attributes
    ----------
    slug : str
        The paper's identifier, e.g. ``"squats"``, ``"db_floor_press"``.
    name : str
        Readable name of the same identifier, e.g. ``"Squats"``, ``"DB Floor Press"``.
    n_clips : int
        Table 5 total clip count (train + val + test).
    duration_mean_s, duration_std_s : float
        Table 5 clip duration in seconds.
    reps_mean, reps_std : float
        Table 5 repetition count per clip.
    error_types : tuple of ErrorTypeSpec
        Empty for the 21 exercises without form-error labels.
    """

    slug: str
    name: str
    n_clips: int
    duration_mean_s: float
    duration_std_s: float
    reps_mean: float
    reps_std: float
    error_types: tuple[ErrorTypeSpec, ...]


# Table 5: slug, train, val, test, total, duration mean, duration std, count mean, count std.
_TABLE5 = (
    ("bicycle_crunches", 355, 1220, 84, 1659, 45.18, 0.12, 29.9, 11.33),
    ("burpee", 316, 762, 172, 1250, 24.21, 0.23, 4.64, 0.87),
    ("butt_kickers", 497, 1956, 297, 2750, 36.18, 0.16, 33.17, 4.7),
    ("crab_contralateral_touch", 260, 1140, 196, 1596, 37.14, 0.35, 17.07, 4.16),
    ("curtsy_lunge", 280, 1330, 221, 1831, 35.36, 0.24, 12.62, 2.0),
    ("db_floor_press", 423, 1412, 157, 1992, 45.58, 0.17, 9.99, 1.16),
    ("db_single_arm_overhead_press", 45, 568, 17, 630, 50.68, 0.16, 10.46, 1.51),
    ("db_thruster", 256, 977, 86, 1319, 32.07, 0.17, 8.81, 1.05),
    ("dive_bomb_push_up", 430, 1273, 146, 1849, 46.46, 0.12, 5.13, 0.6),
    ("down_dog_to_squatty_dog", 242, 1046, 162, 1450, 60.64, 0.15, 5.15, 0.7),
    ("forward_back_crawl", 127, 822, 89, 1038, 36.18, 0.11, 11.29, 3.89),
    ("good_morning", 362, 1425, 177, 1964, 33.57, 14.57, 8.2, 4.85),
    ("high_knees", 518, 1988, 287, 2793, 33.97, 0.22, 31.31, 5.05),
    ("high_low_boat", 193, 996, 147, 1336, 33.03, 5.84, 10.41, 3.56),
    ("hip_bridge_march", 309, 935, 86, 1330, 38.22, 0.13, 10.59, 1.62),
    ("hip_bridge_with_reach", 222, 1154, 186, 1562, 36.53, 0.22, 9.17, 2.36),
    ("inchworm_with_pushup", 359, 1174, 111, 1644, 32.57, 0.57, 3.27, 0.76),
    ("jump_squat", 203, 856, 97, 1156, 57.04, 11.33, 10.48, 3.17),
    ("jumping_jacks", 325, 1161, 178, 1664, 34.38, 0.3, 28.28, 4.96),
    ("jumping_lunges", 347, 835, 183, 1365, 22.44, 0.17, 10.05, 1.18),
    ("kneeling_pushup", 333, 1307, 166, 1806, 34.21, 14.8, 8.72, 5.41),
    ("lateral_lunge_knee_raise", 399, 1246, 112, 1757, 53.26, 0.12, 9.69, 1.44),
    ("mountain_climber", 163, 1265, 78, 1506, 35.24, 0.23, 35.94, 12.84),
    ("plank_knee_to_elbow_on_forearms", 269, 1804, 101, 2174, 45.17, 8.69, 13.89, 5.08),
    ("plank_saw_on_forearms", 186, 1258, 113, 1557, 23.61, 10.3, 8.8, 4.54),
    ("plank_to_down_dog", 335, 933, 142, 1410, 35.91, 16.35, 7.09, 4.35),
    ("plank_with_ankle_taps", 272, 1194, 118, 1584, 36.74, 0.21, 10.75, 2.81),
    ("plyo_split_squat", 176, 605, 74, 855, 40.99, 0.12, 10.27, 1.21),
    ("power_jack", 256, 1259, 161, 1676, 35.73, 0.17, 19.23, 4.95),
    ("push_up_with_forward_reach", 321, 1172, 206, 1699, 38.21, 0.21, 8.83, 2.29),
    ("push_ups", 301, 933, 143, 1377, 28.76, 14.91, 6.83, 4.23),
    ("quadruped_with_shoulder_taps", 462, 1490, 175, 2127, 40.88, 2.44, 22.36, 5.82),
    ("reverse_lunge", 763, 2243, 302, 3308, 54.02, 10.93, 12.28, 4.53),
    ("reverse_lunge_rotation_alternating", 378, 1127, 113, 1618, 56.07, 0.12, 9.95, 0.65),
    ("reverse_lunge_with_rotation", 664, 2366, 343, 3373, 42.5, 6.95, 10.6, 2.25),
    ("side_lunge", 426, 1227, 138, 1791, 54.6, 9.66, 12.04, 3.79),
    ("side_squat_alternating", 288, 1168, 150, 1606, 53.37, 0.12, 10.16, 0.88),
    ("single_leg_deadlift", 445, 2703, 253, 3401, 46.57, 7.12, 11.09, 2.25),
    ("single_leg_hip_bridge", 194, 1329, 74, 1597, 68.59, 0.59, 33.31, 10.81),
    ("speed_skater", 197, 769, 124, 1090, 37.8, 0.44, 30.29, 4.02),
    ("squat_thrust", 348, 1017, 181, 1546, 38.03, 20.11, 6.81, 4.56),
    ("squats", 1053, 3306, 342, 4701, 34.57, 12.52, 8.78, 4.96),
    ("step_exercise_cardio", 32, 414, 24, 470, 64.35, 0.16, 19.67, 9.0),
    ("sumo_squat", 947, 2640, 320, 3907, 39.44, 3.48, 9.91, 0.77),
    ("supermans", 189, 1131, 172, 1492, 35.17, 0.69, 11.7, 3.47),
    ("t_push_up", 189, 1269, 143, 1601, 36.06, 0.15, 6.51, 1.71),
    ("v_up_single_leg_alternating_touch", 297, 947, 157, 1401, 40.06, 13.95, 11.78, 4.19),
)

# Table 6 (exercise, error, total, sev0..sev3) joined with the Table 9 "target" column.
_TABLE6_9 = (
    ("burpee", "head_dropping_downward", 6906, 2950, 880, 350, 2726, 0.698),
    ("burpee", "incomplete_descent", 6901, 3145, 1450, 720, 1586, 0.850),
    ("burpee", "knees_touch_the_floor", 6901, 3475, 0, 0, 3426, 0.765),
    ("dive_bomb_push_up", "hips_too_high", 7092, 5266, 1516, 249, 61, 0.831),
    ("dive_bomb_push_up", "hips_too_low", 7081, 5761, 579, 582, 159, 0.748),
    ("dive_bomb_push_up", "incomplete_descent_one", 7081, 3560, 96, 1064, 2361, 0.735),
    ("dive_bomb_push_up", "incomplete_descent_two", 7079, 2414, 0, 36, 4629, 0.742),
    ("good_morning", "rounded_back", 20473, 13177, 4267, 2808, 221, 0.840),
    ("high_knees", "knee_not_high_enough", 14356, 13836, 262, 183, 75, 0.850),
    ("inchworm_with_pushup", "head_dropping_downward", 7084, 763, 0, 693, 5628, 0.499),
    ("inchworm_with_pushup", "hips_below_line_of_shoulder_to_ankle", 7084, 2498, 3842, 697, 47, 0.792),
    ("inchworm_with_pushup", "incomplete_descent", 7084, 3903, 78, 0, 3103, 0.728),
    ("jump_squat", "knee_tracks_inside_line_of_foot", 18439, 216, 4832, 12065, 1326, 0.843),
    ("kneeling_pushup", "head_dropping_downward", 20430, 2363, 0, 1441, 16626, 0.527),
    ("kneeling_pushup", "hips_above_line_of_shoulder_to_knee", 20464, 16083, 325, 1873, 2183, 0.763),
    ("kneeling_pushup", "incomplete_descent", 20445, 14137, 264, 937, 5107, 0.745),
    ("lateral_lunge_knee_raise", "incomplete_descent", 15466, 5319, 9493, 646, 8, 0.850),
    ("mountain_climber", "hips_rising", 21168, 17948, 2226, 612, 382, 0.764),
    ("plank_knee_to_elbow_on_forearms", "hips_rising", 19974, 14576, 1942, 2742, 714, 0.732),
    ("plank_saw_on_forearms", "head_dropping_downward", 11981, 736, 244, 4790, 6211, 0.667),
    ("plank_saw_on_forearms", "hips_above_line_of_shoulder_to_ankle", 11979, 6741, 1309, 2128, 1801, 0.784),
    ("plank_saw_on_forearms", "hips_below_line_of_shoulder_to_ankle", 11969, 7701, 2707, 1558, 3, 0.824),
    ("plank_to_down_dog", "hips_below_line_of_shoulder_to_ankle", 20316, 6660, 7908, 5068, 680, 0.849),
    ("plank_with_ankle_taps", "hips_above_line_of_shoulder_to_ankle", 18101, 8827, 4695, 4001, 578, 0.840),
    ("plank_with_ankle_taps", "hips_below_line_of_shoulder_to_ankle", 18114, 14063, 2829, 1066, 156, 0.838),
    ("plyo_split_squat", "knee_tracking_inside_midline_of_foot", 7546, 1920, 3544, 0, 2082, None),
    ("plyo_split_squat", "torso_tilt", 7546, 4506, 2731, 296, 13, None),
    ("push_up_with_forward_reach", "head_dropping_downward", 14163, 873, 221, 1303, 11766, 0.563),
    ("push_up_with_forward_reach", "hips_below_line_of_shoulder_to_ankle", 14150, 4789, 8193, 1136, 32, 0.805),
    ("push_up_with_forward_reach", "incomplete_descent", 14138, 5837, 803, 1203, 6295, 0.742),
    ("push_ups", "head_dropping_downward", 21413, 1509, 0, 3174, 16730, 0.541),
    ("push_ups", "hips_below_line_of_shoulder_and_ankle_push_up", 21412, 5721, 13235, 2330, 126, 0.836),
    ("push_ups", "incomplete_descent", 21414, 10909, 1057, 1522, 7926, 0.802),
    ("reverse_lunge", "knee_tracking_inside_midline_of_foot", 23670, 10372, 12686, 566, 46, 0.802),
    ("reverse_lunge", "torso_tilt", 23670, 9787, 12203, 1594, 86, 0.841),
    ("reverse_lunge_rotation_alternating", "torso_tilt", 12291, 9353, 1704, 1082, 152, 0.764),
    ("reverse_lunge_with_rotation", "torso_tilt", 13989, 5928, 3498, 3296, 1267, 0.836),
    ("side_lunge", "foot_not_facing_forward", 37976, 152, 3376, 34448, 0, None),
    ("side_lunge", "incomplete_descent", 37942, 12594, 23577, 1671, 100, 0.847),
    ("single_leg_deadlift", "shoulders_uneven_single_leg_deadlift", 14572, 2443, 2280, 5154, 4695, 0.818),
    ("squat_thrust", "hips_above_line_of_shoulder_to_ankle", 17689, 15364, 1659, 539, 127, 0.842),
    ("squat_thrust", "hips_below_line_of_shoulder_to_ankle", 17687, 13123, 2498, 1884, 182, 0.839),
    ("squats", "head_forward_of_knees", 60492, 48323, 8377, 3199, 593, 0.849),
    ("squats", "heels_off_floor_squat", 60388, 58194, 1018, 1176, 0, 0.828),
    ("squats", "hips_not_below_top_of_knees", 60445, 39508, 17936, 2731, 270, 0.848),
    ("squats", "knee_inside_midline_of_foot", 60500, 37931, 13801, 8569, 199, 0.848),
    ("sumo_squat", "feet_too_close_together", 14432, 1655, 5428, 5459, 1890, 0.799),
    ("sumo_squat", "hips_too_high", 14419, 8560, 2119, 3306, 434, 0.832),
    ("t_push_up", "head_dropping_downward", 13716, 700, 0, 1826, 11190, 0.500),
    ("t_push_up", "hips_below_line_of_shoulder_to_ankle", 13716, 4931, 7778, 989, 18, 0.823),
    ("t_push_up", "incomplete_descent", 13702, 6224, 418, 1474, 5586, 0.758),
    ("v_up_single_leg_alternating_touch", "incomplete_reach", 18964, 4903, 7008, 7053, 0, 0.850),
)

# Error identifier -> generic kind (Sec. 6.4, Table 4). Identity where not listed.
_GENERIC = {
    "hips_too_high": "hips_above_line_of_shoulder_to_ankle",  # dive-bomb push-up: a pike
    "hips_too_low": "hips_below_line_of_shoulder_to_ankle",  # dive-bomb push-up: a sag
    "incomplete_descent_one": "incomplete_descent",
    # The second dive-bomb phase keeps its own name: one exercise never holds a generic twice.
    "incomplete_descent_two": "incomplete_descent_two",
    "hips_below_line_of_shoulder_and_ankle_push_up": "hips_below_line_of_shoulder_to_ankle",
    "hips_above_line_of_shoulder_to_knee": "hips_above_line_of_shoulder_to_ankle",
    "knee_tracks_inside_line_of_foot": "knee_inside_midline_of_foot",
    "knee_tracking_inside_midline_of_foot": "knee_inside_midline_of_foot",
    "shoulders_uneven_single_leg_deadlift": "shoulders_uneven",
    "heels_off_floor_squat": "heels_off_floor",
    "hips_not_below_top_of_knees": "incomplete_descent",  # squat depth
    # Sumo squat "hips too high" is a shallow squat, i.e. incomplete descent.
    "sumo_squat:hips_too_high": "incomplete_descent",
}

_ACRONYMS = {"db": "DB"}


def _readable(slug: str) -> str:
    return " ".join(_ACRONYMS.get(word, word.capitalize()) for word in slug.split("_"))


def _generic(exercise: str, error: str) -> str:
    return _GENERIC.get(f"{exercise}:{error}", _GENERIC.get(error, error))


def _build() -> tuple[ExerciseSpec, ...]:
    errors: dict[str, list[ErrorTypeSpec]] = {}
    for exercise, error, total, s0, s1, s2, s3, target in _TABLE6_9:
        if s0 + s1 + s2 + s3 != total:
            raise AssertionError(f"Table 6 row {exercise}/{error} does not add up")
        errors.setdefault(exercise, []).append(
            ErrorTypeSpec(
                code=f"{exercise}__{error}",
                name=error.replace("_", " "),
                generic_name=_generic(exercise, error),
                class_counts=(s0, s1, s2, s3),
                kappa1_target=target,
            )
        )
    exercises = []
    for slug, train, val, test, total, d_mean, d_std, r_mean, r_std in _TABLE5:
        if train + val + test != total:
            raise AssertionError(f"Table 5 row {slug} does not add up")
        exercises.append(
            ExerciseSpec(
                slug=slug,
                name=_readable(slug),
                n_clips=total,
                duration_mean_s=d_mean,
                duration_std_s=d_std,
                reps_mean=r_mean,
                reps_std=r_std,
                error_types=tuple(errors.pop(slug, ())),
            )
        )
    if errors:
        raise AssertionError(f"Table 6 rows without a Table 5 exercise: {sorted(errors)}")
    return tuple(exercises)


#: The 47 Halo Trainer exercises in Table 5 order (alphabetical by identifier).
HALO_EXERCISES: tuple[ExerciseSpec, ...] = _build()


def exercise_index(slug: str, exercises: tuple[ExerciseSpec, ...] = HALO_EXERCISES) -> int:
    """Position of the exercise ``slug`` in ``exercises`` (ValueError if absent)."""
    for i, spec in enumerate(exercises):
        if spec.slug == slug:
            return i
    raise ValueError(f"unknown exercise {slug!r}")


def error_type_index(code: str, exercises: tuple[ExerciseSpec, ...] = HALO_EXERCISES) -> int:
    """Position of the error type ``code`` in the catalogue's error-type order (ValueError if absent).

    The order is exercise order, then Table 6 order within an exercise; it is the order of
    ``SyntheticDataset.error_types``.
    """
    i = 0
    for spec in exercises:
        for error in spec.error_types:
            if error.code == code:
                return i
            i += 1
    raise ValueError(f"unknown error type {code!r}")
