"""Synthetic 26-joint pose: shape, drops, determinism, and severities that change the motion."""

import time

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, cross_val_predict

from datasets.core.synthetic import BONES, JOINT_NAMES, LEFT_RIGHT_PAIRS, generate_halo
from datasets.core.synthetic import pose as pose_mod
from datasets.core.synthetic import skeleton as sk
from datasets.core.synthetic.halo_catalog import HALO_EXERCISES, exercise_index

J = {name: i for i, name in enumerate(JOINT_NAMES)}


@pytest.fixture(scope="module")
def medium():
    return generate_halo(n_clips=3000, seed=4)


def _two_reps(exercise, column, levels=(0, 3), n_frames=260):
    """A clean clip with two repetitions whose error ``column`` has the given severities."""
    n_err = len(HALO_EXERCISES[exercise_index(exercise)].error_types)
    severity = np.zeros((2, n_err), dtype=np.int8)
    severity[:, column] = levels
    return pose_mod.render_clip(
        exercise, n_frames=n_frames, rep_start=np.array([20, 140]), rep_end=np.array([119, 239]),
        severity=severity, rng=np.random.default_rng(7), noise=False,
    ).pose


def test_skeleton_layout_is_halpe26():
    # given / when
    pairs = [(JOINT_NAMES[a], JOINT_NAMES[b]) for a, b in LEFT_RIGHT_PAIRS]

    # then
    assert len(JOINT_NAMES) == len(set(JOINT_NAMES)) == 26
    assert len(pairs) == 11
    assert all(a.replace("left", "right") == b for a, b in pairs)
    assert all(0 <= a < 26 and 0 <= b < 26 and a != b for a, b in BONES)
    assert {j for bone in BONES for j in bone} == set(range(26))


def test_mirroring_twice_is_the_identity():
    # given
    dofs = np.random.default_rng(0).normal(size=(5, sk.N_DOF))

    # when
    twice = sk.mirror_dofs(sk.mirror_dofs(dofs))

    # then
    assert np.allclose(twice, dofs)


def test_clip_pose_shape_and_dtype(medium):
    # given
    clip = 3

    # when
    pose = medium.clip_pose(clip)

    # then
    assert pose.shape == (medium.clip_n_frames[clip], 26, 2)
    assert pose.dtype == np.float32
    assert np.all(np.isfinite(pose) | np.isnan(pose))


def test_nan_only_where_dropped(medium):
    # given
    clip = 11

    # when
    pose, dropped = medium.clip_pose(clip), medium.clip_dropped(clip)

    # then: a dropped joint loses both coordinates, nothing else is missing
    assert np.array_equal(np.isnan(pose[..., 0]), dropped)
    assert np.array_equal(np.isnan(pose[..., 1]), dropped)
    assert 0.0 < dropped.mean() < 0.08


def test_clip_pose_is_deterministic_and_independent_of_render_order(medium):
    # given
    other = generate_halo(n_clips=3000, seed=4)

    # when
    other.clip_pose(9)
    late = other.clip_pose(5)
    early = medium.clip_pose(5)

    # then
    assert np.array_equal(early, late, equal_nan=True)
    assert not np.array_equal(medium.clip_pose(6)[:10], early[:10], equal_nan=True)


def test_each_repetition_is_a_movement_cycle():
    # given: a clean squat clip, pixel y grows downwards
    pose = _two_reps("squats", 0, levels=(0, 0))
    hip_y = pose[:, J["hip"], 1]

    # when
    at_start, at_middle, at_end = hip_y[20], hip_y[70], hip_y[119]

    # then: the hips go down by a large part of the body and come back up
    body = pose[20, J["left_heel"], 1] - pose[20, J["head"], 1]
    assert at_middle - at_start > 0.2 * body
    assert abs(at_end - at_start) < 0.02 * body


