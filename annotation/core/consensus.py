"""Consensus of repetition end-points marked by several annotators.

Halo Trainer (seed 000, Sec. 3 and 6.1): three annotators mark the last frame of every repetition;
the ground-truth end is the average of the three marks, and clips where the annotators do not
agree are removed from evaluation. Here "agree" is made precise: same number of repetitions, and
every matched end within ``tolerance_s`` of the consensus end.

Alignment. Each annotator's sorted ends are matched one-to-one and in order to a reference
annotator: the one with the (lower) median count, lowest index among ties. The median count is
the count most annotators can support, so a single annotator who missed or added a repetition
neither shrinks nor grows the consensus. Matching is a dynamic programme over the two sorted
sequences: every end of the shorter sequence is assigned, in order, to a distinct end of the
longer one, minimising the summed frame distance; unmatched ends of the longer sequence (an
extra repetition) are dropped, and a reference end left unmatched by an annotator who missed it
is averaged over the annotators that did mark it. With equal counts the matching is the
identity, so the consensus does not depend on which annotator is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "REASONS",
    "BatchConsensus",
    "ClipConsensus",
    "align_in_order",
    "batch_endpoint_consensus",
    "endpoint_consensus",
]

#: Largest deviation of a marked end from the consensus end before a clip counts as disagreeing.
#: Halo Trainer scores end-of-repetition localisation with EORL(K) at K = 0.5 s by default
#: (seed 000, Sec. 6.1): ground truth whose annotators already differ by more than K cannot tell
#: a correct prediction at that resolution from a wrong one, so such clips are left out.
DEFAULT_TOLERANCE_S = 0.5

#: Values of ``ClipConsensus.reason``; "" means the annotators agree.
REASONS = ("", "count_mismatch", "end_spread", "no_marks")


@dataclass(frozen=True)
class ClipConsensus:
    """Consensus of one clip.

    Attributes
    ----------
    ends : ndarray of float, shape (count,)
        Consensus end frames (mean of the matched marks), increasing.
    spread : ndarray of float, shape (count,)
        Largest absolute deviation of a matched mark from its consensus end, in frames.
    count : int
        Consensus repetition count (the reference annotator's count).
    disagree : bool
        True when the clip should be left out of evaluation.
    reason : str
        ``""``, ``"count_mismatch"``, ``"end_spread"`` or ``"no_marks"`` (count mismatch wins
        over end spread).
    """

    ends: np.ndarray
    spread: np.ndarray
    count: int
    disagree: bool
    reason: str


def align_in_order(short, long) -> np.ndarray:
    """Match every element of ``short`` to a distinct element of ``long``, in order.

    Minimises ``sum_i |short[i] - long[match[i]]|`` subject to ``match`` strictly increasing, by
    dynamic programming over the offset ``t = match[i] - i`` in ``0 .. len(long) - len(short)``
    (how many elements of ``long`` were skipped so far):

        E[t, i] = |short[i] - long[i + t]| + min_{t' <= t} E[t', i - 1].

    For one ``t`` this is a min-plus scan along ``i``, which prefix sums turn into one
    ``np.minimum.accumulate``; the loop runs over the count difference (usually 1), not over the
    ends. Backtracking picks the smallest offset among equal costs, so ties go to the earlier
    element of ``long``.

    Parameters
    ----------
    short, long : array_like, sorted, ``len(short) <= len(long)``

    Returns
    -------
    ndarray of int, shape (len(short),)
        Index into ``long`` for every element of ``short``.
    """
    short = np.asarray(short, dtype=np.float64)
    long = np.asarray(long, dtype=np.float64)
    s, d = short.size, long.size - short.size
    if d < 0:
        raise ValueError("short must not be longer than long")
    if s == 0:
        return np.empty(0, dtype=np.intp)
    if d == 0:
        return np.arange(s)
    if d == 1:
        # One extra end: try every skipped position p, cost = sum_{i<p} |s_i - l_i| +
        # sum_{i>=p} |s_i - l_{i+1}|; among ties the latest p (= earlier ends of long), as below.
        before = np.concatenate([[0.0], np.cumsum(np.abs(short - long[:-1]))])
        after = np.concatenate([[0.0], np.cumsum(np.abs(short - long[1:]))])
        cost = before + (after[-1] - after)
        skip = s - int(np.argmin(cost[::-1]))
        return np.arange(s) + (np.arange(s) >= skip)
    cost = np.abs(short[None, :] - long[np.arange(d + 1)[:, None] + np.arange(s)[None, :]])
    energy = np.empty((d + 1, s))
    best_before = np.full(s, np.inf)  # min over t' < t of E[t', i]
    for t in range(d + 1):
        cum = np.cumsum(cost[t])
        # E[t, i] = cum[i] + min_{k <= i} (best_before[k - 1] - cum[k - 1]), the k = 0 term is 0.
        start = np.empty(s)
        start[0] = 0.0
        start[1:] = best_before[:-1] - cum[:-1]
        energy[t] = cum + np.minimum.accumulate(start)
        best_before = np.minimum(best_before, energy[t])
    columns = energy.T.tolist()  # columns[i][t]: cheap scalar access while backtracking
    match = np.empty(s, dtype=np.intp)
    top = d
    for i in range(s - 1, -1, -1):
        column = columns[i][: top + 1]
        top = column.index(min(column))
        match[i] = i + top
    return match


def _check_rate(fps, tolerance_s):
    if not np.all(np.asarray(fps, dtype=np.float64) > 0):
        raise ValueError("fps must be > 0")
    if not tolerance_s >= 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")


def _consensus_of_sorted(seqs: list[np.ndarray], tolerance_frames: float) -> ClipConsensus:
    counts = [seq.size for seq in seqs]
    if not counts or max(counts) == 0:
        empty = np.empty(0)
        return ClipConsensus(ends=empty, spread=empty.copy(), count=0, disagree=True, reason="no_marks")
    count = sorted(counts)[(len(counts) - 1) // 2]
    reference = seqs[counts.index(count)]
    # (positions among the reference ends, matched frames) per annotator
    placed = []
    for seq in seqs:
        if seq.size == count:
            placed.append((slice(None), seq))
        elif seq.size > count:
            placed.append((slice(None), seq[align_in_order(reference, seq)]))
        else:
            placed.append((align_in_order(seq, reference), seq))
    sums = np.zeros(count)
    n_marks = np.zeros(count)
    for at, frames in placed:
        sums[at] += frames
        n_marks[at] += 1
    # Every reference end has at least the reference's own mark: no division by zero.
    ends = sums / n_marks
    spread = np.zeros(count)
    for at, frames in placed:
        spread[at] = np.maximum(spread[at], np.abs(frames - ends[at]))
    if any(c != count for c in counts):
        reason = "count_mismatch"
    elif count and spread.max() > tolerance_frames:
        reason = "end_spread"
    else:
        reason = ""
    return ClipConsensus(ends=ends, spread=spread, count=count, disagree=bool(reason), reason=reason)


def endpoint_consensus(marks, *, fps: float, tolerance_s: float = DEFAULT_TOLERANCE_S) -> ClipConsensus:
    """Consensus repetition ends of one clip from several annotators' marks.

    Parameters
    ----------
    marks : list of array_like of int
        One 1-D array of end frames per annotator (any order; an empty array means the
        annotator marked no repetition).
    fps : float
        Frame rate, to turn ``tolerance_s`` into frames.
    tolerance_s : float, default `DEFAULT_TOLERANCE_S` (0.5 s)
        A matched mark further than ``tolerance_s * fps`` frames from its consensus end makes
        the clip disagree (``"end_spread"``).

    Returns
    -------
    ClipConsensus
        ``"no_marks"`` when no annotator marked anything; ``"count_mismatch"`` when counts
        differ (the consensus still has the reference's count); ``"end_spread"`` as above.

    References
    ----------
    Halo Trainer (seed 000), Sec. 3 (average of 3 annotators) and Sec. 6.1 (disagreeing clips
    removed; EORL with K = 0.5 s).
    """
    _check_rate(fps, tolerance_s)
    seqs = []
    for m in marks:
        m = np.asarray(m, dtype=np.float64).ravel()
        if not np.all(np.isfinite(m)):
            raise ValueError("marks must be finite frame numbers")
        seqs.append(np.sort(m))
    return _consensus_of_sorted(seqs, tolerance_s * float(fps))


def _is_sorted(clip_idx, annotator_idx, frames) -> bool:
    """True when rows are already ordered by (clip, annotator, frame): skips a 3-key lexsort."""
    if clip_idx.size < 2:
        return True
    d_clip = np.diff(clip_idx)
    same_clip = d_clip == 0
    d_ann = np.diff(annotator_idx)
    same_ann = same_clip & (d_ann == 0)
    return bool(
        np.all(d_clip >= 0) and np.all(d_ann[same_clip] >= 0) and np.all(np.diff(frames)[same_ann] >= 0)
    )


def _order_by_clip_annotator_frame(clip_idx, annotator_idx, frames) -> np.ndarray:
    """Row order by (clip, annotator, frame).

    Rows usually arrive with each annotator's ends already in frame order (per annotator, or per
    clip). A stable argsort of one int64 (clip, annotator) key then suffices and is fast on such
    runs (~0.1 s for 3.5 M rows); ``np.lexsort`` with the frame key (~3 s) is the fallback when
    frames are out of order within an (clip, annotator) group.
    """
    n_ids = int(annotator_idx.max()) + 1
    if int(clip_idx.max()) < np.iinfo(np.int64).max // n_ids:
        order = np.argsort(clip_idx * n_ids + annotator_idx, kind="stable")
        if _is_sorted(clip_idx[order], annotator_idx[order], frames[order]):
            return order
    return np.lexsort((frames, annotator_idx, clip_idx))


@dataclass(frozen=True)
class BatchConsensus:
    """Consensus of many clips, as flat arrays (CSR layout for the per-end values).

    Attributes
    ----------
    count : ndarray of int, shape (n_clips,)
    disagree : ndarray of bool, shape (n_clips,)
    reason : ndarray of str, shape (n_clips,)
    offsets : ndarray of int, shape (n_clips + 1,)
        Ends of clip ``k`` are ``ends[offsets[k]:offsets[k + 1]]``.
    ends, spread : ndarray of float, shape (offsets[-1],)
    """

    count: np.ndarray
    disagree: np.ndarray
    reason: np.ndarray
    offsets: np.ndarray
    ends: np.ndarray
    spread: np.ndarray

    def __len__(self) -> int:
        return self.count.size

    def clip(self, k: int) -> ClipConsensus:
        """The consensus of clip ``k`` as a `ClipConsensus`."""
        lo, hi = self.offsets[k], self.offsets[k + 1]
        return ClipConsensus(
            ends=self.ends[lo:hi], spread=self.spread[lo:hi], count=int(self.count[k]),
            disagree=bool(self.disagree[k]), reason=str(self.reason[k]),
        )


def batch_endpoint_consensus(
    clip_idx,
    annotator_idx,
    frames,
    fps,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    n_clips: int | None = None,
    n_annotators=None,
) -> BatchConsensus:
    """`endpoint_consensus` for many clips at once, from flat arrays (one row per mark).

    Clips where every annotator marked the same number of ends (the common case) are computed
    without a Python loop: the k-th sorted end of every annotator is matched to the k-th of the
    others, consensus and spread come from ``np.bincount`` / ``np.maximum.at`` on (clip, rank).
    Only clips whose counts differ go through the per-clip dynamic programme. Results equal
    `endpoint_consensus` clip by clip, with annotators in increasing ``annotator_idx``.

    Parameters
    ----------
    clip_idx : array_like of int, shape (n_marks,)
        Clip of each mark, in ``[0, n_clips)``.
    annotator_idx : array_like of int, shape (n_marks,)
        Annotator of each mark (any non-negative ids).
    frames : array_like, shape (n_marks,)
        Marked end frame.
    fps : float or array_like of shape (n_clips,)
    tolerance_s : float, default `DEFAULT_TOLERANCE_S`
    n_clips : int, optional
        Defaults to ``clip_idx.max() + 1``; clips without rows get ``"no_marks"``.
    n_annotators : int or array_like of int (n_clips,), optional
        How many annotators submitted marks for each clip. An annotator who submitted an empty
        list has no row in the flat arrays; pass this so that they count as zero marks
        (``"count_mismatch"``). Defaults to the annotators present in the rows.

    Returns
    -------
    BatchConsensus
    """
    clip_idx = np.asarray(clip_idx)
    annotator_idx = np.asarray(annotator_idx)
    frames = np.asarray(frames, dtype=np.float64)
    if not (clip_idx.ndim == 1 and clip_idx.shape == annotator_idx.shape == frames.shape):
        raise ValueError("clip_idx, annotator_idx and frames must be 1-D of equal length")
    if clip_idx.size and not (
        np.issubdtype(clip_idx.dtype, np.integer) and np.issubdtype(annotator_idx.dtype, np.integer)
    ):
        raise ValueError("clip_idx and annotator_idx must hold integers")
    if clip_idx.size and (clip_idx.min() < 0 or annotator_idx.min() < 0):
        raise ValueError("clip_idx and annotator_idx must be >= 0")
    # Signed indices: np.diff of unsigned arrays wraps around in the sortedness check.
    clip_idx = clip_idx.astype(np.int64, copy=False)
    annotator_idx = annotator_idx.astype(np.int64, copy=False)
    if not np.all(np.isfinite(frames)):
        raise ValueError("frames must be finite")
    n_clips = (int(clip_idx.max()) + 1 if clip_idx.size else 0) if n_clips is None else int(n_clips)
    if clip_idx.size and clip_idx.max() >= n_clips:
        raise ValueError(f"clip_idx must lie in [0, {n_clips})")
    fps = np.broadcast_to(np.asarray(fps, dtype=np.float64), (n_clips,))
    _check_rate(fps, tolerance_s)
    tolerance_frames = tolerance_s * fps

    if _is_sorted(clip_idx, annotator_idx, frames):
        clip_s, ann_s, frames_s = clip_idx, annotator_idx, frames  # e.g. ORDER BY clip, annotator, frame
    else:
        order = _order_by_clip_annotator_frame(clip_idx, annotator_idx, frames)
        clip_s, ann_s, frames_s = clip_idx[order], annotator_idx[order], frames[order]
    # One group per (clip, annotator); groups are contiguous and ordered by clip.
    new_group = np.ones(clip_s.size, dtype=bool)
    new_group[1:] = (clip_s[1:] != clip_s[:-1]) | (ann_s[1:] != ann_s[:-1])
    group_start = np.flatnonzero(new_group)
    group_clip = clip_s[group_start]
    group_size = np.diff(np.append(group_start, clip_s.size))
    groups_per_clip = np.bincount(group_clip, minlength=n_clips)

    expected = groups_per_clip if n_annotators is None else np.broadcast_to(np.asarray(n_annotators), (n_clips,))
    if np.any(expected < groups_per_clip):
        raise ValueError("n_annotators is smaller than the number of annotators with marks")
    has_empty = expected > groups_per_clip

    max_count = np.zeros(n_clips, dtype=np.intp)
    min_count = np.zeros(n_clips, dtype=np.intp)
    if group_start.size:
        np.maximum.at(max_count, group_clip, group_size)
        min_count[:] = np.iinfo(np.intp).max
        np.minimum.at(min_count, group_clip, group_size)
        min_count[groups_per_clip == 0] = 0
    min_count[has_empty] = 0

    uniform = (min_count == max_count) & (max_count > 0)
    slow = np.flatnonzero(~uniform & (max_count > 0))
    count = np.where(uniform, max_count, 0)
    slow_results = {}
    # Python ints and lists: scalar indexing of numpy arrays dominates this loop otherwise.
    group_of_clip = np.concatenate([[0], np.cumsum(groups_per_clip)]).tolist()
    mark_bounds = np.append(group_start, clip_s.size).tolist()
    n_empty = (expected - groups_per_clip).tolist()
    tolerance_list = tolerance_frames.tolist()
    for k in slow.tolist():
        g0, g1 = group_of_clip[k], group_of_clip[k + 1]
        seqs = [frames_s[mark_bounds[g] : mark_bounds[g + 1]] for g in range(g0, g1)]
        seqs += [np.empty(0)] * n_empty[k]
        result = _consensus_of_sorted(seqs, tolerance_list[k])
        slow_results[k] = result
        count[k] = result.count

    offsets = np.zeros(n_clips + 1, dtype=np.intp)
    np.cumsum(count, out=offsets[1:])
    ends = np.zeros(offsets[-1])
    spread = np.zeros(offsets[-1])
    reason = np.full(n_clips, "no_marks", dtype="<U14")

    # Fast path: rank of each mark within its (clip, annotator) group is its end index.
    fast_mark = uniform[clip_s]
    rank = np.arange(clip_s.size) - np.repeat(group_start, group_size)
    key = offsets[clip_s[fast_mark]] + rank[fast_mark]
    fast_frames = frames_s[fast_mark]
    sums = np.bincount(key, weights=fast_frames, minlength=ends.size)
    n_marks = np.bincount(key, minlength=ends.size)
    fast_end = n_marks > 0
    ends[fast_end] = sums[fast_end] / n_marks[fast_end]
    np.maximum.at(spread, key, np.abs(fast_frames - ends[key]))
    fast_clips = np.flatnonzero(uniform)
    widest = np.zeros(n_clips)
    np.maximum.at(widest, np.repeat(np.arange(n_clips), count)[fast_end], spread[fast_end])
    reason[fast_clips] = np.where(widest[fast_clips] > tolerance_frames[fast_clips], "end_spread", "")

    for k, result in slow_results.items():
        ends[offsets[k] : offsets[k + 1]] = result.ends
        spread[offsets[k] : offsets[k + 1]] = result.spread
        reason[k] = result.reason
    return BatchConsensus(
        count=count, disagree=reason != "", reason=reason, offsets=offsets, ends=ends, spread=spread
    )
