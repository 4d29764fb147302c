"""FLEX two-stage annotation (seed 002, Sec. 3.3.2 step 5): proposal, review and final slot sets.

Stage 1: three annotators mark the slots they see. The *proposal* is the per-slot majority of the
three sets (a slot is proposed when at least two of three marked it).

Stage 2: three reviewers see the three stage-1 sets side by side; each approves the proposal or
submits a corrected set. The *final* set is the per-slot majority of the three reviews.

A slot is settled when two of the three reviews agree on it, so a sample is final once every slot
has two matching reviews: with three reviews that is always so (binary marks cannot tie); with
two it holds only when the two agree everywhere; with one or none it never holds. Two reviews
that disagree on a slot are a *tie*: the sample is refused for finalisation until the third
reviewer decides. Stage 2 opens only when stage 1 is complete (three sets).

All functions work on padded arrays ``(n_samples, 3, n_slots)``; a sample's unused rows (fewer
than three sets) and an action's unused slot columns must be False.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ANNOTATORS",
    "REVIEWERS",
    "Status",
    "TwoStageResult",
    "finalise",
    "settle",
    "stage1_proposal",
    "stage2_final",
]

ANNOTATORS = 3
REVIEWERS = 3
MAJORITY = 2  # of three


class Status:
    """Per-sample state codes (stored as text in label sets)."""

    STAGE1_OPEN = 0  # fewer than three stage-1 sets
    STAGE2_OPEN = 1  # stage 1 complete; not enough reviews to settle every slot
    TIED = 2  # two reviews that disagree on at least one slot: waits for the third reviewer
    FINAL = 3
    NAMES = {0: "stage1_open", 1: "stage2_open", 2: "tied", 3: "final"}


def _counts(marks, n_sets):
    marks = np.asarray(marks, dtype=bool)
    if marks.ndim != 3:
        raise ValueError("marks must have shape (n_samples, sets, n_slots)")
    n_sets = np.asarray(n_sets, dtype=np.int64)
    if n_sets.shape != marks.shape[:1]:
        raise ValueError("n_sets must have one entry per sample")
    if np.any(n_sets < 0) or np.any(n_sets > marks.shape[1]):
        raise ValueError(f"n_sets must lie in 0..{marks.shape[1]}")
    rows = np.arange(marks.shape[1])[None, :] < n_sets[:, None]
    if np.any(marks & ~rows[:, :, None]):
        raise ValueError("marks beyond a sample's n_sets must be False")
    return marks.sum(axis=1, dtype=np.int64), n_sets


def stage1_proposal(marks, n_sets=None):
    """Per-slot majority of the three stage-1 sets.

    Parameters
    ----------
    marks : array_like of bool, shape (n, 3, S)
    n_sets : array_like of int, shape (n,), optional
        Sets present per sample (default 3). The proposal is defined only where it is 3.

    Returns
    -------
    proposal : ndarray of bool, shape (n, S)
        Slots marked by at least two of three annotators (False where stage 1 is incomplete).
    complete : ndarray of bool, shape (n,)
    """
    marks = np.asarray(marks, dtype=bool)
    if n_sets is None:
        n_sets = np.full(marks.shape[0], marks.shape[1])
    ones, n_sets = _counts(marks, n_sets)
    complete = n_sets == ANNOTATORS
    return (ones >= MAJORITY) & complete[:, None], complete


def stage2_final(reviews, n_reviews, valid):
    """Per-slot majority of up to three reviews.

    Parameters
    ----------
    reviews : array_like of bool, shape (n, 3, S)
        Each review's effective slot set (an approval is the proposal itself).
    n_reviews : array_like of int, shape (n,)
    valid : array_like of bool, shape (n, S)
        Which slot columns belong to the sample's action.

    Returns
    -------
    final : ndarray of bool, shape (n, S)
        Slots with at least two "marked" reviews.
    settled : ndarray of bool, shape (n, S)
        Slots where two reviews agree (either way); padding columns count as settled.
    tied : ndarray of bool, shape (n, S)
        Slots with exactly one review each way and no third review.
    """
    ones, n_reviews = _counts(reviews, n_reviews)
    valid = np.asarray(valid, dtype=bool)
    zeros = n_reviews[:, None] - ones
    final = (ones >= MAJORITY) & valid
    settled = (ones >= MAJORITY) | (zeros >= MAJORITY) | ~valid
    tied = valid & (ones == 1) & (zeros == 1) & (n_reviews[:, None] == 2)
    return final, settled, tied


@dataclass(frozen=True)
class TwoStageResult:
    proposal: np.ndarray  # (n, S) bool
    final: np.ndarray  # (n, S) bool; all False unless status is FINAL
    tied: np.ndarray  # (n, S) bool
    status: np.ndarray  # (n,) int8, Status codes


def settle(stage1, n_stage1, reviews, n_reviews, valid) -> TwoStageResult:
    """Proposal, final set and status of many samples at once. See the module docstring."""
    valid = np.asarray(valid, dtype=bool)
    proposal, complete = stage1_proposal(stage1, n_stage1)
    proposal &= valid
    final, settled, tied = stage2_final(reviews, n_reviews, valid)
    all_settled = settled.all(axis=1)
    status = np.full(proposal.shape[0], Status.STAGE2_OPEN, dtype=np.int8)
    status[tied.any(axis=1)] = Status.TIED
    status[all_settled & (np.asarray(n_reviews) >= MAJORITY)] = Status.FINAL
    status[~complete] = Status.STAGE1_OPEN
    final &= (status == Status.FINAL)[:, None]
    tied &= (status == Status.TIED)[:, None]
    return TwoStageResult(proposal=proposal, final=final, tied=tied, status=status)


class NotFinal(ValueError):
    """The sample cannot be finalised yet; ``status`` says why and ``tied`` lists tied slots."""

    def __init__(self, status: int, tied: list[int]):
        self.status = status
        self.tied = tied
        super().__init__(f"Not final: {Status.NAMES[status]}")


def finalise(stage1: list[list[int]], reviews: list[list[int]], n_slots: int) -> tuple[list[int], list[int]]:
    """One sample: (proposal, final) as sorted slot positions.

    Parameters
    ----------
    stage1, reviews : list of lists of slot positions
        The stage-1 sets (three needed) and the reviews' effective sets (up to three).
    n_slots : int
        Number of slots of the action.

    Raises
    ------
    NotFinal
        When stage 1 is incomplete, reviews are missing, or two reviews tie on a slot.
    """
    if len(stage1) > ANNOTATORS or len(reviews) > REVIEWERS:
        raise ValueError("At most three stage-1 sets and three reviews per sample.")

    def pack(sets, rows):
        out = np.zeros((1, rows, n_slots), dtype=bool)
        for i, positions in enumerate(sets):
            out[0, i, list(positions)] = True
        return out

    result = settle(pack(stage1, ANNOTATORS), [len(stage1)], pack(reviews, REVIEWERS), [len(reviews)],
                    np.ones((1, n_slots), dtype=bool))
    status = int(result.status[0])
    if status != Status.FINAL:
        raise NotFinal(status, np.flatnonzero(result.tied[0]).tolist())
    return np.flatnonzero(result.proposal[0]).tolist(), np.flatnonzero(result.final[0]).tolist()