@pytest.mark.parametrize(
    ("exercise", "column", "joint"),
    [
        ("push_ups", 2, "left_shoulder"),  # incomplete descent
        ("squats", 2, "hip"),  # hips not below top of knees
        ("side_lunge", 1, "hip"),  # incomplete descent
    ],
)
def test_range_of_motion_error_shrinks_the_amplitude(exercise, column, joint):
    # given
    pose = _two_reps(exercise, column, levels=(0, 3))
    y = pose[:, J[joint], 1]

    # when
    amplitude_sev0 = y[20:120].max() - y[20:120].min()
    amplitude_sev3 = y[140:240].max() - y[140:240].min()

    # then: severity 3 keeps 1 - 3 * 0.19 = 43 % of the excursion
    assert amplitude_sev0 > 40.0  # pixels
    assert amplitude_sev3 < 0.6 * amplitude_sev0


def test_knee_valgus_moves_the_knees_inwards():
    # given
    pose = _two_reps("squats", 3, levels=(0, 3))

    # when
    knee_gap = np.abs(pose[:, J["left_knee"], 0] - pose[:, J["right_knee"], 0])
    ankle_gap = np.abs(pose[:, J["left_ankle"], 0] - pose[:, J["right_ankle"], 0])

    # then: at the bottom of the squat the knees are closer together, the feet are not
    assert knee_gap[190] < knee_gap[70] - 10.0
    assert ankle_gap[190] == pytest.approx(ankle_gap[70], abs=1.0)


def test_head_dropping_lowers_the_head_relative_to_the_shoulders():
    # given
    pose = _two_reps("push_ups", 0, levels=(0, 3))

    # when
    head_below_shoulder = pose[:, J["nose"], 1] - pose[:, J["left_shoulder"], 1]

    # then
    assert head_below_shoulder[190] > head_below_shoulder[70] + 15.0


def test_every_error_type_changes_the_motion():
    # given
    changes = {}

    # when
    for exercise in HALO_EXERCISES:
        for column, error in enumerate(exercise.error_types):
            pose = _two_reps(exercise.slug, column, levels=(0, 3))
            diff = np.abs(pose[20:120] - pose[140:240]).max()
            changes[error.code] = float(diff)

    # then: every one of the 52 error types moves some joint by more than 10 pixels
    assert len(changes) == 52
    assert min(changes.values()) > 10.0


def test_severity_is_recoverable_from_repetition_pose_features(medium):
    # given: per repetition, the pose normalised for position and size, in 8 time bins
    codes = ["squats__hips_not_below_top_of_knees", "push_ups__incomplete_descent",
             "good_morning__rounded_back"]
    scores = {}
    for code in codes:
        e = [spec.code for _, spec in medium.error_types].index(code)
        items = np.nonzero(medium.item_error_type == e)[0][:500]
        cache, features = {}, []
        for item in items:
            rep = medium.item_rep[item]
            clip = int(medium.rep_clip[rep])
            pose = cache[clip] if clip in cache else cache.setdefault(clip, medium.clip_pose(clip))
            seg = pose[medium.rep_true_start[rep]: medium.rep_true_end[rep] + 1]
            centre = np.nanmedian(seg[:, J["hip"]], axis=0)
            size = np.nanmedian(np.linalg.norm(seg[:, J["neck"]] - seg[:, J["hip"]], axis=1))
            bins = np.array_split((seg - centre) / size, 8)
            features.append(np.nan_to_num(np.stack([np.nanmean(b, axis=0) for b in bins])).ravel())
        x = np.abs(np.array(features))  # facing left or right should not matter
        y = medium.item_true_severity[items]
        groups = medium.clip_participant[medium.rep_clip[medium.item_rep[items]]]

        # when: ridge regression, cross-validated across participants
        predicted = cross_val_predict(Ridge(alpha=3.0), x, y,
                                      groups=groups, cv=GroupKFold(5))
        scores[code] = spearmanr(predicted, y)[0]

    # then: clearly better than chance, short of perfect
    assert min(scores.values()) > 0.4
    assert max(scores.values()) < 0.99


def test_clip_pose_of_a_2500_frame_clip_takes_under_50_ms():
    # given
    starts = np.arange(40, 2400, 90)
    n_err = len(HALO_EXERCISES[exercise_index("burpee")].error_types)

    # when: best of five, so other load on the machine does not decide
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        pose_mod.render_clip("burpee", n_frames=2500, rep_start=starts, rep_end=starts + 80,
                             severity=np.ones((starts.size, n_err)), rng=np.random.default_rng(0))
        times.append(time.perf_counter() - t0)

    # then
    assert min(times) < 0.05
