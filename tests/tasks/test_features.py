"""Per-repetition pose features (tasks.core.features): toy cases and invariances."""
import numpy as np
import pytest

from datasets.core.synthetic.skeleton import JOINT_NAMES
from kg.core.pose import FLEX_JOINTS
from tasks.core.features import (
    FLEX21_JOINTS, HALO26_JOINTS, FeatureConfig, fill_missing, joint_angles, repetition_bounds, repetition_features,
    resample_segments,
)


def test_layouts_match_the_skeletons_the_generators_draw():
    # then
    assert HALO26_JOINTS == JOINT_NAMES
    assert FLEX21_JOINTS == FLEX_JOINTS


def test_fill_missing_takes_the_previous_frame_then_the_next_and_centroid_for_never_seen_joints():
    # given: 4 frames, 3 joints, 1 axis; joint 0 drops frames 1-2, joint 1 misses frame 0, joint 2 never seen
    pose = np.array([[[1.0], [np.nan], [np.nan]],
                     [[np.nan], [5.0], [np.nan]],
                     [[np.nan], [6.0], [np.nan]],
                     [[4.0], [7.0], [np.nan]]], dtype=np.float32)
    # when
    filled = fill_missing(pose)
    # then
    assert filled[:, 0, 0].tolist() == [1.0, 1.0, 1.0, 4.0]
    assert filled[:, 1, 0].tolist() == [5.0, 5.0, 6.0, 7.0]
    assert filled[:, 2, 0].tolist() == [3.0, 3.0, 3.5, 5.5]  # centroid of the filled joints 0 and 1


def test_resample_segments_interpolates_linearly_between_frames():
    # given: a ramp x = frame
    pose = np.arange(10, dtype=np.float32).reshape(10, 1, 1)
    # when
    out = resample_segments(pose, [2.0, 0.0], [4.0, 9.0], 5)
    # then
    np.testing.assert_allclose(out[0, :, 0, 0], [2.0, 2.5, 3.0, 3.5, 4.0])
    np.testing.assert_allclose(out[1, :, 0, 0], [0.0, 2.25, 4.5, 6.75, 9.0])


def test_joint_angles_of_a_right_angle_and_a_straight_limb():
    # given
    seq = np.array([[[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])
    # when
    angles = joint_angles(seq, np.array([[0, 1, 2], [0, 1, 3]]))
    # then
    np.testing.assert_allclose(angles[0], [np.pi / 2, np.pi], rtol=1e-6)


def test_repetition_bounds_start_each_rep_at_the_previous_end():
    # when
    starts, ends = repetition_bounds([40, 70, 110], n_frames=200)
    # then
    assert starts.tolist() == [5.0, 40.0, 70.0]
    assert ends.tolist() == [40.0, 70.0, 110.0]


def _pose(seed=0, frames=120):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(26, 2)) * 50 + 300
    t = np.arange(frames)[:, None, None]
    return (base[None] + 20 * np.sin(t / 10.0) * rng.normal(size=(1, 26, 2))).astype(np.float32)


def test_features_have_the_documented_size_and_names():
    # given
    config = FeatureConfig(length=8)
    # when
    X = repetition_features(_pose(), [0, 40, 80], [40, 80, 119], fps=30.0, config=config)
    # then
    assert X.shape == (3, config.n_features(2)) == (3, len(config.feature_names(2)))
    assert X.dtype == np.float32 and np.isfinite(X).all()


def test_features_do_not_change_when_the_person_moves_or_the_camera_zooms():
    # given: the same motion, shifted by 200 px and scaled by 1.7
    pose = _pose()
    config = FeatureConfig(length=8)
    # when
    a = repetition_features(pose, [0, 60], [60, 119], fps=30.0, config=config)
    b = repetition_features(pose * 1.7 + 200.0, [0, 60], [60, 119], fps=30.0, config=config)
    # then
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=5e-3)  # float32 arccos near 0 and pi


def test_features_refuse_a_pose_of_another_layout():
    # when / then
    with pytest.raises(ValueError, match="joints"):
        repetition_features(np.zeros((10, 21, 3), np.float32), [0], [9], fps=30.0, config=FeatureConfig())


def test_side_invariant_summaries_do_not_depend_on_which_side_worked():
    # given: the same repetition with the left and the right side swapped (a mirrored person)
    from datasets.core.synthetic.skeleton import LEFT_RIGHT_PAIRS

    pose = _pose(seed=3)
    swapped = pose.copy()
    for left, right in LEFT_RIGHT_PAIRS:
        swapped[:, [left, right]] = pose[:, [right, left]]
    config = FeatureConfig(length=8, relative=False, canonical_flip=False)
    names = config.feature_names(2)
    either = [i for i, n in enumerate(names) if "either_" in n]
    # when
    a = repetition_features(pose, [0], [119], fps=30.0, config=config)
    b = repetition_features(swapped, [0], [119], fps=30.0, config=config)
    # then
    assert len(either) == 6 * 2 * len(config.side_pairs) > 0
    np.testing.assert_allclose(a[0, either], b[0, either], rtol=1e-5, atol=1e-5)
