import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from annotation.core.consensus import (
    DEFAULT_TOLERANCE_S,
    REASONS,
    align_in_order,
    batch_endpoint_consensus,
    endpoint_consensus,
)


def test_default_tolerance_is_half_a_second():
    assert DEFAULT_TOLERANCE_S == 0.5


def test_exact_alignment_averages_matched_ends():
    # given: three annotators, three repetitions each, jitter of a couple of frames
    # end 0: 30, 32, 31 -> mean 31, max |dev| 1
    # end 1: 60, 58, 62 -> mean 60, max |dev| 2
    # end 2: 90, 91, 89 -> mean 90, max |dev| 1
    marks = [np.array([30, 60, 90]), np.array([32, 58, 91]), np.array([89, 31, 62])]  # unsorted is fine

    # when
    result = endpoint_consensus(marks, fps=30)

    # then
    np.testing.assert_allclose(result.ends, [31, 60, 90])
    np.testing.assert_allclose(result.spread, [1, 2, 1])
    assert (result.count, result.disagree, result.reason) == (3, False, "")


def test_missed_repetition_is_a_count_mismatch_and_keeps_the_median_count():
    # given: annotator 2 missed the middle repetition; median count is 3
    # its ends 30 and 90 align to reference ends 0 and 2; end 1 is averaged over the other two
    marks = [np.array([30, 60, 90]), np.array([32, 62, 92]), np.array([31, 91])]

    # when
    result = endpoint_consensus(marks, fps=30)

    # then: end 0 = (30+32+31)/3 = 31, end 1 = (60+62)/2 = 61, end 2 = (90+92+91)/3 = 91
    np.testing.assert_allclose(result.ends, [31, 61, 91])
    np.testing.assert_allclose(result.spread, [1, 1, 1])
    assert (result.count, result.disagree, result.reason) == (3, True, "count_mismatch")


def test_extra_repetition_is_dropped_and_flagged():
    # given: annotator 1 marked an extra end at 45 between the first two repetitions
    # aligning reference [30, 60, 90] into [30, 45, 60, 90]: 30->30, 60->60, 90->90 (cost 0)
    marks = [np.array([30, 60, 90]), np.array([30, 45, 60, 90]), np.array([30, 60, 90])]

    # when
    result = endpoint_consensus(marks, fps=30)

    # then
    np.testing.assert_allclose(result.ends, [30, 60, 90])
    np.testing.assert_allclose(result.spread, [0, 0, 0])
    assert (result.count, result.reason) == (3, "count_mismatch")


@pytest.mark.parametrize(
    ("third_mark", "reason"),
    [
        # tolerance 0.5 s * 30 fps = 15 frames
        # [100, 100, 121]: mean 107, |121 - 107| = 14 <= 15 -> agree
        (121, ""),
        # [100, 100, 124]: mean 108, |124 - 108| = 16 > 15 -> end_spread
        (124, "end_spread"),
    ],
)
def test_jitter_beyond_tolerance_is_end_spread(third_mark, reason):
    # when
    result = endpoint_consensus([[100], [100], [third_mark]], fps=30)

    # then
    assert result.reason == reason
    assert result.disagree == bool(reason)


def test_tolerance_scales_with_fps_and_tolerance_s():
    # given: the 16-frame deviation of [100, 100, 124] is within 1 s at 30 fps (30 frames)
    marks = [[100], [100], [124]]

    # when / then
    assert endpoint_consensus(marks, fps=30, tolerance_s=1.0).reason == ""
    assert endpoint_consensus(marks, fps=60, tolerance_s=0.25).reason == "end_spread"


def test_count_mismatch_takes_precedence_over_end_spread():
    # given: counts 1, 1, 2 and the single ends 100 and 200 are far apart
    result = endpoint_consensus([[100], [200], [100, 200]], fps=30)

    # then
    assert result.reason == "count_mismatch"


def test_median_count_annotator_is_the_reference():
    # given: counts 2, 3, 4 -> median 3, so the consensus has 3 ends
    marks = [[10, 50], [10, 30, 50], [10, 20, 30, 50]]

    # when
    result = endpoint_consensus(marks, fps=30)

    # then: [10, 50] -> reference ends 0 and 2; [10, 20, 30, 50] drops 20
    # end 0: 10, 10, 10; end 1: 30, 30; end 2: 50, 50, 50
    np.testing.assert_allclose(result.ends, [10, 30, 50])
    assert result.count == 3


@pytest.mark.parametrize("marks", [[], [[], [], []]])
def test_no_marks(marks):
    # when
    result = endpoint_consensus(marks, fps=30)

    # then
    assert (result.count, result.disagree, result.reason) == (0, True, "no_marks")
    assert result.ends.size == 0


