"""Seeded synthetic FLEX-like data: participants, samples, true slot sets and two-stage labels.

FLEX (seed 002, Sec. 3 and appendix 7.7): 38 subjects of three ability levels each perform the
20 actions 10 times; every sample is one repetition. Scores follow Eq. 1 and per action fall in
the observed ranges the FLEX code hard-codes (``utils/misc.py::normalize``; formats.md §1).

Generation, all from one ``numpy.random.Generator``:

1. Participants get a skill level (0 beginner, 1 intermediate, 2 expert) and an ability offset.
2. Sample ``i`` is action ``i % A`` of participant ``(i // A) % P``, repetition ``i // (A P)``;
   so a small demo already covers every action and several participants.
3. True slots: each slot is present with probability
   ``sigmoid(base_a + skill shift + ability + slot effect)``, where ``base_a`` aims at the middle
   of the action's observed score range. Samples whose score leaves the range are redrawn; the
   few that stay outside after many rounds are moved inside by adding or removing slots.
4. Stage 1: three distinct annotators of a pool, each missing a true slot with their own miss
   rate and marking an absent one with their own false-mark rate.
5. Stage 2: three distinct reviewers of another pool look at the proposal (per-slot majority of
   stage 1); each catches a wrong slot of the proposal with their own catch rate and, rarely,
   changes a right one. A review without changes is an approval.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kg.core.graph import FlexGraph
from kg.core.pose import repetition_pose
from kg.core.scoring import score_matrix
from kg.core.two_stage import stage1_proposal

__all__ = ["FLEX_SCORE_RANGES", "FlexSynthetic", "generate_flex"]

#: Observed (min, max) score per action A01..A20 (FLEX ``utils/misc.py::normalize``).
FLEX_SCORE_RANGES = {
    1: (40.99, 93.79), 2: (47.68, 96.69), 3: (44.8, 95.2), 4: (45.71, 95.24), 5: (34.59, 95.49),
    6: (33.96, 93.4), 7: (33.73, 93.98), 8: (37.4, 100.0), 9: (41.98, 100.0), 10: (36.64, 93.89),
    11: (40.82, 93.2), 12: (38.78, 92.52), 13: (48.3, 94.56), 14: (30.22, 94.24), 15: (22.16, 96.41),
    16: (29.85, 94.03), 17: (43.31, 91.08), 18: (47.77, 96.82), 19: (45.4, 92.53), 20: (44.89, 89.77),
}
DEFAULT_RANGE = (22.0, 100.0)
REPS_PER_ACTION = 10
SKILL_SHIFT = np.array([0.55, 0.0, -0.6])  # logit shift of error rates: beginner .. expert
# Where in its range an action's scores centre (the real mean score is 68.15, appendix 7.7).
RANGE_CENTRE = 0.53
_REDRAW_ROUNDS = 60


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    return np.log(p / (1.0 - p))


@dataclass
class FlexSynthetic:
    """Everything generated, as arrays. Slot arrays are padded to the largest action (S)."""

    seed: int
    participant_skill: np.ndarray  # (P,) int8
    participant_scale: np.ndarray  # (P,) body size
    sample_participant: np.ndarray  # (n,)
    sample_action: np.ndarray  # (n,) 0-based index into graph.actions
    sample_rep: np.ndarray  # (n,)
    sample_frames: np.ndarray  # (n,)
    valid: np.ndarray  # (n, S) bool: slot column exists for the sample's action
    weights: np.ndarray  # (n, S) int
    truth: np.ndarray  # (n, S) bool
    stage1_annotator: np.ndarray  # (n, 3) index into annotator_params
    stage1: np.ndarray  # (n, 3, S) bool
    reviewer: np.ndarray  # (n, 3) index into reviewer_params
    reviews: np.ndarray  # (n, 3, S) bool (effective sets)
    review_approve: np.ndarray  # (n, 3) bool
    annotator_params: list[dict] = field(default_factory=list)
    reviewer_params: list[dict] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return len(self.sample_action)

    def true_scores(self) -> np.ndarray:
        return score_matrix(self.weights, self.truth, self.valid)[2]

    def pose(self, i: int, graph: FlexGraph) -> np.ndarray:
        """The (frames, 21, 3) pose of sample ``i``; reproducible on its own (seeded by (seed, i))."""
        action = graph.actions[int(self.sample_action[i])]
        codes = [action.slots[p].error_type for p in np.flatnonzero(self.truth[i])]
        rng = np.random.default_rng([self.seed, 7, i])
        return repetition_pose(action.index, codes, n_frames=int(self.sample_frames[i]), rng=rng,
                               scale=float(self.participant_scale[self.sample_participant[i]]))


def _distinct_choice(rng, n, pool, k):
    """``k`` distinct members of ``range(pool)`` for each of ``n`` rows, as an (n, k) array."""
    return np.argsort(rng.random((n, pool)), axis=1)[:, :k]


def _fit_range(marks, weights, lo, hi, rng, probs):
    """Redraw the rows whose score is outside [lo, hi]; then nudge the stragglers in."""
    total = weights.sum()
    for _ in range(_REDRAW_ROUNDS):
        score = (1.0 - (marks * weights).sum(axis=1) / total) * 100.0
        bad = (score < lo) | (score > hi)
        if not bad.any():
            return marks
        marks[bad] = rng.random((int(bad.sum()), marks.shape[1])) < probs[bad]
    score = (1.0 - (marks * weights).sum(axis=1) / total) * 100.0
    order = np.argsort(-weights, kind="stable")  # heaviest first
    for row in np.flatnonzero((score < lo) | (score > hi)):
        m = marks[row]
        while (1.0 - (m * weights).sum() / total) * 100.0 < lo:
            m[order[np.flatnonzero(m[order])[0]]] = False  # drop the heaviest marked slot
        while (1.0 - (m * weights).sum() / total) * 100.0 > hi:
            m[order[::-1][np.flatnonzero(~m[order[::-1]])[0]]] = True  # add the lightest free slot
    return marks


def generate_flex(graph: FlexGraph, *, n_samples: int, seed: int, n_annotators: int = 10,
                  n_reviewers: int = 6) -> FlexSynthetic:
    """Generate ``n_samples`` FLEX-like samples with three stage-1 sets and three reviews each.

    Parameters
    ----------
    graph : FlexGraph
    n_samples : int
        Number of samples (repetitions). 7,600 gives FLEX's 38 x 20 x 10.
    seed : int
    n_annotators, n_reviewers : int
        Sizes of the simulated stage-1 and stage-2 pools (FLEX recruited 16 people in two groups).
    """
    if n_samples < 1:
        raise ValueError("n_samples must be at least 1")
    if n_annotators < 3 or n_reviewers < 3:
        raise ValueError("Each pool needs at least three people.")
    rng = np.random.default_rng(seed)
    n_actions = len(graph.actions)
    n_part = max(3, -(-n_samples // (n_actions * REPS_PER_ACTION)))
    skill = (rng.permutation(n_part) % 3).astype(np.int8)
    ability = rng.normal(0.0, 0.3, n_part)
    scale = rng.uniform(0.92, 1.08, n_part)

    idx = np.arange(n_samples)
    action = idx % n_actions
    participant = (idx // n_actions) % n_part
    rep = idx // (n_actions * n_part)

    width = max(len(a.slots) for a in graph.actions)
    valid = np.zeros((n_samples, width), dtype=bool)
    weights = np.zeros((n_samples, width), dtype=np.int64)
    truth = np.zeros((n_samples, width), dtype=bool)
    frames = np.zeros(n_samples, dtype=np.int64)
    for a, spec in enumerate(graph.actions):
        rows = np.flatnonzero(action == a)
        s = len(spec.slots)
        w = spec.weights()
        lo, hi = FLEX_SCORE_RANGES.get(spec.index, DEFAULT_RANGE) if n_actions == 20 else DEFAULT_RANGE
        centre_fraction = 1.0 - (lo + RANGE_CENTRE * (hi - lo)) / 100.0
        slot_effect = rng.normal(0.0, 0.5, s)
        base_frames = rng.integers(80, 121)
        if rows.size == 0:
            continue
        logits = (_logit(centre_fraction) + SKILL_SHIFT[skill[participant[rows]]][:, None]
                  + ability[participant[rows]][:, None] + slot_effect[None, :])
        probs = _sigmoid(logits)
        marks = rng.random((rows.size, s)) < probs
        # Exactly representable bounds: scores are rounded to 2 decimals for display.
        marks = _fit_range(marks, w, lo - 0.005, hi + 0.005, rng, probs)
        valid[rows, :s] = True
        weights[rows, :s] = w
        truth[rows, :s] = marks
        tempo = 1.0 + 0.15 * (1 - skill[participant[rows]]) + rng.normal(0.0, 0.08, rows.size)
        frames[rows] = np.clip(np.round(base_frames * tempo), 60, 150)

    annotator_params = [
        {"miss_rate": round(float(m), 4), "false_mark_rate": round(float(f), 4)}
        for m, f in zip(rng.uniform(0.05, 0.2, n_annotators), rng.uniform(0.005, 0.03, n_annotators))
    ]
    reviewer_params = [
        {"catch_rate": round(float(c), 4), "spurious_change_rate": round(float(x), 4)}
        for c, x in zip(rng.uniform(0.7, 0.95, n_reviewers), rng.uniform(0.0, 0.01, n_reviewers))
    ]
    miss = np.array([p["miss_rate"] for p in annotator_params])
    false = np.array([p["false_mark_rate"] for p in annotator_params])
    catch = np.array([p["catch_rate"] for p in reviewer_params])
    spurious = np.array([p["spurious_change_rate"] for p in reviewer_params])

    annotators = _distinct_choice(rng, n_samples, n_annotators, 3)
    u = rng.random((n_samples, 3, width))
    stage1 = np.where(truth[:, None, :], u >= miss[annotators][:, :, None], u < false[annotators][:, :, None])
    stage1 &= valid[:, None, :]
    proposal, _ = stage1_proposal(stage1)

    reviewers = _distinct_choice(rng, n_samples, n_reviewers, 3)
    wrong = (proposal != truth)[:, None, :]
    u = rng.random((n_samples, 3, width))
    flip = np.where(wrong, u < catch[reviewers][:, :, None], u < spurious[reviewers][:, :, None])
    reviews = (proposal[:, None, :] ^ flip) & valid[:, None, :]
    approve = ~(flip & valid[:, None, :]).any(axis=2)

    return FlexSynthetic(
        seed=seed, participant_skill=skill, participant_scale=scale, sample_participant=participant,
        sample_action=action, sample_rep=rep, sample_frames=frames, valid=valid, weights=weights,
        truth=truth, stage1_annotator=annotators, stage1=stage1, reviewer=reviewers, reviews=reviews,
        review_approve=approve, annotator_params=annotator_params, reviewer_params=reviewer_params,
    )