def test_align_in_order_hand_case_and_tie():
    # [10, 50] into [9, 30, 52]: 10->9 (1) + 50->52 (2) = 3 beats 10->30 + 50->52 = 22
    np.testing.assert_array_equal(align_in_order([10, 50], [9, 30, 52]), [0, 2])
    # 10 is 10 away from both 0 and 20: the tie goes to the earlier end
    np.testing.assert_array_equal(align_in_order([10], [0, 20]), [0])


def test_align_in_order_is_optimal_against_brute_force():
    # given
    rng = np.random.default_rng(0)
    for _ in range(500):
        short = np.sort(rng.integers(0, 100, rng.integers(0, 6)))
        long = np.sort(rng.integers(0, 100, short.size + rng.integers(0, 4)))

        # when
        match = align_in_order(short, long)

        # then: no order-preserving injection is cheaper
        best = min(
            (np.abs(short - long[list(c)]).sum() for c in itertools.combinations(range(long.size), short.size)),
        )
        assert np.abs(short - long[match]).sum() == best
        assert np.all(np.diff(match) > 0)


def _random_clips(seed, n_clips=400):
    """~10 repetitions per clip, 3 annotators, 2-frame jitter, some missed/extra/empty marks."""
    rng = np.random.default_rng(seed)
    clip_idx, annotator_idx, frames = [], [], []
    for k in range(n_clips):
        truth = np.cumsum(rng.integers(20, 60, rng.integers(1, 15)))
        for a in range(3):
            ends = truth + rng.integers(-2, 3, truth.size) * rng.integers(1, 8)
            missed = [rng.integers(ends.size)][: int(rng.random() < 0.1)]
            ends = np.delete(ends, missed)
            extra = [ends.max(initial=0) + 40][: int(rng.random() < 0.05)]
            ends = np.append(ends, extra).astype(int)
            ends = ends[: ends.size * int(rng.random() >= 0.02)]  # 2 %: empty submission
            clip_idx.append(np.full(ends.size, k))
            annotator_idx.append(np.full(ends.size, a * 7 + 3))  # arbitrary annotator ids
            frames.append(ends)
    return np.concatenate(clip_idx), np.concatenate(annotator_idx), np.concatenate(frames)


@pytest.mark.parametrize("seed", [0, 1])
def test_batch_equals_per_clip(seed):
    # given: shuffled rows, per-clip fps, 3 annotators per clip (some submitted nothing)
    clip_idx, annotator_idx, frames = _random_clips(seed)
    fps = np.random.default_rng(seed).choice([25.0, 30.0, 60.0], 400)
    shuffle = np.random.default_rng(seed + 10).permutation(clip_idx.size)

    # when
    batch = batch_endpoint_consensus(
        clip_idx[shuffle], annotator_idx[shuffle], frames[shuffle], fps, n_clips=400, n_annotators=3
    )

    # then
    for k in range(400):
        rows = clip_idx == k
        marks = [frames[rows & (annotator_idx == a)] for a in (3, 10, 17)]
        expected = endpoint_consensus(marks, fps=fps[k])
        got = batch.clip(k)
        assert (got.count, got.reason, got.disagree) == (expected.count, expected.reason, expected.disagree)
        np.testing.assert_allclose(got.ends, expected.ends)
        np.testing.assert_allclose(got.spread, expected.spread)
    assert set(batch.reason) <= set(REASONS)


def test_batch_empty_submission_counts_as_zero_marks_only_with_n_annotators():
    # given: clip 0 has marks from two annotators; a third submitted an empty list
    clip_idx = np.array([0, 0, 1, 1])
    annotator_idx = np.array([0, 1, 0, 1])
    frames = np.array([30, 31, 50, 50])

    # when
    without = batch_endpoint_consensus(clip_idx, annotator_idx, frames, 30.0)
    with_empty = batch_endpoint_consensus(clip_idx, annotator_idx, frames, 30.0, n_annotators=np.array([3, 2]))

    # then
    assert without.reason.tolist() == ["", ""]
    assert with_empty.reason.tolist() == ["count_mismatch", ""]
    np.testing.assert_allclose(with_empty.clip(0).ends, [30.5])


def test_batch_clip_without_rows_has_no_marks():
    # when
    batch = batch_endpoint_consensus(np.array([1]), np.array([0]), np.array([10]), 30.0, n_clips=3)

    # then
    assert batch.reason.tolist() == ["no_marks", "", "no_marks"]
    assert batch.disagree.tolist() == [True, False, True]
    np.testing.assert_array_equal(batch.offsets, [0, 0, 1, 1])


def test_numeric_core_does_not_import_django():
    # given
    code = (
        "import sys; import annotation.core.consensus, annotation.core.votes, annotation.core.bmm, "
        "annotation.core.dawid_skene, annotation.core.agreement; "
        "assert not any(m.startswith('django') for m in sys.modules), 'django imported'"
    )

    # when
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True
    )

    # then
    assert run.returncode == 0, run.stderr
